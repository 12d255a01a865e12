#!/usr/bin/env bash
# cbo.sh - global.cbo against (1) the same algorithm in numpy (bench/cbo_numpy.py) on the same
# instances, time per iteration at a fixed iteration count (tol 0), and (2) scipy's
# differential_evolution on the same functions, boxes and evaluation budgets: CBO runs with its
# defaults until it stops (solved, or max_iter CBO_QUALITY_MAX_ITER), and DE gets the evaluations CBO used (popsize 15 d, maxiter
# from the budget, tol 0, no polishing), five seeds each. Writes its tables into bench/RESULTS.md
# between <!-- BEGIN cbo --> and <!-- END cbo -->. Environment: CBO_BUILD_DIR (a build with bin
# solvd; default <repo>/build), CBO_RESULTS, CBO_ITERS (2000), CBO_PY_ITERS (500), CBO_PYTHON
# (/usr/bin/python3, with python3-numpy and python3-scipy: deploy/deps.sh bench),
# CBO_QUALITY_MAX_ITER (2500: the cap of CBO's budget in part 2), CBO_REPEAT (3: part 1 runs each
# side this many times, alternating, and keeps the fastest). Timing is reported, never
# asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${CBO_BUILD_DIR:-$REPO/build}
RESULTS=${CBO_RESULTS:-$REPO/bench/RESULTS.md}
ITERS=${CBO_ITERS:-2000}
PY_ITERS=${CBO_PY_ITERS:-500}
PY=${CBO_PYTHON:-/usr/bin/python3}
QMAX=${CBO_QUALITY_MAX_ITER:-2500}
REPEAT=${CBO_REPEAT:-3}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cbo_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'cbo: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
"$PY" -c 'import numpy, scipy' || { say "$PY lacks numpy or scipy (deploy/deps.sh bench)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

job() {  # job FUNCTION DIM SHIFT PARTICLES SEED MAX_ITER TOL > file
    "$PY" -c 'import json, sys
f, d, sh, n, seed, it, tol = sys.argv[1:8]
p = {"particles": int(n), "seed": int(seed), "report_every": 100}
if it != "default":
    p["max_iter"] = int(it)
if tol != "default":
    p["tol"] = float(tol)
print(json.dumps({"solver": "global.cbo",
                  "problem": {"benchmark": {"function": f, "dim": int(d), "shift": float(sh)}},
                  "params": p}))' "$@"
}

run_job() {  # run_job JOB.json RESULT.json: submit, wait until it has ended, fetch the result
    local id st
    id=$(curl -s -X POST "http://127.0.0.1:$PORT/v1/jobs" -H 'Content-Type: application/json' \
        --data-binary @"$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    for _ in $(seq 18000); do
        st=$(curl -s "http://127.0.0.1:$PORT/v1/jobs/$id" |
            "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])')
        [[ $st == succeeded || $st == failed || $st == cancelled || $st == timed_out ]] && break
        sleep 0.1
    done
    curl -s "http://127.0.0.1:$PORT/v1/jobs/$id/result" >"$2"
}

# ---- 1. time per iteration against numpy ----
{
    printf '| function | d | N | solvd us/iter | numpy us/iter | speed-up |\n'
    printf '|---|---|---|---|---|---|\n'
} >"$WORK/speed.md"
for inst in "rastrigin 10 1.0 50" "rastrigin 10 1.0 200" "ackley 10 3.0 200" \
            "rastrigin 100 1.0 1000"; do
    read -r fn d sh n <<<"$inst"
    job "$fn" "$d" "$sh" "$n" 1 "$ITERS" 0 >"$WORK/speed.json"
    for r in $(seq "$REPEAT"); do  # alternating, so that a burst of load hits both
        run_job "$WORK/speed.json" "$WORK/solvd_$r.json"
        OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/cbo_numpy.py" "$WORK/speed.json" "$PY_ITERS" \
            >"$WORK/numpy_$r.json"
    done
    "$PY" - "$WORK" "$REPEAT" "$fn" "$d" "$n" >>"$WORK/speed.md" <<'PY'
import json, sys
w, rep = sys.argv[1], int(sys.argv[2])
sv = [json.load(open(f"{w}/solvd_{r}.json")) for r in range(1, rep + 1)]
py = [json.load(open(f"{w}/numpy_{r}.json")) for r in range(1, rep + 1)]
us = min(1e6 * s["solve_time_s"] / s["iterations"] for s in sv)
pu = min(p["us_per_iter"] for p in py)
print(f"| {sys.argv[3]} | {sys.argv[4]} | {sys.argv[5]} | {us:.1f} | {pu:.1f} | {pu / us:.1f}x |")
PY
    say "speed $inst done"
done

# ---- 2. quality against differential_evolution at the same budget ----
for inst in "rastrigin 10 1.0 $QMAX" "ackley 10 3.0 $QMAX" "rastrigin 30 1.0 $QMAX" \
            "rosenbrock 10 0.0 20000" "griewank 10 0.0 20000"; do
    read -r fn d sh qmax <<<"$inst"
    for seed in 1 2 3 4 5; do
        job "$fn" "$d" "$sh" 200 "$seed" "$qmax" default >"$WORK/q.json"
        run_job "$WORK/q.json" "$WORK/q_${fn}_${d}_$seed.json"
    done
    say "quality $inst: cbo done"
done
"$PY" - "$WORK" >"$WORK/quality.md" <<'PY'
import glob, json, sys, time
import numpy as np
from scipy.optimize import differential_evolution
work = sys.argv[1]
BOX = {"rastrigin": (-5.12, 5.12), "ackley": (-32.768, 32.768), "rosenbrock": (-5.0, 10.0),
       "griewank": (-600.0, 600.0)}
def fvec(name, d, shift):
    if name == "rastrigin":
        return lambda X: 10 * d + np.sum((X - shift) ** 2 - 10 * np.cos(2 * np.pi * (X - shift)), axis=0)
    if name == "ackley":
        return lambda X: (-20 * np.exp(-0.2 * np.sqrt(np.sum((X - shift) ** 2, axis=0) / d))
                          - np.exp(np.sum(np.cos(2 * np.pi * (X - shift)), axis=0) / d) + 20 + np.e)
    if name == "rosenbrock":
        return lambda X: np.sum(100 * ((X[1:] - shift) - (X[:-1] - shift) ** 2) ** 2
                                + (1 - (X[:-1] - shift)) ** 2, axis=0)
    if name == "griewank":
        j = np.sqrt(np.arange(1, d + 1))[:, None]
        return lambda X: (1 + np.sum((X - shift) ** 2, axis=0) / 4000
                          - np.prod(np.cos((X - shift) / j), axis=0))
print("| function | d | method | evaluations (median) | f reached: median | max | runs with f <= 1e-4 | s per run (median) |")
print("|---|---|---|---|---|---|---|---|")
for name, d, shift in (("rastrigin", 10, 1.0), ("ackley", 10, 3.0), ("rastrigin", 30, 1.0),
                       ("rosenbrock", 10, 0.0), ("griewank", 10, 0.0)):
    cbo = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/q_{name}_{d}_*.json"))]
    ev = [r["evaluations"] for r in cbo]
    fs = [r["objective"] for r in cbo]
    ts = [r["solve_time_s"] for r in cbo]
    print(f"| {name} | {d} | global.cbo (defaults) | {int(np.median(ev))} | {np.median(fs):.2g} | {max(fs):.2g} | {sum(f <= 1e-4 for f in fs)}/{len(fs)} | {np.median(ts):.3f} |")
    f = fvec(name, d, shift)
    de_f, de_ev, de_t = [], [], []
    for seed, budget in zip(range(1, len(ev) + 1), ev):
        pop = 15
        maxiter = max(1, budget // (pop * d) - 1)
        t0 = time.perf_counter()
        r = differential_evolution(f, [BOX[name]] * d, popsize=pop, maxiter=maxiter,
                                   tol=0, atol=0, polish=False, seed=seed, vectorized=True,
                                   updating="deferred")
        de_t.append(time.perf_counter() - t0)
        de_f.append(float(r.fun))
        de_ev.append(r.nfev * pop * d)  # vectorised: one call evaluates the population
    print(f"| {name} | {d} | scipy differential_evolution | {int(np.median(de_ev))} | {np.median(de_f):.2g} | {max(de_f):.2g} | {sum(v <= 1e-4 for v in de_f)}/{len(de_f)} | {np.median(de_t):.3f} |")
PY
say "quality done"
{
    printf '## global.cbo: against numpy (same algorithm) and scipy differential_evolution\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/cbo.sh` at commit %s on %s; load average %s. Time per iteration, the fastest of %s alternating runs each: solvd %s iterations through the HTTP API (solve_time_s; tol 0, f(v) and the spread every iteration, reports every 100), numpy %s iterations of the same step (bench/cbo_numpy.py), defaults alpha 1e8, lambda 1, sigma 3.5, dt 0.1, anisotropic noise; minimizer shifted by 1 (Ackley 3) off the centre of the standard box.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$REPEAT" "$ITERS" "$PY_ITERS"
    cat "$WORK/speed.md"
    printf '\nQuality at the same budget: global.cbo with its defaults (N 200) until it stops (solved, or max_iter %s; Rosenbrock and Griewank 20000, the default), seeds 1-5; differential_evolution (scipy %s, best1bin, popsize 15, maxiter = budget / (15 d) - 1, tol 0, no polish, vectorised, seeds 1-5) given the evaluations CBO used in the run of the same seed; both start from the standard box (DE is confined to it, CBO is not). f reached: f(v) for CBO, the best member for DE.\n\n' \
        "$QMAX" "$("$PY" -c 'import scipy; print(scipy.__version__)')"
    cat "$WORK/quality.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN cbo -->' '<!-- END cbo -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
