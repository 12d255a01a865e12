#!/usr/bin/env bash
# mec.sh - coupling.mec's greedy coupling against the same greedy in numpy (bench/mec_numpy.py)
# on the same instances: two Dirichlet(1) marginals of n = m in {10000, 30000, 100000}, posted as
# explicit marginals. solvd's solve_time_s (through the HTTP API) per greedy step against
# numpy's. Writes its table into bench/RESULTS.md between <!-- BEGIN mec --> and
# <!-- END mec -->. Environment: MEC_BUILD_DIR (a build with bin solvd; default <repo>/build),
# MEC_RESULTS, MEC_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MEC_BUILD_DIR:-$REPO/build}
RESULTS=${MEC_RESULTS:-$REPO/bench/RESULTS.md}
PY=${MEC_PYTHON:-/usr/bin/python3}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mec_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'mec: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

{
    printf '| n = m | steps | solvd us/step | numpy us/step | speed-up | H solvd | H numpy |\n'
    printf '|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
for n in 10000 30000 100000; do
    "$PY" - "$n" >"$WORK/job$n.json" <<'PY'
import json, sys
import numpy as np
n = int(sys.argv[1])
rng = np.random.default_rng(11)
ps = [rng.dirichlet(np.ones(n)) for _ in range(2)]
ps = [(p / p.sum()).tolist() for p in ps]
print(json.dumps({"solver": "coupling.mec", "problem": {"marginals": ps},
                  "params": {"report_every": 100000}}))
PY
    "$PY" - "$PORT" "$WORK/job$n.json" >"$WORK/solvd$n.json" <<'PY'
import http.client, json, sys, time
port, body = int(sys.argv[1]), open(sys.argv[2], "rb").read()
def req(method, path, data=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out
runs = []
for _ in range(3):
    st, out = req("POST", "/v1/jobs", body)
    assert st == 201, out[:300]
    jid = json.loads(out)["id"]
    for _ in range(60000):
        st, out = req("GET", f"/v1/jobs/{jid}/result")
        if st == 200:
            break
        time.sleep(0.01)
    res = json.loads(out)
    runs.append({k: res[k] for k in ("status", "iterations", "objective", "solve_time_s")})
print(json.dumps({"runs": runs}))
PY
    "$PY" "$REPO/bench/mec_numpy.py" "$WORK/job$n.json" >"$WORK/numpy$n.json"
    "$PY" - "$WORK/solvd$n.json" "$WORK/numpy$n.json" "$n" >>"$WORK/table.md" <<'PY'
import json, sys
sv, py = (json.load(open(f)) for f in sys.argv[1:3])
runs = sv["runs"] if "runs" in sv else [sv]
best = min(runs, key=lambda r: r["solve_time_s"])
us = 1e6 * best["solve_time_s"] / best["iterations"]
h = best.get("objective", float("nan"))
print(f"| {sys.argv[3]} | {best['iterations']} | {us:.3f} | {py['us_per_step']:.2f} | "
      f"{py['us_per_step'] / us:.0f}x | {h:.12f} | {py['joint_entropy']:.12f} |")
PY
    say "n=$n done"
done
{
    printf '## coupling.mec: greedy coupling time per step against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/mec.sh` at commit %s on %s; load average %s. Two Dirichlet(1) marginals of n = m masses posted as explicit marginals; solvd: the best of 3 runs of solve_time_s through the HTTP API (heaps built, every step, reports every 100000 steps); numpy: bench/mec_numpy.py, the same greedy (heapq over numpy masses), one run. A step places one cell.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN mec -->' '<!-- END mec -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
