#!/usr/bin/env bash
# small_gain_nash.sh - games.small_gain_nash: (1) the paper's headline claim on quadratic games,
# Euclidean monotonicity (Rosen's test) fails while SGN certifies and the certified iterations
# converge at no worse than the certified rate, and a game SGN cannot certify; (2) time per
# iteration against the same iteration in numpy (bench/small_gain_nash_numpy.py) on the same
# explicit instance, both methods, n in {64, 400}. solvd's time per step is the difference of
# solve_time_s between runs of SGN_K2 and SGN_K1 steps (tol 0), so the O(n^3) certificate is not
# counted; numpy runs SGN_PY_STEPS steps with solvd's certified step and weights. Writes its
# section of bench/RESULTS.md between <!-- BEGIN small_gain_nash --> and
# <!-- END small_gain_nash -->. Environment: SGN_BUILD_DIR (default <repo>/build), SGN_RESULTS,
# SGN_K1 (2000), SGN_K2 (12000), SGN_PY_STEPS (2000), SGN_PYTHON (/usr/bin/python3). Timing is
# reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SGN_BUILD_DIR:-$REPO/build}
RESULTS=${SGN_RESULTS:-$REPO/bench/RESULTS.md}
K1=${SGN_K1:-2000}
K2=${SGN_K2:-12000}
PY_STEPS=${SGN_PY_STEPS:-2000}
PY=${SGN_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is (deploy/deps.sh bench)
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sgn_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'small_gain_nash: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

OPENBLAS_NUM_THREADS=1 "$PY" - "$PORT" "$WORK" "$K1" "$K2" "$PY_STEPS" \
    "$REPO/bench/small_gain_nash_numpy.py" >"$WORK/tables.md" <<'PY'
import json, subprocess, sys, time, urllib.request
import numpy as np

port, work, K1, K2, PYS, peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5]), sys.argv[6]
base = f"http://127.0.0.1:{port}"

def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())

def solve(job):
    jid = call("POST", "/v1/jobs", job)["id"]
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        j = call("GET", f"/v1/jobs/{jid}")
        if j["status"] in ("succeeded", "failed", "cancelled"):
            if j["status"] != "succeeded":
                raise RuntimeError(f"job {jid}: {j['status']} {j.get('error')}")
            return call("GET", f"/v1/jobs/{jid}/result")
        time.sleep(0.05)
    raise RuntimeError("timeout")

def chain(N, d, mu, a, b, seed, spread=0.0, box=None):
    """The chain game of core/solvers/games/small_gain_nash_gen.h, drawn with numpy."""
    rng = np.random.default_rng(seed)
    n = N * d
    M = np.zeros((n, n))
    for i in range(N):
        G = rng.normal(size=(d, d))
        M[i*d:(i+1)*d, i*d:(i+1)*d] = mu * np.eye(d) + spread * G @ G.T / d
    for i in range(N - 1):
        R = rng.normal(size=(d, d))
        R /= np.linalg.norm(R, 2)
        M[i*d:(i+1)*d, (i+1)*d:(i+2)*d] = a * R
        M[(i+1)*d:(i+2)*d, i*d:(i+1)*d] = b * R.T
    xs = rng.normal(size=n)
    q = -M @ xs
    players = []
    for i in range(N):
        p = {"A": M[i*d:(i+1)*d, i*d:(i+1)*d].tolist(), "b": q[i*d:(i+1)*d].tolist(),
             "B": {str(j): M[i*d:(i+1)*d, j*d:(j+1)*d].tolist() for j in (i - 1, i + 1)
                   if 0 <= j < N}}
        if box is not None:
            p["lo"], p["hi"] = [-box] * d, [box] * d
        players.append(p)
    return {"players": players}, M, q

def fmt(v, spec=".4g"):
    return "null" if v is None else format(v, spec)

# ---- (1) the headline claim ----
games = [
    ("paper scalar game (mu 1, a 10, b 0.05)", 1, 1, 1.0, 10.0, 0.05, 0.0, None),
    ("paper LQ game, 2 x 32", 2, 32, 1.0, 10.0, 0.05, 0.0, None),
    ("chain 8 x 50, a 4, b 0.05, spread 0.5", 8, 50, 1.0, 4.0, 0.05, 0.5, None),
    ("chain 8 x 50 as above, box [-0.5, 0.5]", 8, 50, 1.0, 4.0, 0.05, 0.5, 0.5),
    ("Euclidean-monotone control, 2 x 32, a = b = 0.4", 2, 32, 1.0, 0.4, 0.4, 0.0, None),
    ("too strong: 2 x 32, a 10, b 0.2 (a b > mu^2)", 2, 32, 1.0, 10.0, 0.2, 0.0, None),
]
print("| game | n | Euclidean margin | Rosen | small-gain radius | SGN margin | certified | method | step | certified rate | observed rate | steps to 1e-8 | status | max \\|x - x*\\| |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, N, d, mu, a, b, spread, box in games:
    if N == 1:  # the scalar game itself: two players of dimension 1
        N, d = 2, 1
    prob, M, q = chain(N, d, mu, a, b, 5, spread, box)
    if box is None:
        xs = np.linalg.solve(M, -q)
    else:  # no closed form with the box: the natural residual <= 1e-8 is the check
        xs = None
    for method in ("euler", "rk4"):
        r = solve({"solver": "games.small_gain_nash", "problem": prob,
                   "params": {"method": method, "tol": 1e-8, "max_iter": 2000000,
                              "report_every": 100000}})
        c = r["certificate"]
        err = None if xs is None else float(np.max(np.abs(np.array(r["x"]) - xs)))
        print(f"| {name} | {N*d} | {fmt(c['euclidean_margin'])} | "
              f"{'pass' if c['euclidean_margin'] > 0 else 'fails'} | {fmt(c['small_gain_radius'])} | "
              f"{fmt(c['margin'])} | {'yes' if c['certified'] else 'no'} | {method} | "
              f"{fmt(r['step'])} | {fmt(r['rate'], '.6f')} | {fmt(r['observed_rate'], '.6f')} | "
              f"{r['iterations']} | {r['status']} | {fmt(err, '.1e')} |")
        if not c["certified"]:
            break
print()

# ---- (2) time per step against numpy ----
print("| n (players x d) | method | solvd us/step | numpy us/step (its faster F) | speed-up | max \\|x_solvd - x_numpy\\| after the numpy run's steps |")
print("|---|---|---|---|---|---|")
for N, d in ((2, 32), (8, 50)):
    prob, M, q = chain(N, d, 1.0, 4.0 if N > 2 else 10.0, 0.05, 9, 0.5)
    jpath = f"{work}/job_{N}_{d}.json"
    for method in ("euler", "rk4"):
        runs = {}
        for K in (K1, K2, PYS):
            runs[K] = solve({"solver": "games.small_gain_nash", "problem": prob,
                             "params": {"method": method, "tol": 0, "max_iter": K,
                                        "report_every": 1000000}})
        us = 1e6 * (runs[K2]["solve_time_s"] - runs[K1]["solve_time_s"]) / (K2 - K1)
        r = runs[PYS]
        json.dump({"solver": "games.small_gain_nash", "problem": prob}, open(jpath, "w"))
        out = json.loads(subprocess.check_output(
            [sys.executable, peer, jpath, method, repr(r["step"]),
             json.dumps(r["certificate"]["weights"]), str(PYS)]))
        diff = float(np.max(np.abs(np.array(out["x"]) - np.array(r["x"]))))
        print(f"| {N*d} ({N} x {d}) | {method} | {us:.2f} | {out['us_per_step']:.2f} "
              f"({out['F']}) | {out['us_per_step'] / us:.1f}x | {diff:.1e} |")
PY
{
    printf '## games.small_gain_nash: Euclidean test vs SGN certificate, and time per iteration against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/small_gain_nash.sh` at commit %s on %s; load average %s. Chain games as in core/solvers/games/small_gain_nash_gen.h drawn with numpy (seed 5 for the first table, 9 for the second), sent as explicit players; x* by a direct solve of M x = -q. "Rosen" is the Euclidean strong-monotonicity test lambda_min(sym M) > 0; the certified and observed rates are per step in the SGN metric |.|_W (observed: (d_K/d_1)^(1/(K-1)), d_k = |x_k - x_{k-1}|_W). Time per step: solvd (solve_time_s of %s steps minus that of %s, through the HTTP API, so the certificate is excluded) against the same iteration in numpy (%s steps, solvd'"'"'s certified step; numpy'"'"'s F as one dense product or over the nonzero blocks, whichever is faster, as solvd runs F by blocks when a quarter or more of them are zero), OpenBLAS on one thread (OPENBLAS_CORETYPE=%s).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$K2" "$K1" "$PY_STEPS" \
        "${OPENBLAS_CORETYPE:-unset}"
    cat "$WORK/tables.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN small_gain_nash -->' '<!-- END small_gain_nash -->' "$WORK/section.md" \
    "$RESULTS"
say "section written to $RESULTS"
