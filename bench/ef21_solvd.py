#!/usr/bin/env python3
"""Runs one job body on a running solvd, R times, and prints one JSON object with the timings.

Per run: wall_s is from just before the POST to the arrival of the `result` event on the job's
event stream (so it includes upload, validation, the durable insert, queueing, the solve and the
result's encoding and storage); submit_s is the POST alone (until the 201); solve_time_s and the
iterations come from GET /v1/jobs/ID/result. Uses http.client, which sends no `Expect:
100-continue`. Every wait is bounded by --timeout seconds.

Usage: ef21_solvd.py --port P JOB.json [--repeat R] [--timeout S] [--x-out FILE]
"""
import argparse
import http.client
import json
import sys
import time


def request(port, method, path, body=None, timeout=60.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_result(port, job_id, timeout):
    """Reads the job's SSE stream until its `result` event and returns when that arrived. The
    stream is read through http.client's chunked decoding (resp.readline), then dropped."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        conn.request("GET", f"/v1/jobs/{job_id}/events", headers={"Connection": "close"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"events: HTTP {resp.status}")
        while time.monotonic() < deadline:
            line = resp.readline()
            if not line:
                break
            if line.rstrip(b"\r\n") == b"event: result":
                return time.perf_counter()
        raise RuntimeError("no result event (stream ended or timed out)")
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("job")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--x-out", help="write the last run's solution x here (JSON array)")
    a = ap.parse_args()
    with open(a.job, "rb") as f:
        body = f.read()

    runs = []
    for _ in range(max(1, a.repeat)):
        with open("/proc/loadavg") as f:
            load1 = float(f.read().split()[0])
        t0 = time.perf_counter()
        status, out = request(a.port, "POST", "/v1/jobs", body, a.timeout)
        t_ack = time.perf_counter()
        if status != 201:
            sys.exit(f"ef21_solvd.py: POST answered {status}: {out[:300]!r}")
        job_id = json.loads(out)["id"]
        t_end = wait_result(a.port, job_id, a.timeout)
        # The result event can reach subscribers a moment before the finished job is stored;
        # until then .../result answers 409.
        for _ in range(500):
            status, out = request(a.port, "GET", f"/v1/jobs/{job_id}/result", None, a.timeout)
            if status != 409:
                break
            time.sleep(0.01)
        if status != 200:
            sys.exit(f"ef21_solvd.py: result answered {status}: {out[:300]!r}")
        res = json.loads(out)
        runs.append({"id": job_id, "load1": load1, "wall_s": t_end - t0, "submit_s": t_ack - t0,
                     "solve_time_s": res["solve_time_s"], "status": res["status"],
                     "iterations": res["iterations"], "grad_norm": res["grad_norm"],
                     "objective": res["objective"], "gamma": res.get("gamma"),
                     "x_head": res["x"][:3]})
        if a.x_out:
            with open(a.x_out, "w") as f:
                json.dump(res["x"], f)
    print(json.dumps({"runs": runs, "body_bytes": len(body)}))


if __name__ == "__main__":
    main()
