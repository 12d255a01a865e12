#!/usr/bin/env bash
# mcts.sh - tsp.mcts on uniform instances of 100, 500 and 1000 cities (unit square, numpy seed 7):
# tour length, gap to the 1-tree bound and time of method "mcts" against the plain 2-opt + Or-opt
# baseline (method "2opt"), both through the HTTP API; and the time per 2-opt pass of solvd's
# baseline (bound_steps 0, nearest-neighbour start) against the same best-improvement pass in
# numpy (bench/mcts_numpy.py) on the same instance. Writes its table into bench/RESULTS.md between
# <!-- BEGIN mcts --> and <!-- END mcts -->. Environment: MCTS_BUILD_DIR (default <repo>/build),
# MCTS_RESULTS, MCTS_PY_PASSES (60), MCTS_PYTHON (/usr/bin/python3), MCTS_RESTARTS (1).
# Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MCTS_BUILD_DIR:-$REPO/build}
RESULTS=${MCTS_RESULTS:-$REPO/bench/RESULTS.md}
PY=${MCTS_PYTHON:-/usr/bin/python3}
PY_PASSES=${MCTS_PY_PASSES:-60}
RESTARTS=${MCTS_RESTARTS:-1}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcts_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'mcts: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

# run JOB.json OUT.json: POST, poll the result (bounded), keep the summary
run() {
    "$PY" - "$PORT" "$1" >"$2" <<'PY'
import http.client, json, sys, time
port, job = int(sys.argv[1]), open(sys.argv[2], "rb").read()
def req(m, p, b=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(m, p, body=b, headers={"Content-Type": "application/json", "Connection": "close"})
    r = c.getresponse(); out = r.read(); c.close(); return r.status, out
s, out = req("POST", "/v1/jobs", job)
assert s == 201, (s, out[:300])
jid = json.loads(out)["id"]
for _ in range(60000):
    s, out = req("GET", f"/v1/jobs/{jid}/result")
    if s == 200:
        break
    time.sleep(0.02)
r = json.loads(out)
r.pop("tour", None)
print(json.dumps(r))
PY
}

{
    printf '| n | method | length | bound | gap | iterations | solve_time_s |\n'
    printf '|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
{
    printf '| n | solvd us/pass (2opt) | numpy us/pass | speed-up |\n'
    printf '|---|---|---|---|\n'
} >"$WORK/speed.md"
for n in 100 500 1000; do
    "$PY" - "$n" >"$WORK/coords$n.json" <<'PY'
import json, sys
import numpy as np
n = int(sys.argv[1])
print(json.dumps(np.random.default_rng(7).random((n, 2)).round(8).tolist()))
PY
    for method in mcts 2opt; do
        printf '{"solver": "tsp.mcts", "problem": {"coords": %s}, "params": {"method": "%s", "restarts": %s, "seed": 1, "report_every": 100000}}\n' \
            "$(cat "$WORK/coords$n.json")" "$method" "$RESTARTS" >"$WORK/job$n$method.json"
        run "$WORK/job$n$method.json" "$WORK/out$n$method.json"
        "$PY" - "$WORK/out$n$method.json" "$n" "$method" >>"$WORK/table.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {r['length']:.4f} | {r['bound']:.4f} | {100 * r['gap']:.2f}% | {r['iterations']} | {r['solve_time_s']:.3f} |")
PY
    done
    # per-pass speed: the baseline from the nearest-neighbour tour, no subgradient steps
    printf '{"solver": "tsp.mcts", "problem": {"coords": %s}, "params": {"method": "2opt", "init": "nearest", "bound_steps": 0, "restarts": 1, "seed": 1, "report_every": 100000}}\n' \
        "$(cat "$WORK/coords$n.json")" >"$WORK/speed$n.json"
    run "$WORK/speed$n.json" "$WORK/sv$n.json"
    "$PY" "$REPO/bench/mcts_numpy.py" "$WORK/speed$n.json" "$PY_PASSES" >"$WORK/np$n.json"
    "$PY" - "$WORK/sv$n.json" "$WORK/np$n.json" "$n" >>"$WORK/speed.md" <<'PY'
import json, sys
sv, py = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
us = 1e6 * sv["solve_time_s"] / max(1, sv["iterations"])
print(f"| {sys.argv[3]} | {us:.1f} | {py['us_per_pass']:.1f} | {py['us_per_pass'] / us:.1f}x |")
PY
    say "n=$n done"
done
{
    printf '## tsp.mcts: SoftDist + MCTS against 2-opt + Or-opt, and a 2-opt pass against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/mcts.sh` at commit %s on %s; load average %s. Uniform instances in the unit square (numpy default_rng(7)), sent as coords through the HTTP API; defaults (tau null, k 5, alpha 1, beta 10, param_h 10, max_depth 10, bound_steps 50), restarts %s, seed 1. solve_time_s includes the 1-tree bound (50 subgradient steps of an O(n^2) Prim).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$RESTARTS"
    cat "$WORK/table.md"
    # shellcheck disable=SC2016
    printf '\nTime per local-search pass: solvd method 2opt from the nearest-neighbour tour with bound_steps 0 (solve_time_s / iterations; its iterations include the final, costlier Or-opt passes, so this favours numpy) against `bench/mcts_numpy.py`: the same best-improvement 2-opt pass as n x n numpy arrays, at most %s passes.\n\n' "$PY_PASSES"
    cat "$WORK/speed.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN mcts -->' '<!-- END mcts -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
