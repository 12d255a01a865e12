#!/usr/bin/env bash
# sor_bandit.sh - linsys.sor_bandit on the paper's experiment (Khodak et al., ICLR 2024: the
# 5-point Laplacian of a 10 x 10 grid, A_t = A + c_t I, c_t = -0.15 + 0.6 Beta(a, b), b_t a
# truncated normal, tol 1e-8, the grid linspace(1, 1.95, 20)) for its two shift laws: total SOR
# iterations of Tsallis-INF, ChebCB, the best fixed omega in hindsight, omega = 1 and the
# instance-optimal grid policy (the paper's headline table), then the time per SOR iteration
# against the same SOR + Tsallis-INF loop in numpy/scipy (bench/sor_bandit_numpy.py) on the same
# sequence, whose counts at one fixed omega must equal solvd's instance by instance. The
# sequence is made here in numpy and sent as the "shifts" form, so both read the same numbers.
# Writes its tables into bench/RESULTS.md between <!-- BEGIN sor_bandit --> and
# <!-- END sor_bandit -->. Environment: SOR_BUILD_DIR (a build with bin solvd; default
# <repo>/build), SOR_RESULTS, SOR_INSTANCES (1000), SOR_PY_INSTANCES (200),
# SOR_BIG_INSTANCES (5000, the paper's length, generate form), SOR_PYTHON
# (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SOR_BUILD_DIR:-$REPO/build}
RESULTS=${SOR_RESULTS:-$REPO/bench/RESULTS.md}
T=${SOR_INSTANCES:-1000}
PY_T=${SOR_PY_INSTANCES:-200}
T_BIG=${SOR_BIG_INSTANCES:-5000}
PY=${SOR_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy and -scipy are
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sor_bandit_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'sor_bandit: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

# One job: POST, wait for the result event, fetch the result (bench/ef21_solvd.py's helpers).
run_job() {
    "$PY" - "$PORT" "$1" "$REPO/bench" <<'PY'
import json, sys, time
sys.path.insert(0, sys.argv[3])
from ef21_solvd import request, wait_result
port, body = int(sys.argv[1]), open(sys.argv[2], "rb").read()
status, out = request(port, "POST", "/v1/jobs", body, 3600)
if status != 201:
    sys.exit(f"POST answered {status}: {out[:300]!r}")
job = json.loads(out)["id"]
wait_result(port, job, 3600)
for _ in range(500):
    status, out = request(port, "GET", f"/v1/jobs/{job}/result", None, 3600)
    if status != 409:
        break
    time.sleep(0.01)
if status != 200:
    sys.exit(f"result answered {status}: {out[:300]!r}")
print(out.decode())
PY
}

{
    printf '| shift law | instances | Tsallis-INF | ChebCB | best fixed omega (hindsight) | omega = 1 | instance-optimal | Tsallis-INF regret / instance |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
{
    printf '| shift law | solvd us / SOR iteration | numpy/scipy us / SOR iteration | speed-up | counts at omega 1.5 equal (first %s instances) |\n' "$PY_T"
    printf '|---|---|---|---|---|\n'
} >"$WORK/speed.md"
for law in high low; do
    if [[ $law == high ]]; then A=0.5; B=1.5; else A=2; B=6; fi
    "$PY" - "$T" "$A" "$B" "$WORK/seq_$law.json" <<'PY'
import json, sys
import numpy as np
import scipy.sparse as sp
T, a, b, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
m = 10
I = sp.identity(m)
K = sp.diags([-1, 2, -1], [-1, 0, 1], shape=(m, m))
A = (sp.kron(I, K) + sp.kron(K, I)).tocsr()  # delsq(numgrid('S', 12)): diagonal 4
A.sort_indices()
rng = np.random.default_rng(2024)
shifts = (-0.15 + 0.6 * rng.beta(a, b, size=T)).round(12)
rhs = []
for _ in range(T):
    while True:
        v = rng.normal(size=m * m)
        if np.linalg.norm(v) <= m:
            break
    rhs.append(v.round(12).tolist())
json.dump({"A": {"rows": m * m, "cols": m * m, "indptr": A.indptr.tolist(),
                 "indices": A.indices.tolist(), "data": A.data.tolist()},
           "shifts": shifts.tolist(), "b": rhs}, open(out, "w"))
PY
    for alg in tsallis_inf contextual; do
        "$PY" - "$WORK/seq_$law.json" "$alg" >"$WORK/job_${law}_$alg.json" <<'PY'
import json, sys
seq, alg = json.load(open(sys.argv[1])), sys.argv[2]
print(json.dumps({"solver": "linsys.sor_bandit", "problem": seq,
                  "params": {"algorithm": alg, "compare": alg == "tsallis_inf", "seed": 1,
                             "tol": 1e-8, "report_every": 100}}))
PY
        run_job "$WORK/job_${law}_$alg.json" >"$WORK/res_${law}_$alg.json"
        say "$law $alg done"
    done
    "$PY" - "$WORK/seq_$law.json" "$PY_T" >"$WORK/job_${law}_fixed.json" <<'PY'
import json, sys
seq, n = json.load(open(sys.argv[1])), int(sys.argv[2])
seq["shifts"], seq["b"] = seq["shifts"][:n], seq["b"][:n]
print(json.dumps({"solver": "linsys.sor_bandit", "problem": seq,
                  "params": {"algorithm": "fixed", "omega": 1.5, "compare": False,
                             "tol": 1e-8, "report_every": 100}}))
PY
    run_job "$WORK/job_${law}_fixed.json" >"$WORK/res_${law}_fixed.json"
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/sor_bandit_numpy.py" "$WORK/job_${law}_tsallis_inf.json" \
        "$PY_T" 1.5 >"$WORK/numpy_$law.json"
    say "$law numpy done"
    "$PY" - "$law" "$A" "$B" "$WORK/res_${law}_tsallis_inf.json" "$WORK/res_${law}_contextual.json" \
        "$WORK/res_${law}_fixed.json" "$WORK/numpy_$law.json" "$WORK/table.md" "$WORK/speed.md" <<'PY'
import json, sys
law, a, b = sys.argv[1:4]
ts, cb, fx, py = (json.load(open(f)) for f in sys.argv[4:8])
T = ts["instances"]
w1 = ts["grid_totals"][ts["grid"].index(1.0)]
with open(sys.argv[8], "a") as f:
    f.write(f"| {law}: -0.15 + 0.6 Beta({a}, {b}) | {T} | {ts['total_iterations']} | "
            f"{cb['total_iterations']} | {ts['best_fixed_total']} (omega {ts['best_fixed_omega']:.2f}) | "
            f"{w1} | {ts['instance_optimal_total']} | {ts['regret'] / T:.1f} |\n")
us = 1e6 * ts["solve_time_s"] / ts["sor_iterations_run"]
same = fx["sor_iterations"] == py["fixed_iterations"]
with open(sys.argv[9], "a") as f:
    f.write(f"| {law} | {us:.2f} | {py['us_per_sor_iteration']:.1f} | "
            f"{py['us_per_sor_iteration'] / us:.0f}x | {'yes' if same else 'NO'} |\n")
PY
done
# The paper's length, T_BIG instances of each law, through the generate form (solvd only).
{
    printf '| shift law | instances | Tsallis-INF | ChebCB | best fixed omega (hindsight) | omega = 1 | instance-optimal | Tsallis-INF regret / instance |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
} >"$WORK/big.md"
for law in high low; do
    if [[ $law == high ]]; then A=0.5; B=1.5; else A=2; B=6; fi
    for alg in tsallis_inf contextual; do
        "$PY" -c 'import json, sys; T, a, b, alg = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(json.dumps({"solver": "linsys.sor_bandit", "problem": {"generate": {"instances": T, "beta_a": a, "beta_b": b, "seed": 1}},
                  "params": {"algorithm": alg, "compare": alg == "tsallis_inf", "seed": 1, "report_every": 1000}}))' \
            "$T_BIG" "$A" "$B" "$alg" >"$WORK/big_${law}_$alg.json"
        run_job "$WORK/big_${law}_$alg.json" >"$WORK/bigres_${law}_$alg.json"
        say "$law $alg ($T_BIG instances) done"
    done
    "$PY" - "$law" "$A" "$B" "$WORK/bigres_${law}_tsallis_inf.json" "$WORK/bigres_${law}_contextual.json" \
        >>"$WORK/big.md" <<'PY'
import json, sys
law, a, b = sys.argv[1:4]
ts, cb = (json.load(open(f)) for f in sys.argv[4:6])
T = ts["instances"]
w1 = ts["grid_totals"][ts["grid"].index(1.0)]
print(f"| {law}: -0.15 + 0.6 Beta({a}, {b}) | {T} | {ts['total_iterations']} | "
      f"{cb['total_iterations']} | {ts['best_fixed_total']} (omega {ts['best_fixed_omega']:.2f}) | "
      f"{w1} | {ts['instance_optimal_total']} | {ts['regret'] / T:.1f} |")
PY
done

{
    printf '## linsys.sor_bandit: learning omega across a sequence (Learning to Relax)\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/sor_bandit.sh` at commit %s on %s; load average %s. The paper'"'"'s experiment: A the 5-point Laplacian of a 10 x 10 grid (n = 100), A_t = A + c_t I, b_t standard normal truncated to |b| <= 10, tol 1e-8, SOR cap 10000, omega grid linspace(1, 1.95, 20); %s instances per law, one sequence (numpy seed 2024) and one bandit seed (1). Totals are SOR iterations over the sequence; best fixed omega, omega = 1 and instance-optimal come from the same run (`compare`: every instance at every grid omega).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$T"
    cat "$WORK/table.md"
    printf '\nThe paper'"'"'s length, %s instances of each law from the `generate` form (its own sequence, seed 1; the same matrix, law, rhs law and grid):\n\n' "$T_BIG"
    cat "$WORK/big.md"
    # shellcheck disable=SC2016
    printf '\nTime per SOR iteration: solvd'"'"'s solve_time_s of the Tsallis-INF job over every SOR iteration it ran (the comparison'"'"'s included), against bench/sor_bandit_numpy.py running the same SOR (x += (D/omega + L)^-1 r by SuperLU on the triangular M, natural order, factored once a solve, r = b - A x) and Tsallis-INF loop on the first %s instances plus a fixed omega = 1.5 solve of each (OPENBLAS_NUM_THREADS=1). The last column compares the per-instance counts at omega = 1.5 of solvd (a `fixed` job) and numpy.\n\n' "$PY_T"
    cat "$WORK/speed.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN sor_bandit -->' '<!-- END sor_bandit -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
