#!/usr/bin/env bash
# notears.sh - dag.notears against the same algorithm in numpy/scipy (bench/notears_numpy.py:
# the reference's augmented Lagrangian with scipy's L-BFGS-B and scipy.linalg.expm) on the same
# data: a linear Gaussian SEM on an Erdos-Renyi DAG with 2 d edges, n = 1000 samples, d in
# {10, 20, 50}, drawn here with numpy (seed 7) and sent to solvd as explicit data with its true
# graph. Both run the reference's defaults (lambda1 0.1, h_tol 1e-8, rho_max 1e16, threshold
# 0.3). solvd's solve_time_s and iterations come from its result. Writes its table into
# bench/RESULTS.md between <!-- BEGIN notears --> and <!-- END notears -->. Environment:
# NOTEARS_BUILD_DIR (a build with bin solvd; default <repo>/build), NOTEARS_RESULTS,
# NOTEARS_DIMS ("10 20 50"), NOTEARS_N (1000), NOTEARS_PYTHON (/usr/bin/python3). Timing is
# reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${NOTEARS_BUILD_DIR:-$REPO/build}
RESULTS=${NOTEARS_RESULTS:-$REPO/bench/RESULTS.md}
DIMS=${NOTEARS_DIMS:-10 20 50}
N=${NOTEARS_N:-1000}
PY=${NOTEARS_PYTHON:-/usr/bin/python3}  # Debian's, with python3-numpy and python3-scipy
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/notears_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'notears: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

{
    printf '| d | n | true edges | solvd iterations | solvd s | solvd us/iter | solvd score | solvd SHD | numpy iterations | numpy s | numpy us/iter | numpy score | numpy SHD | speed-up per iteration |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
for d in $DIMS; do
    "$PY" - "$d" "$N" >"$WORK/job$d.json" <<'PY'
import json, sys
import numpy as np
d, n = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(7)
pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
order = rng.permutation(d)
B = np.zeros((d, d))
for t in rng.choice(len(pairs), size=2 * d, replace=False):
    i, j = pairs[t]
    if order[i] < order[j]:
        B[i, j] = 1
    else:
        B[j, i] = 1
W = B * rng.uniform(0.5, 2.0, size=(d, d)) * rng.choice([-1.0, 1.0], size=(d, d))
X = rng.normal(size=(n, d)) @ np.linalg.inv(np.eye(d) - W)
print(json.dumps({"solver": "dag.notears",
                  "problem": {"data": X.tolist(), "true_graph": W.tolist()},
                  "params": {"lambda1": 0.1, "report_every": 1000}}))
PY
    "$PY" - "$PORT" "$WORK/job$d.json" >"$WORK/solvd$d.json" <<'PY'
import http.client, json, sys, time
port, job = int(sys.argv[1]), open(sys.argv[2]).read()
def req(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    c.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    out = r.read()
    c.close()
    return r.status, out
st, out = req("POST", "/v1/jobs", job)
assert st == 201, out
jid = json.loads(out)["id"]
while True:
    st, out = req("GET", f"/v1/jobs/{jid}")
    if json.loads(out)["status"] not in ("queued", "running"):
        break
    time.sleep(0.2)
st, out = req("GET", f"/v1/jobs/{jid}/result")
print(out.decode())
PY
    say "d=$d: solvd done"
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/notears_numpy.py" "$WORK/job$d.json" >"$WORK/numpy$d.json"
    say "d=$d: numpy done"
    "$PY" - "$WORK/job$d.json" "$WORK/solvd$d.json" "$WORK/numpy$d.json" "$d" "$N" \
        >>"$WORK/table.md" <<'PY'
import json, sys
import numpy as np
job, sv, py = (json.load(open(f)) for f in sys.argv[1:4])
T = np.array(job["problem"]["true_graph"]) != 0
def shd(W):
    P = np.array(W) != 0
    pred, cond = set(zip(*np.nonzero(P))), set(zip(*np.nonzero(T)))
    rev = sum(1 for (i, j) in pred if (i, j) not in cond and (j, i) in cond)
    sk = lambda S: {(min(i, j), max(i, j)) for (i, j) in S}
    return len(sk(pred) - sk(cond)) + len(sk(cond) - sk(pred)) + rev
sv_us = 1e6 * sv["solve_time_s"] / sv["iterations"]
assert shd(sv["W"]) == sv["shd"]
print(f"| {sys.argv[4]} | {sys.argv[5]} | {int(T.sum())} | {sv['iterations']} | {sv['solve_time_s']:.2f} "
      f"| {sv_us:.1f} | {sv['score']:.4f} | {sv['shd']} | {py['iterations']} | {py['time_s']:.2f} "
      f"| {py['us_per_iter']:.1f} | {py['score']:.4f} | {shd(py['W'])} | {py['us_per_iter'] / sv_us:.1f}x |")
PY
done
{
    printf '## dag.notears: NOTEARS against the same algorithm in numpy/scipy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/notears.sh` at commit %s on %s; load average %s. Linear Gaussian SEM on an Erdos-Renyi DAG with 2 d edges (weights +-U[0.5, 2]), n = %s, drawn by numpy with seed 7; the reference defaults (lambda1 0.1, h_tol 1e-8, rho_max 1e16, w_threshold 0.3). solvd through its HTTP API (solve_time_s and iterations from its result: projected L-BFGS iterations over all subproblems); numpy: bench/notears_numpy.py, scipy L-BFGS-B iterations (nit summed) and its wall time. score = 0.5/n |X - X W|^2 of the thresholded W (centred X); SHD as the NOTEARS code counts it. The two L-BFGS variants take different iteration counts, so the speed-up is per iteration. OpenBLAS on one thread (OPENBLAS_CORETYPE=%s).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$N" \
        "${OPENBLAS_CORETYPE:-unset}"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN notears -->' '<!-- END notears -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
