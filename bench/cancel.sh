#!/usr/bin/env bash
# cancel.sh - how long a cancel takes to stop a job of each solver family, against the 1 s
# target: the jobs of tests/data/cancel/families.json (one long job per family, reporting almost
# never), each cancelled CANCEL_REPEATS times after it has run CANCEL_AFTER_S seconds. The time
# is from sending POST /cancel to GET /v1/jobs/{id} answering a final state (so it includes
# writing the job's partial result). tests/integration/test_cancel_families.c runs the same jobs
# and asserts that they end cancelled; timing is measured here, never asserted. Writes its table
# into bench/RESULTS.md between <!-- BEGIN cancel --> and <!-- END cancel -->. Environment:
# CANCEL_BUILD_DIR (default <repo>/build), CANCEL_RESULTS, CANCEL_REPEATS (3), CANCEL_AFTER_S
# (0.5), CANCEL_PYTHON (/usr/bin/python3).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${CANCEL_BUILD_DIR:-$REPO/build}
RESULTS=${CANCEL_RESULTS:-$REPO/bench/RESULTS.md}
REPEATS=${CANCEL_REPEATS:-3}
AFTER=${CANCEL_AFTER_S:-0.5}
PY=${CANCEL_PYTHON:-/usr/bin/python3}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cancel_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
[[ -x $BUILD/solvd ]] || { echo "cancel: no $BUILD/solvd: build first (make build)" >&2; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

"$PY" - "$PORT" "$REPO/tests/data/cancel/families.json" "$REPEATS" "$AFTER" >"$WORK/table.md" <<'PY'
import json, os, sys, time, urllib.request, urllib.error
port, table, repeats, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
base = "http://127.0.0.1:%s" % port
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
final = {"succeeded", "failed", "cancelled", "timed_out"}
print("| family | solver | cancelled after (s), each run | max (s) | <= 1 s |")
print("|---|---|---|---|---|")
for spec in json.load(open(table))["jobs"]:
    body = dict(spec["body"])
    if body.pop("example", False):
        ex = call("GET", "/v1/solvers/" + body["solver"])[1]["example"]
        params = dict(ex.get("params", {}))
        params.update(body.get("params", {}))
        body = {"solver": body["solver"], "problem": ex["problem"], "params": params}
    body["time_limit_s"] = 120
    times = []
    for _ in range(repeats):
        st, job = call("POST", "/v1/jobs", body)
        jid = job["id"]
        while call("GET", "/v1/jobs/" + jid)[1]["status"] == "queued":
            time.sleep(0.005)
        time.sleep(after)
        t0 = time.monotonic()
        call("POST", "/v1/jobs/%s/cancel" % jid)
        while call("GET", "/v1/jobs/" + jid)[1]["status"] not in final:
            time.sleep(0.002)
        times.append(time.monotonic() - t0)
    worst = max(times)
    print("| %s | `%s` | %s | %.3f | %s |" % (spec["family"], body["solver"],
          ", ".join("%.3f" % t for t in times), worst, "yes" if worst <= 1.0 else "**no**"))
PY
{
    printf '## Cancel latency per solver family (bench/cancel.sh)\n\n'
    printf 'One long job per family (tests/data/cancel/families.json), report_every 1e9, cancelled %s times after %s s of running; from POST /cancel to a final state read back, the partial result stored. Machine: %s, load average %s at the end.\n\n' \
        "$REPEATS" "$AFTER" "$(nproc) cores" "$(cut -d' ' -f1 /proc/loadavg)"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN cancel -->' '<!-- END cancel -->' "$WORK/section.md" "$RESULTS"
cat "$WORK/section.md"
