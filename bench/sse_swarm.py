#!/usr/bin/env python3
"""sse_swarm.py PORT JOB_ID N SECONDS: N concurrent event-stream readers of one job on
127.0.0.1:PORT for SECONDS, on one thread with selectors. Prints one JSON line: streams opened,
streams still open at the end, events and bytes received, streams that failed (refused,
reset, non-200). Part of bench/load.sh; timing is reported, never asserted."""
import json
import selectors
import socket
import sys
import time

port, job, n, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
sel = selectors.DefaultSelector()
req = ("GET /v1/jobs/%s/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
       % job).encode()
state = {}
failed = 0
for _ in range(n):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(req)
    except OSError:
        failed += 1
        s.close()
        continue
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    state[s] = {"head": b"", "ok": None, "events": 0, "bytes": 0}
opened = len(state)
events = nbytes = 0
end = time.time() + seconds
while time.time() < end and state:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        st = state[s]
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
            if st["ok"] is not True:
                failed += 1
            del state[s]
            continue
        st["bytes"] += len(data)
        nbytes += len(data)
        if st["ok"] is None:
            st["head"] += data
            if b"\r\n" in st["head"]:
                st["ok"] = st["head"].startswith(b"HTTP/1.1 200")
                if not st["ok"]:
                    failed += 1
        n_ev = data.count(b"\nid: ")
        st["events"] += n_ev
        events += n_ev
still = len(state)
for s in list(state):
    s.close()
print(json.dumps({"opened": opened, "open_at_end": still, "failed": failed, "events": events,
                  "bytes": nbytes}))
