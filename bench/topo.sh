#!/usr/bin/env bash
# topo.sh - dag.topo against dag.notears and against the same TOPO search in numpy
# (bench/topo_numpy.py: per-candidate refits by numpy.linalg.lstsq, the reference's way) on the
# same data: a linear Gaussian SEM on an Erdos-Renyi DAG with 2 d edges, n = 1000 samples, d in
# {10, 20, 50}, drawn here with numpy (seed 7) and sent to solvd as explicit data with its true
# graph and a random first order (numpy, the same seed) that both TOPO runs start from. Three
# solvd jobs per d: TOPO from that order, NOTEARS (lambda1 0.1, the reference's defaults), TOPO
# post-processing the NOTEARS W (init.W). solvd's solve_time_s and iterations (candidate swaps
# scored) come from its results. Writes its table into bench/RESULTS.md between
# <!-- BEGIN topo --> and <!-- END topo -->. Environment: TOPO_BUILD_DIR (a build with bin
# solvd; default <repo>/build), TOPO_RESULTS, TOPO_DIMS ("10 20 50"), TOPO_N (1000),
# TOPO_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${TOPO_BUILD_DIR:-$REPO/build}
RESULTS=${TOPO_RESULTS:-$REPO/bench/RESULTS.md}
DIMS=${TOPO_DIMS:-10 20 50}
N=${TOPO_N:-1000}
PY=${TOPO_PYTHON:-/usr/bin/python3}  # Debian's, with python3-numpy
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/topo_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'topo: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

# run JOB.json OUT.json: posts a job, waits, writes its result.
run() {
    "$PY" - "$PORT" "$1" >"$2" <<'PY'
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
}

{
    printf '| d | true edges | NOTEARS score / SHD / s | TOPO score / SHD / s | TOPO from NOTEARS score / SHD / s | solvd TOPO score (raw) | solvd iterations | solvd us/iter | numpy score (raw) | numpy iterations | numpy s | numpy us/iter | speed-up per iteration |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
for d in $DIMS; do
    "$PY" - "$d" "$N" "$WORK" <<'PY'
import json, sys
import numpy as np
d, n, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
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
init = [int(v) for v in rng.permutation(d)]
prob = {"data": X.tolist(), "true_graph": W.tolist()}
json.dump({"solver": "dag.notears", "problem": prob,
           "params": {"lambda1": 0.1, "report_every": 1000}}, open(f"{work}/notears{d}.json", "w"))
json.dump({"solver": "dag.topo", "problem": dict(prob, init={"order": init}),
           "params": {"report_every": 1000}}, open(f"{work}/topo{d}.json", "w"))
PY
    run "$WORK/topo$d.json" "$WORK/r_topo$d.json"
    run "$WORK/notears$d.json" "$WORK/r_notears$d.json"
    "$PY" - "$WORK/notears$d.json" "$WORK/r_notears$d.json" >"$WORK/post$d.json" <<'PY'
import json, sys
job, res = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
job["solver"] = "dag.topo"
job["problem"]["init"] = {"W": res["W"]}
job["params"] = {"report_every": 1000}
print(json.dumps(job))
PY
    run "$WORK/post$d.json" "$WORK/r_post$d.json"
    say "d=$d: solvd done"
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/topo_numpy.py" "$WORK/topo$d.json" >"$WORK/numpy$d.json"
    say "d=$d: numpy done"
    "$PY" - "$WORK/topo$d.json" "$WORK/r_topo$d.json" "$WORK/r_notears$d.json" \
        "$WORK/r_post$d.json" "$WORK/numpy$d.json" "$d" >>"$WORK/table.md" <<'PY'
import json, sys
import numpy as np
job, tp, nt, post, py = (json.load(open(f)) for f in sys.argv[1:6])
T = np.array(job["problem"]["true_graph"]) != 0
def shd(W):
    P = np.array(W) != 0
    pred, cond = set(zip(*np.nonzero(P))), set(zip(*np.nonzero(T)))
    rev = sum(1 for (i, j) in pred if (i, j) not in cond and (j, i) in cond)
    sk = lambda S: {(min(i, j), max(i, j)) for (i, j) in S}
    return len(sk(pred) - sk(cond)) + len(sk(cond) - sk(pred)) + rev
assert shd(tp["W"]) == tp["shd"]
sv_us = 1e6 * tp["solve_time_s"] / max(tp["iterations"], 1)
cell = lambda r, s: f"{s:.4f} / {r['shd']} / {r['solve_time_s']:.4f}"
print(f"| {sys.argv[6]} | {int(T.sum())} | {cell(nt, nt['score'])} | {cell(tp, tp['score_thresholded'])} "
      f"| {cell(post, post['score_thresholded'])} | {tp['score']:.6f} | {tp['iterations']} | {sv_us:.1f} "
      f"| {py['score']:.6f} | {py['iterations']} | {py['time_s']:.2f} | {py['us_per_iter']:.1f} "
      f"| {py['us_per_iter'] / sv_us:.0f}x |")
PY
done
{
    printf '## dag.topo: TOPO against NOTEARS and against the same search in numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/topo.sh` at commit %s on %s; load average %s. Linear Gaussian SEM on an Erdos-Renyi DAG with 2 d edges (weights +-U[0.5, 2]), n = %s, drawn by numpy with seed 7, with a random first order (same seed) for both TOPO runs. NOTEARS: dag.notears, lambda1 0.1 and the reference defaults; TOPO: dag.topo defaults (the reference sizes of the search sets); TOPO from NOTEARS: dag.topo with init.W the NOTEARS W. score / SHD / s: 0.5/n |X - X W|^2 of the thresholded W (0.3; centred X), SHD as the NOTEARS code counts it, solve_time_s. Raw scores are of W(pi) itself, the objective both TOPO implementations minimise; an iteration is one candidate swap scored (solvd: the factor continued over the changed positions; numpy: bench/topo_numpy.py, the changed regressions refitted by lstsq, as the reference does). Their paths may differ where search-set ranks tie (numpy inverts I - |W| in floating point). OpenBLAS on one thread (OPENBLAS_CORETYPE=%s).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$N" \
        "${OPENBLAS_CORETYPE:-unset}"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN topo -->' '<!-- END topo -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
