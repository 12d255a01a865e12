#!/usr/bin/env bash
# boss.sh - dp.boss: the paper's headline (sampling error against the step budget K, the
# Bellman-optimal schedule against uniform steps) and the time of the same cost matrix + DP in
# numpy (bench/boss_numpy.py) on the same instance. The instance: the rectified flow from
# N(0, I) to an 8-component Gaussian mixture in d = 16 (means N(0, 9 I), sigmas U[0.1, 0.5),
# numpy seed 7), 500 explicit starts x0 shared by solvd and numpy, RK4 reference with 4
# substeps. solvd runs through its HTTP API (its solve_time_s is taken); numpy runs the same
# one-pass algorithm and must find the same schedule. Writes its tables into bench/RESULTS.md
# between <!-- BEGIN boss --> and <!-- END boss -->. Environment: BOSS_BUILD_DIR (a build with
# bin solvd; default <repo>/build), BOSS_RESULTS, BOSS_PYTHON (/usr/bin/python3). Timing is
# reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BOSS_BUILD_DIR:-$REPO/build}
RESULTS=${BOSS_RESULTS:-$REPO/bench/RESULTS.md}
PY=${BOSS_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is (deploy/deps.sh bench)
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/boss_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'boss: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

# job K N -> a dp.boss job body on the shared instance
job() {
    "$PY" - "$1" "$2" <<'PY'
import json, sys
import numpy as np
K, N = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(7)
m, d, S = 8, 16, 500
means = rng.normal(size=(m, d)) * 3.0
sigmas = rng.uniform(0.1, 0.5, size=m)
weights = 0.5 + rng.uniform(size=m)
x0 = rng.normal(size=(S, d))
print(json.dumps({"solver": "dp.boss",
                  "problem": {"means": means.tolist(), "weights": weights.tolist(),
                              "sigmas": sigmas.tolist(), "x0": x0.tolist()},
                  "params": {"steps": K, "grid": N, "substeps": 4, "report_every": 50}}))
PY
}

# solve JOB.json -> the job's result (POST, wait, GET)
solve() {
    "$PY" - "$PORT" "$1" <<'PY'
import json, sys, time, urllib.request
port, body = sys.argv[1], open(sys.argv[2], "rb").read()
base = f"http://127.0.0.1:{port}/v1/jobs"
req = urllib.request.Request(base, data=body, headers={"Content-Type": "application/json"})
jid = json.load(urllib.request.urlopen(req, timeout=60))["id"]
deadline = time.monotonic() + 1800
while time.monotonic() < deadline:
    st = json.load(urllib.request.urlopen(f"{base}/{jid}", timeout=60))["status"]
    if st not in ("queued", "running"):
        break
    time.sleep(0.05)
print(json.dumps(json.load(urllib.request.urlopen(f"{base}/{jid}/result", timeout=60))))
PY
}

# 1. error against the budget, N = 200
N=200
{
    printf '| K | DP cost | uniform cost | uniform / DP | DP endpoint error | uniform endpoint error | uniform / DP | DP schedule |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
} >"$WORK/budget.md"
for K in 2 3 4 6 8 10 16 20; do
    job "$K" "$N" >"$WORK/job.json"
    solve "$WORK/job.json" >"$WORK/r.json"
    "$PY" - "$WORK/r.json" "$K" >>"$WORK/budget.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "solved", r["status"]
dc, uc, de, ue = r["dp_cost"], r["uniform_cost"], r["dp_endpoint_error"], r["uniform_endpoint_error"]
sch = ", ".join(f"{t:g}" for t in r["schedule"])
print(f"| {sys.argv[2]} | {dc:.4g} | {uc:.4g} | {uc / dc:.2f} | {de:.4g} | {ue:.4g} | {ue / de:.2f} | {sch} |")
PY
    say "K=$K done"
done

# 2. solvd against numpy: the same cost matrix and DP, K = 10
{
    printf '| N | solvd s | numpy s (reference + cost + DP) | solvd us / grid point | numpy us / grid point | speed-up | same schedule | DP cost rel. diff |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
} >"$WORK/speed.md"
for N in 100 200 400; do
    job 10 "$N" >"$WORK/job.json"
    solve "$WORK/job.json" >"$WORK/r.json"
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/boss_numpy.py" "$WORK/job.json" >"$WORK/np.json"
    "$PY" - "$WORK/r.json" "$WORK/np.json" "$N" >>"$WORK/speed.md" <<'PY'
import json, sys
r, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
N = int(sys.argv[3])
sv, ny = r["solve_time_s"], p["seconds"]
same = "yes" if r["indices"] == p["indices"] else "NO"
rel = abs(r["dp_cost"] - p["dp_cost"]) / r["dp_cost"]
print(f"| {N} | {sv:.3f} | {ny:.2f} ({p['reference_s']:.2f} + {p['cost_s']:.2f} + {p['dp_s']:.2f}) | "
      f"{1e6 * sv / N:.0f} | {1e6 * ny / N:.0f} | {ny / sv:.1f}x | {same} | {rel:.1e} |")
PY
    say "N=$N done"
done

{
    printf '## dp.boss: error against the step budget, and time against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/boss.sh` at commit %s on %s; load average %s. The rectified flow from N(0, I) to an 8-component Gaussian mixture in d = 16 (means N(0, 9 I), sigmas U[0.1, 0.5), weights 0.5 + U[0, 1), numpy seed 7), 500 explicit starts, fine grid t_i = i/N, RK4 reference with 4 substeps per interval. Costs are the summed one-step squared errors against the reference (the DP objective, averaged over the starts); endpoint errors are the mean squared distance of the K-step Euler sample x(1) to the reference x(1).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '### Error against the budget K (N = 200): the Bellman schedule against uniform steps\n\n'
    cat "$WORK/budget.md"
    printf '\n### solvd against numpy (K = 10): the same one-pass reference, cost columns and DP columns\n\n'
    # shellcheck disable=SC2016
    printf 'solvd: solve_time_s of the job through the HTTP API (it includes both K-step samplers for the endpoint errors); numpy: `bench/boss_numpy.py`, vectorised over samples, rows and budgets, OpenBLAS on one thread. Both find the schedule from the same starts; "same schedule" compares the indices.\n\n'
    cat "$WORK/speed.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN boss -->' '<!-- END boss -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
