#!/usr/bin/env bash
# distributional.sh - mdp.distributional's value iteration (CVaR at alpha 0.1) against the same
# DP in numpy (bench/distributional_numpy.py) on the same instances: random episodic MDPs of
# S in {50, 100, 200, 400} states, 4 actions, 3 successors per (s, a), integer rewards 0..4,
# horizon DIST_H (20). solvd runs through its HTTP API and its solve_time_s is taken; the table
# gives the time against the state count (and the stock-augmented size S x N). Writes its
# section of bench/RESULTS.md between <!-- BEGIN distributional --> and
# <!-- END distributional -->. Environment: DIST_BUILD_DIR (default <repo>/build),
# DIST_RESULTS, DIST_H, DIST_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${DIST_BUILD_DIR:-$REPO/build}
RESULTS=${DIST_RESULTS:-$REPO/bench/RESULTS.md}
H=${DIST_H:-20}
PY=${DIST_PYTHON:-/usr/bin/python3}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/distributional_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'distributional: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

{
    printf '| states S | stock levels N | S x N | solvd ms | numpy ms | speed-up | objective (solvd) | objective (numpy) |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
for S in 50 100 200 400; do
    "$PY" - "$S" "$H" >"$WORK/job$S.json" <<'PY'
import json, sys
import numpy as np
S, H = int(sys.argv[1]), int(sys.argv[2])
A, B = 4, 3
rng = np.random.default_rng(S)
tr = []
for s in range(S):
    row = []
    for a in range(A):
        nxt = rng.choice(S, size=B, replace=False)
        w = np.round(rng.dirichlet(np.ones(B)), 6)
        w[-1] = round(1 - w[:-1].sum(), 6)
        row.append({"next": [int(t) for t in nxt], "prob": [float(x) for x in w]})
    tr.append(row)
R = rng.integers(0, 5, size=(S, A)).tolist()
print(json.dumps({"solver": "mdp.distributional",
                  "problem": {"transitions": tr, "rewards": R, "horizon": H},
                  "params": {"objective": "cvar", "alpha": 0.1, "stock_step": 1,
                             "report_every": 1000}}))
PY
    "$PY" - "$PORT" "$WORK/job$S.json" >"$WORK/solvd$S.json" <<'PY'
import json, sys, time, urllib.request
port, job = sys.argv[1], open(sys.argv[2], "rb").read()
base = f"http://127.0.0.1:{port}/v1/jobs"
best = None
for _ in range(2):  # best of two runs: the first job of a daemon pays its warm-up
    req = urllib.request.Request(base, data=job, headers={"Content-Type": "application/json"})
    jid = json.load(urllib.request.urlopen(req))["id"]
    for _ in range(3000):
        st = json.load(urllib.request.urlopen(f"{base}/{jid}"))["status"]
        if st not in ("queued", "running"):
            break
        time.sleep(0.05)
    r = json.load(urllib.request.urlopen(f"{base}/{jid}/result"))
    if best is None or r["solve_time_s"] < best["solve_time_s"]:
        best = r
print(json.dumps({"time_s": best["solve_time_s"], "objective": best["objective"],
                  "status": best["status"]}))
PY
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/distributional_numpy.py" "$WORK/job$S.json" \
        >"$WORK/numpy$S.json"
    "$PY" - "$WORK/solvd$S.json" "$WORK/numpy$S.json" "$S" >>"$WORK/table.md" <<'PY'
import json, sys
sv, py = (json.load(open(f)) for f in sys.argv[1:3])
S = int(sys.argv[3])
assert sv["status"] == "solved", sv
N = py["levels"]
print(f"| {S} | {N} | {S * N} | {1e3 * sv['time_s']:.1f} | {1e3 * py['time_s']:.1f} |"
      f" {py['time_s'] / sv['time_s']:.1f}x | {sv['objective']:.6f} | {py['objective']:.6f} |")
PY
    say "S=$S done"
done
{
    printf '## mdp.distributional: distributional DP time against the state count, and numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/distributional.sh` at commit %s on %s; load average %s. Random episodic MDPs (4 actions, 3 successors per state-action, integer rewards 0..4), horizon %s, CVaR at alpha 0.1 by value iteration over the stock-augmented states (stock step 1, every initial stock -b): solvd through the HTTP API (solve_time_s), numpy the same backward recursion vectorised over states and stocks on the same sparse rows (bench/distributional_numpy.py). Best of two runs each, one thread.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$H"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN distributional -->' '<!-- END distributional -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
