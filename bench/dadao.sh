#!/usr/bin/env bash
# dadao.sh - decentralized.dadao: (1) communications and gradients to a tolerance against the
# graph's spectral gap, 64 agents on ring, grid, Erdos-Renyi and complete graphs (the same
# generated least-squares instance, solvd through its HTTP API); (2) time per event against the
# same algorithm in numpy (bench/dadao_numpy.py) on the same explicit instance, 64 agents on an
# 8 x 8 grid, d in {5, 20, 100}: solvd runs DADAO_EVENTS events (tol 0) and its solve_time_s is
# taken, numpy DADAO_PY_EVENTS events. Writes its table into bench/RESULTS.md between
# <!-- BEGIN dadao --> and <!-- END dadao -->. Environment: DADAO_BUILD_DIR (a build with bin
# solvd; default <repo>/build), DADAO_RESULTS, DADAO_EVENTS (1000000), DADAO_PY_EVENTS (20000),
# DADAO_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${DADAO_BUILD_DIR:-$REPO/build}
RESULTS=${DADAO_RESULTS:-$REPO/bench/RESULTS.md}
EVENTS=${DADAO_EVENTS:-1000000}
PY=${DADAO_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is (deploy/deps.sh bench)
PY_EVENTS=${DADAO_PY_EVENTS:-20000}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dadao_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'dadao: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

# run_job JOB.json -> the job's result document on stdout
run_job() {
    "$PY" - "$PORT" "$1" <<'PY'
import http.client, json, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
def req(method, url, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, url, body=body, headers={"Content-Type": "application/json", "Connection": "close"})
    r = c.getresponse(); out = r.status, r.read(); c.close(); return out
st, out = req("POST", "/v1/jobs", open(path, "rb").read())
if st != 201:
    sys.exit(f"POST answered {st}: {out[:300]!r}")
jid = json.loads(out)["id"]
for _ in range(360000):
    st, out = req("GET", f"/v1/jobs/{jid}/result")
    if st == 200:
        print(out.decode()); break
    time.sleep(0.01)
else:
    sys.exit("no result")
PY
}

# ---- (1) the spectral gap ----
{
    printf '| graph | edges | lambda_2 | chi_1 | chi_2 | comm rate | status | time | gradients | communications | communications / gradients |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
} >"$WORK/gap.md"
for top in ring grid erdos_renyi complete; do
    "$PY" -c 'import json,sys; print(json.dumps({"solver": "decentralized.dadao",
      "problem": {"generate": {"clients": 64, "rows_per_client": 30, "dim": 10, "loss": "squared",
                               "heterogeneity": 0.5, "lambda": 0.1, "seed": 3},
                  "graph": {"topology": sys.argv[1], "p": 0.1, "seed": 1}},
      "params": {"tol": 1e-6, "seed": 1, "report_every": 10000}}))' "$top" >"$WORK/gap_$top.json"
    run_job "$WORK/gap_$top.json" >"$WORK/gap_$top.out"
    "$PY" - "$top" "$WORK/gap_$top.out" >>"$WORK/gap.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
print(f"| {sys.argv[1]} | {r['edges']} | {r['lambda_2']:.4g} | {r['chi_1']:.4g} | {r['chi_2']:.4g} | "
      f"{r['comm_rate']:.4g} | {r['status']} | {r['time']:.0f} | {r['gradient_evals']} | "
      f"{r['communications']} | {r['communications'] / r['gradient_evals']:.2f} |")
PY
    say "gap $top done"
done

# ---- (2) time per event against numpy ----
{
    printf '| d | solvd us/event | numpy us/event | speed-up | solvd \\|x - x*\\| / \\|x*\\| | numpy \\|x - x*\\| / \\|x*\\| (after its events) |\n'
    printf '|---|---|---|---|---|---|\n'
} >"$WORK/speed.md"
for d in 5 20 100; do
    "$PY" - "$d" "$EVENTS" >"$WORK/job$d.json" <<'PY'
import json, sys
import numpy as np
d, events = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(7)
n, m, w = 64, 50, 8
xs = rng.normal(size=d) * (2 / np.sqrt(d))
clients = []
for i in range(n):
    A = rng.normal(size=(m, d)) * 10 ** (0.5 * i / (n - 1))
    clients.append({"A": A.round(6).tolist(), "b": (A @ xs + 0.1 * rng.normal(size=m)).round(6).tolist()})
edges = [[i, i + 1] for i in range(n) if (i + 1) % w and i + 1 < n] + [[i, i + w] for i in range(n - w)]
print(json.dumps({"solver": "decentralized.dadao",
                  "problem": {"clients": clients, "lambda": 0.1, "edges": edges},
                  "params": {"rate_factor": 1.0, "seed": 1, "tol": 0, "max_iter": events,
                             "report_every": 100000}}))
PY
    run_job "$WORK/job$d.json" >"$WORK/solvd$d.json"
    OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/dadao_numpy.py" "$WORK/job$d.json" "$PY_EVENTS" \
        >"$WORK/numpy$d.json"
    "$PY" - "$WORK/job$d.json" "$WORK/solvd$d.json" "$WORK/numpy$d.json" "$d" \
        >>"$WORK/speed.md" <<'PY'
import json, sys
import numpy as np
job, sv, py = (json.load(open(f)) for f in sys.argv[1:4])
p = job["problem"]
n = len(p["clients"])
H = sum(np.array(c["A"]).T @ np.array(c["A"]) / len(c["b"]) for c in p["clients"]) / n
H += p["lambda"] * np.eye(H.shape[0])
r = sum(np.array(c["A"]).T @ np.array(c["b"]) / len(c["b"]) for c in p["clients"]) / n
xstar = np.linalg.solve(H, r)
us = 1e6 * sv["solve_time_s"] / sv["iterations"]
err = np.linalg.norm(np.array(sv["x"]) - xstar) / np.linalg.norm(xstar)
perr = np.linalg.norm(np.array(py["x"]) - xstar) / np.linalg.norm(xstar)
print(f"| {sys.argv[4]} | {us:.2f} | {py['us_per_event']:.1f} | {py['us_per_event'] / us:.0f}x | {err:.2e} | {perr:.2e} |")
PY
    say "d=$d done"
done
{
    printf '## decentralized.dadao: communications against the spectral gap, and time per event against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/dadao.sh` at commit %s on %s; load average %s. OpenBLAS on one thread (OPENBLAS_CORETYPE=%s).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "${OPENBLAS_CORETYPE:-unset}"
    printf 'Spectral gap: one generated least-squares instance (64 agents, 30 rows each, d = 10, heterogeneity 0.5, ridge 0.1, seed 3) on four graphs (Erdos-Renyi p = 0.1, seed 1), the default rate factor 1 (total communication rate sqrt(2 chi_1 chi_2) of the unit-rate Laplacian, so 2 chi_1 chi_2 = 1 at the rates used; chi_1, chi_2 below are those of the rate-weighted Laplacian), tol 1e-6; time is the continuous time reached. Each agent computes one gradient per unit time whatever the graph; the communications per unit time are the comm rate.\n\n'
    cat "$WORK/gap.md"
    printf '\nTime per event: 64 agents on an 8 x 8 grid, 50 rows each (row scales 10^(0.5 i/63)), least squares with ridge 0.1; solvd %s events through the HTTP API (solve_time_s, which includes the checks every 100000 events), numpy %s events of the same algorithm (bench/dadao_numpy.py: closed-form flow, same jumps and clocks; its error is after its fewer events).\n\n' "$EVENTS" "$PY_EVENTS"
    cat "$WORK/speed.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN dadao -->' '<!-- END dadao -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
