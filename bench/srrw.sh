#!/usr/bin/env bash
# srrw.sh - distributed.srrw against the same algorithm in numpy (bench/srrw_numpy.py) on the
# same instance: 64 agents on a grid, least squares with ridge, d in {5, 20, 100}. solvd runs
# SRRW_STEPS token steps (tol 0) through its HTTP API and its solve_time_s is taken; numpy runs
# SRRW_PY_STEPS steps (its time per step does not depend on the count). Writes its table into
# bench/RESULTS.md between <!-- BEGIN srrw --> and <!-- END srrw -->. Environment: SRRW_BUILD_DIR
# (a build with bin solvd; default <repo>/build), SRRW_RESULTS, SRRW_STEPS (1000000),
# SRRW_PY_STEPS (50000), SRRW_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SRRW_BUILD_DIR:-$REPO/build}
RESULTS=${SRRW_RESULTS:-$REPO/bench/RESULTS.md}
STEPS=${SRRW_STEPS:-1000000}
PY=${SRRW_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is (deploy/deps.sh bench)
PY_STEPS=${SRRW_PY_STEPS:-50000}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/srrw_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'srrw: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

{
    printf '| d | rows per agent | solvd us/step | numpy us/step | speed-up | |theta_solvd - theta*| / |theta*| |\n'
    printf '|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
for d in 5 20 100; do
    "$PY" - "$d" "$STEPS" >"$WORK/job$d.json" <<'PY'
import json, sys
import numpy as np
d, steps = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(7)
n, m, w = 64, 50, 8
xs = rng.normal(size=d) * (2 / np.sqrt(d))
clients = []
for i in range(n):
    A = rng.normal(size=(m, d)) * 10 ** (0.5 * i / (n - 1))
    clients.append({"A": A.round(6).tolist(), "b": (A @ xs + 0.1 * rng.normal(size=m)).round(6).tolist()})
edges = [[i, i + 1] for i in range(n) if (i + 1) % w and i + 1 < n] + [[i, i + w] for i in range(n - w)]
L = max(np.linalg.eigvalsh(np.array(c["A"]).T @ np.array(c["A"]) / m).max() + 0.1 for c in clients)
print(json.dumps({"solver": "distributed.srrw",
                  "problem": {"clients": clients, "lambda": 0.1, "edges": edges},
                  "params": {"alpha": 5.0, "a": 0.6, "b": 0.7, "step0": 1 / L, "seed": 1,
                             "tol": 0, "max_iter": steps, "report_every": 100000}}))
PY
    "$PY" "$REPO/bench/ef21_solvd.py" --port "$PORT" "$WORK/job$d.json" --repeat 1 --timeout 1800 \
        --x-out "$WORK/x$d.json" >"$WORK/solvd$d.json"
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/srrw_numpy.py" "$WORK/job$d.json" "$PY_STEPS" \
        >"$WORK/numpy$d.json"
    "$PY" - "$WORK/job$d.json" "$WORK/solvd$d.json" "$WORK/numpy$d.json" "$WORK/x$d.json" "$d" \
        >>"$WORK/table.md" <<'PY'
import json, sys
import numpy as np
job, sv, py, xs = (json.load(open(f)) for f in sys.argv[1:5])
p = job["problem"]
n = len(p["clients"])
H = sum(np.array(c["A"]).T @ np.array(c["A"]) / len(c["b"]) for c in p["clients"]) / n
H += p["lambda"] * np.eye(H.shape[0])
r = sum(np.array(c["A"]).T @ np.array(c["b"]) / len(c["b"]) for c in p["clients"]) / n
xstar = np.linalg.solve(H, r)
run = sv["runs"][0] if "runs" in sv else sv
us = 1e6 * run["solve_time_s"] / run["iterations"]
err = np.linalg.norm(np.array(xs) - xstar) / np.linalg.norm(xstar)
print(f"| {sys.argv[5]} | 50 | {us:.2f} | {py['us_per_step']:.1f} | {py['us_per_step'] / us:.0f}x | {err:.2e} |")
PY
    say "d=$d done"
done
{
    printf '## distributed.srrw: time per token step against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/srrw.sh` at commit %s on %s; load average %s. 64 agents on an 8 x 8 grid, 50 rows each, least squares with ridge 0.1, alpha 5, a 0.6, b 0.7; solvd %s steps through the HTTP API (solve_time_s, which includes the full-gradient checks every 100000 steps), numpy %s steps of the same recursion (bench/srrw_numpy.py). OpenBLAS on one thread (OPENBLAS_CORETYPE=%s).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$STEPS" "$PY_STEPS" \
        "${OPENBLAS_CORETYPE:-unset}"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN srrw -->' '<!-- END srrw -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
