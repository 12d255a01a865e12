#!/usr/bin/env bash
# robust_iwocs.sh - mdp.robust_iwocs against the same algorithm in numpy
# (bench/robust_iwocs_numpy.py) on the same explicit instances (random discounted MDPs drawn here,
# 20 Dirichlet-perturbed models), timed per IWOCS iteration (the whole solve, IWOCS then robust
# VI, over the IWOCS iterations); then the paper's headline comparison on generated instances:
# the worst case over the set of the nominal policy, of IWOCS's policy and of robust VI's policy,
# and robust VI's dynamic value. Writes its section into bench/RESULTS.md between
# <!-- BEGIN robust_iwocs --> and <!-- END robust_iwocs -->. Environment: IWOCS_BUILD_DIR (a
# build with bin solvd; default <repo>/build), IWOCS_RESULTS, IWOCS_PYTHON (/usr/bin/python3).
# Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${IWOCS_BUILD_DIR:-$REPO/build}
RESULTS=${IWOCS_RESULTS:-$REPO/bench/RESULTS.md}
PY=${IWOCS_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/iwocs_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'robust_iwocs: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

{
    printf '| states | actions | models | IWOCS iterations (solvd / numpy) | solvd ms/iteration | numpy ms/iteration | speed-up | worst case solvd | worst case numpy |\n'
    printf '|---|---|---|---|---|---|---|---|---|\n'
} >"$WORK/speed.md"
for S in 20 50 100; do
    "$PY" - "$S" >"$WORK/job$S.json" <<'PY'
import json, sys
import numpy as np
S, A, n, b, radius = int(sys.argv[1]), 4, 20, 3, 0.3
rng = np.random.default_rng(S)
P = np.zeros((S, A, S))
for s in range(S):
    for a in range(A):
        P[s, a, rng.choice(S, b, replace=False)] = rng.dirichlet(np.ones(b))
models = [((1 - radius) * P + radius * rng.dirichlet(np.ones(S), size=(S, A))) for _ in range(n)]
fmt = lambda T: [[[round(float(p), 12) for p in row] for row in st] for st in T]
def norm(T):
    T = np.array(fmt(T))
    i = T.argmax(axis=2)[..., None]
    np.put_along_axis(T, i, np.take_along_axis(T, i, 2) + 1 - T.sum(axis=2, keepdims=True), 2)
    return T
print(json.dumps({"solver": "mdp.robust_iwocs",
                  "problem": {"transitions": norm(P).tolist(),
                              "rewards": rng.random((S, A)).round(6).tolist(),
                              "initial": [1.0 / S] * S, "gamma": 0.95,
                              "models": [norm(T).tolist() for T in models]},
                  "params": {"vi_tol": 1e-8, "tol": 1e-6, "report_every": 100000}}))
PY
    "$PY" "$REPO/bench/robust_iwocs_job.py" "$PORT" "$WORK/job$S.json" 3 >"$WORK/solvd$S.json"
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/robust_iwocs_numpy.py" "$WORK/job$S.json" 3 \
        >"$WORK/numpy$S.json"
    "$PY" - "$WORK/solvd$S.json" "$WORK/numpy$S.json" "$S" >>"$WORK/speed.md" <<'PY'
import json, sys
sv, py = (json.load(open(f)) for f in sys.argv[1:3])
it_s, it_p = sv["iwocs_iterations"], py["iterations"]
ms_s = 1e3 * sv["solve_time_s"] / it_s
ms_p = 1e3 * py["seconds"] / it_p
print(f"| {sys.argv[3]} | 4 | 21 | {it_s} / {it_p} | {ms_s:.2f} | {ms_p:.2f} | {ms_p / ms_s:.1f}x |"
      f" {sv['worst_case_value']:.6f} | {py['worst_case']:.6f} |")
PY
    say "S=$S done"
done

{
    printf '| instance | models (radius) | nominal policy | IWOCS (iterations) | robust VI policy | robust VI dynamic value |\n'
    printf '|---|---|---|---|---|---|\n'
} >"$WORK/claim.md"
while read -r name gen; do
    for method in iwocs robust_vi; do
        printf '{"solver": "mdp.robust_iwocs", "problem": {"generate": %s, "gamma": 0.95, "models": {"count": 30, "radius": 0.4, "seed": 5}}, "params": {"method": "%s", "vi_tol": 1e-8, "report_every": 100000}}' \
            "$gen" "$method" >"$WORK/c_$method.json"
        "$PY" "$REPO/bench/robust_iwocs_job.py" "$PORT" "$WORK/c_$method.json" >"$WORK/r_$method.json"
    done
    "$PY" - "$WORK/r_iwocs.json" "$WORK/r_robust_vi.json" "$name" >>"$WORK/claim.md" <<'PY'
import json, sys
iw, rv = (json.load(open(f)) for f in sys.argv[1:3])
print(f"| {sys.argv[3]} | 31 (0.4) | {iw['nominal_policy_worst']:.4f} | {iw['worst_case_value']:.4f}"
      f" ({iw['iwocs_iterations']}) | {rv['worst_case_value']:.4f} | {rv['robust_vi_value']:.4f} |")
PY
    say "$name done"
done <<'EOF2'
random-40x4-seed1 {"kind": "random", "states": 40, "actions": 4, "branching": 3, "seed": 1}
random-40x4-seed2 {"kind": "random", "states": 40, "actions": 4, "branching": 3, "seed": 2}
random-40x4-seed3 {"kind": "random", "states": 40, "actions": 4, "branching": 3, "seed": 3}
gridworld-6x6 {"kind": "gridworld", "width": 6, "height": 6, "slip": 0.1, "step_cost": 0.05}
inventory-15 {"kind": "inventory", "capacity": 15}
EOF2

{
    printf '## mdp.robust_iwocs: IWOCS against numpy, and the static-vs-dynamic comparison\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/robust_iwocs.sh` at commit %s on %s; load average %s. Speed: random discounted MDPs (gamma 0.95, 3 successors per row, uniform rewards in [0, 1), uniform start) drawn by the script, 20 further models mixing each row toward a Dirichlet(1) distribution by 0.3; solvd (solve_time_s through the HTTP API) and bench/robust_iwocs_numpy.py run the same IWOCS (then robust VI) with vi_tol 1e-8; time per IWOCS iteration is the whole solve over the IWOCS iterations, the fastest of 3 runs of each.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$WORK/speed.md"
    printf '\nBoth sides do the same arithmetic: one dgemv of the S A x S tensor per value-iteration sweep, one S x S dgemv of the policy'"'"'s rows per evaluation sweep (solvd gathers them once per evaluation), and n S A x S dgemvs per robust VI sweep. solvd'"'"'s advantage is the per-sweep overhead numpy pays (a few microseconds a call); at 100 states the sweeps are dominated by OpenBLAS in both, and the ratio falls toward 1: the 2x target holds on the small instances only.\n'
    printf '\nThe comparison the paper draws, on generated instances (discounted, gamma 0.95, 30 perturbed models of radius 0.4, seed 5): the worst value over the 31 models of the nominal model'"'"'s optimal policy, of the policy IWOCS returns, and of robust VI'"'"'s greedy policy, and robust VI'"'"'s own (dynamic, rectangular) value, which the static worst cases may exceed.\n\n'
    cat "$WORK/claim.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN robust_iwocs -->' '<!-- END robust_iwocs -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
