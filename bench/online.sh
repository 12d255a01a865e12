#!/usr/bin/env bash
# online.sh - matching.online against the same Monte Carlo in numpy (bench/online_numpy.py) on
# the same instances, in the paper's infinitesimal-probability regime (p <= 0.02, about
# offline / p online vertices so that every budget binds): random graphs of degree 5 with equal
# or uniform probabilities in a random order, and the upper-triangular instance in its fixed
# (adversarial) order. The instances are made here (numpy, seed 1) and sent as explicit graphs.
# solvd runs ONLINE_TRIALS trials through its HTTP API (solve_time_s: the trials only; the LP
# is lp_time_s); numpy runs ONLINE_PY_TRIALS trials as one vectorised batch. Writes its table
# into bench/RESULTS.md between <!-- BEGIN online --> and <!-- END online -->. Environment:
# ONLINE_BUILD_DIR (default <repo>/build), ONLINE_RESULTS, ONLINE_TRIALS (2000),
# ONLINE_PY_TRIALS (200), ONLINE_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ONLINE_BUILD_DIR:-$REPO/build}
RESULTS=${ONLINE_RESULTS:-$REPO/bench/RESULTS.md}
TRIALS=${ONLINE_TRIALS:-2000}
PY=${ONLINE_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is (deploy/deps.sh bench)
PY_TRIALS=${ONLINE_PY_TRIALS:-200}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/online_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'online: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

{
    printf '| instance | edges | LP (GLPK) | LP (HiGHS) | balance | ranking | greedy | numpy balance / ranking / greedy | solvd us/trial | numpy us/trial | speed-up |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
# name kind offline online degree probs p
cases=(
    "random-equal random 100 10000 5 equal 0.01"
    "random-uniform random 100 10000 5 uniform 0.02"
    "triangular-equal triangular 50 5000 0 equal 0.01"
    "triangular-uniform triangular 50 5000 0 uniform 0.02"
)
for c in "${cases[@]}"; do
    read -r name kind m n d probs p <<<"$c"
    "$PY" - "$kind" "$m" "$n" "$d" "$probs" "$p" "$TRIALS" >"$WORK/$name.json" <<'PY'
import json, sys
import numpy as np
kind, m, n, d, probs, p, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6]), int(sys.argv[7])
rng = np.random.default_rng(1)
rows = []
for v in range(n):
    if kind == "random":
        nb = sorted(rng.choice(m, d, replace=False).tolist())
    else:  # group j = floor(v m / n) sees m-1, ..., j (as online_gen.c's "triangular")
        nb = list(range(m - 1, v * m // n - 1, -1))
    ps = [p] * len(nb) if probs == "equal" else (p * (1 - rng.random(len(nb)))).tolist()
    rows.append([[int(u), round(float(q), 6) or 1e-6] for u, q in zip(nb, ps)])
print(json.dumps({"solver": "matching.online",
                  "problem": {"offline": m, "online": rows, "random_order": kind == "random"},
                  "params": {"tol": 0, "max_iter": trials, "report_every": 100, "seed": 1}}))
PY
    "$PY" - "$PORT" "$WORK/$name.json" >"$WORK/$name.solvd.json" <<'PY'
import http.client, json, sys, time
port, body = int(sys.argv[1]), open(sys.argv[2], "rb").read()
def req(method, path, data=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    c.request(method, path, body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read()
st, out = req("POST", "/v1/jobs", body)
assert st == 201, (st, out[:300])
jid = json.loads(out)["id"]
for _ in range(36000):
    st, out = req("GET", f"/v1/jobs/{jid}/result")
    if st == 200:
        break
    time.sleep(0.05)
assert st == 200, (st, out[:300])
print(out.decode())
PY
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/online_numpy.py" "$WORK/$name.json" "$PY_TRIALS" \
        >"$WORK/$name.numpy.json"
    "$PY" - "$WORK/$name.solvd.json" "$WORK/$name.numpy.json" "$name" >>"$WORK/table.md" <<'PY'
import json, sys
sv, py = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a = sv["algorithms"]
f = lambda s: f"{s['ratio']:.4f} ± {s['ci95']:.4f}"
g = " / ".join(f"{py['ratios'][k][0]:.3f}" for k in ("balance", "ranking", "greedy"))
us = 1e6 * sv["solve_time_s"] / sv["trials"]
hl = f"{py['lp']:.4f}" if py["lp"] is not None else "-"
print(f"| {sys.argv[3]} | {sv['edges']} | {sv['lp_value']:.4f} | {hl} | {f(a['balance'])} | "
      f"{f(a['ranking'])} | {f(a['greedy'])} | {g} (± ~{py['ratios']['balance'][1]:.3f}) | "
      f"{us:.0f} | {py['us_per_trial']:.0f} | {py['us_per_trial'] / us:.1f}x |")
PY
    say "$name done"
done
{
    printf '## matching.online: ratios in the infinitesimal regime, time per trial against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/online.sh` at commit %s on %s; load average %s. Ratios: mean matched / LP value over %s trials of solvd, with 95%% half-widths (Stochastic Balance with the MSVV penalty). random-*: 100 offline, 10 000 online of degree 5, p = 0.01 (equal) or uniform on (0, 0.02], a random order each trial; triangular-*: 50 offline, 5 000 online, group j = floor(50 v / 5000) sees offline 49..j, in the fixed group order. numpy runs %s trials of the same simulation as one vectorised batch (bench/online_numpy.py; its own random stream, so its ratios agree within their half-widths, not exactly) and solves the LP with scipy HiGHS as a check of GLPK. solvd us/trial is solve_time_s / trials (the LP excluded; numpy excludes it too).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$TRIALS" "$PY_TRIALS"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN online -->' '<!-- END online -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
