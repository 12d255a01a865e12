#!/usr/bin/env bash
# dfedsam.sh - decentralized.dfedsam: communication rounds to the tolerance against the spectral
# gap of the gossip matrix, for DFedSAM (Q = 1) and DFedSAM-MGS (Q = 4), and the time per round
# against the same algorithm in numpy (bench/dfedsam_numpy.py: agent by agent, and batched over
# the agents) on the same
# instance: 64 agents, 50 rows each, d = 20, heterogeneous least squares with ridge 0.1, on a
# ring, an 8 x 8 grid, an Erdos-Renyi graph and the complete graph. solvd runs each job through
# its HTTP API to tol 1e-3 (solve_time_s / iterations is its time per round, the every-round
# checks included); numpy runs the same rounds and checks, batched up to DFEDSAM_PY_ROUNDS of
# them, agent by agent DFEDSAM_PY_LOOP_ROUNDS (its time per round does not depend on the count;
# when the batched run reaches the tolerance its round count is shown, the check that both run
# the same algorithm). Writes its table into bench/RESULTS.md
# between <!-- BEGIN dfedsam --> and <!-- END dfedsam -->. Environment: DFEDSAM_BUILD_DIR (a
# build with bin solvd; default <repo>/build), DFEDSAM_RESULTS, DFEDSAM_PY_ROUNDS (3000),
# DFEDSAM_PY_LOOP_ROUNDS (100), DFEDSAM_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${DFEDSAM_BUILD_DIR:-$REPO/build}
RESULTS=${DFEDSAM_RESULTS:-$REPO/bench/RESULTS.md}
PY=${DFEDSAM_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is (deploy/deps.sh bench)
PY_ROUNDS=${DFEDSAM_PY_ROUNDS:-3000}
PY_LOOP_ROUNDS=${DFEDSAM_PY_LOOP_ROUNDS:-100}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dfedsam_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'dfedsam: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENBLAS_NUM_THREADS=1 "$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

{
    printf '| graph | edges | spectral gap | Q | solvd rounds | communications | numpy rounds | solvd ms/round | numpy loop ms/round | speed-up | numpy batched ms/round | speed-up | |x_bar - x*| / |x*| |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
} >"$WORK/table.md"
for graph in ring grid erdos_renyi complete; do
    for Q in 1 4; do
        "$PY" - "$graph" "$Q" >"$WORK/job.json" <<'PY'
import json, sys
import numpy as np
graph, Q = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
n, m, d, w = 64, 50, 20, 8
xs = rng.normal(size=d) * (2 / np.sqrt(d))
clients = []
for i in range(n):
    A = rng.normal(size=(m, d)) * 10 ** (0.5 * i / (n - 1))
    clients.append({"A": A.round(6).tolist(), "b": (A @ xs + 0.1 * rng.normal(size=m)).round(6).tolist()})
if graph == "ring":
    edges = [[i, (i + 1) % n] for i in range(n)]
elif graph == "grid":
    edges = [[i, i + 1] for i in range(n) if (i + 1) % w and i + 1 < n] + [[i, i + w] for i in range(n - w)]
elif graph == "complete":
    edges = [[i, j] for i in range(n) for j in range(i + 1, n)]
else:  # Erdos-Renyi, p = 0.1, the first connected draw
    g = np.random.default_rng(11)
    while True:
        edges = [[i, j] for i in range(n) for j in range(i + 1, n) if g.random() < 0.1]
        seen, todo = {0}, [0]
        while todo:
            v = todo.pop()
            for a, b in edges:
                for u, o in ((a, b), (b, a)):
                    if u == v and o not in seen:
                        seen.add(o); todo.append(o)
        if len(seen) == n:
            break
print(json.dumps({"solver": "decentralized.dfedsam",
                  "problem": {"clients": clients, "lambda": 0.1, "edges": edges},
                  "params": {"local_steps": 5, "gossip_steps": Q, "rho": 0.05, "lr_power": 0.9,
                             "tol": 1e-3, "max_iter": 200000, "report_every": 1000}}))
PY
        "$PY" - "$PORT" "$WORK/job.json" >"$WORK/solvd.json" <<'PY'
import http.client, json, sys, time
port, body = int(sys.argv[1]), open(sys.argv[2]).read()
def req(method, path, data=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=data, headers={"Content-Type": "application/json", "Connection": "close"})
    r = c.getresponse(); out = r.read(); c.close()
    return r.status, out
st, out = req("POST", "/v1/jobs", body)
assert st in (200, 201, 202), out[:300]
jid = json.loads(out)["id"]
for _ in range(36000):
    st, out = req("GET", f"/v1/jobs/{jid}/result")
    if st == 200:
        print(out.decode()); break
    time.sleep(0.1)
else:
    sys.exit("no result")
PY
        OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/dfedsam_numpy.py" "$WORK/job.json" "$PY_ROUNDS" \
            batched >"$WORK/numpy.json"
        OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/bench/dfedsam_numpy.py" "$WORK/job.json" \
            "$PY_LOOP_ROUNDS" loop >"$WORK/loop.json"
        "$PY" - "$WORK/job.json" "$WORK/solvd.json" "$WORK/numpy.json" "$WORK/loop.json" "$graph" "$Q" \
            >>"$WORK/table.md" <<'PY'
import json, sys
import numpy as np
job, sv, py, lp = (json.load(open(f)) for f in sys.argv[1:5])
p = job["problem"]
n = len(p["clients"])
H = sum(np.array(c["A"]).T @ np.array(c["A"]) / len(c["b"]) for c in p["clients"]) / n
H += p["lambda"] * np.eye(H.shape[0])
r = sum(np.array(c["A"]).T @ np.array(c["b"]) / len(c["b"]) for c in p["clients"]) / n
xstar = np.linalg.solve(H, r)
assert sv["status"] == "solved", sv["status"]
ms = 1e3 * sv["solve_time_s"] / sv["iterations"]
pms, lms = 1e-3 * py["us_per_round"], 1e-3 * lp["us_per_round"]
err = np.linalg.norm(np.array(sv["x"]) - xstar) / np.linalg.norm(xstar)
prounds = str(py["rounds"]) if py["solved"] else f"> {py['rounds']}"
print(f"| {sys.argv[5]} | {sv['edges']} | {sv['spectral_gap']:.4f} | {sys.argv[6]} | {sv['iterations']} | "
      f"{sv['communications']} | {prounds} | {ms:.3f} | {lms:.3f} | {lms / ms:.1f}x | {pms:.3f} | "
      f"{pms / ms:.1f}x | {err:.2e} |")
PY
        say "$graph Q=$Q done"
    done
done
{
    printf '## decentralized.dfedsam: rounds against the spectral gap, time per round against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/dfedsam.sh` at commit %s on %s; load average %s. 64 agents, 50 rows each, d = 20, least squares with ridge 0.1, agent i'"'"'s rows scaled by 10^(0.5 i / 63); K = 5 SAM steps (full batch, rho 0.05 following the step), eta_t = (1/max L_i) (t+1)^-0.9, Metropolis gossip, tol 1e-3 (residual |grad f(x_bar)| + L sqrt(consensus) <= tol max(1, |grad f(x_0)|), checked every round). Erdos-Renyi: p = 0.1, the first connected draw of seed 11. solvd through the HTTP API (solve_time_s / rounds); numpy the same rounds and checks (bench/dfedsam_numpy.py) agent by agent (loop, %s rounds) and batched over the agents (at most %s rounds; its round count when it reached the tolerance). OpenBLAS on one thread (OPENBLAS_CORETYPE=%s).\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$PY_LOOP_ROUNDS" "$PY_ROUNDS" \
        "${OPENBLAS_CORETYPE:-unset}"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN dfedsam -->' '<!-- END dfedsam -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
