#!/usr/bin/env bash
# alflb.sh - allocation.alflb against the same ALF-LB iteration in numpy (bench/alflb_numpy.py)
# on the same instance: T = 4095 tokens, E = 32 experts, k = 4, scores U[0,1) + skew w_e with
# popular experts (skew 1), given explicitly (the scores form); sign rule, harmonic steps,
# u = 0.1, tol 0 and a mean load kT/E = 511.875 that no integer load meets, so both run all
# ALFLB_ITERS bias updates. solvd runs through its HTTP API (its solve_time_s); each is run
# ALFLB_REPEAT times and the fastest run is kept (the machine is shared). Writes its table into
# bench/RESULTS.md between <!-- BEGIN alflb --> and <!-- END alflb -->. Environment:
# ALFLB_BUILD_DIR (default <repo>/build), ALFLB_RESULTS, ALFLB_REPEAT (3), ALFLB_ITERS (300),
# ALFLB_PYTHON (/usr/bin/python3). Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ALFLB_BUILD_DIR:-$REPO/build}
RESULTS=${ALFLB_RESULTS:-$REPO/bench/RESULTS.md}
REPEAT=${ALFLB_REPEAT:-3}
ITERS=${ALFLB_ITERS:-300}
PY=${ALFLB_PYTHON:-/usr/bin/python3}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/alflb_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'alflb: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

"$PY" - "$ITERS" >"$WORK/job.json" <<'PY'
import json, sys
import numpy as np
rng = np.random.default_rng(7)
T, E, k = 4095, 32, 4
w = rng.random(E)
S = rng.random((T, E)) + 1.0 * w
print(json.dumps({"solver": "allocation.alflb",
                  "problem": {"scores": S.round(9).tolist(), "k": k},
                  "params": {"rule": "sign", "step": "harmonic", "u": 0.1, "tol": 0,
                             "max_iter": int(sys.argv[1]), "report_every": 1000000}}))
PY

# One solvd run: POST the job (params merged), poll it, print its result.
run_solvd() {
    "$PY" - "$PORT" "$WORK/job.json" "$1" <<'PY'
import http.client, json, sys, time
port, job, extra = int(sys.argv[1]), json.load(open(sys.argv[2])), json.loads(sys.argv[3])
job["params"].update(extra)
def req(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    out = json.loads(r.read())
    c.close()
    return out
jid = req("POST", "/v1/jobs", json.dumps(job))["id"]
deadline = time.monotonic() + 600
while req("GET", f"/v1/jobs/{jid}")["status"] in ("queued", "running"):
    if time.monotonic() > deadline:
        sys.exit("timed out")
    time.sleep(0.05)
print(json.dumps(req("GET", f"/v1/jobs/{jid}/result")))
PY
}

best_of() {  # best_of FILE...: the run with the smallest "seconds"
    "$PY" -c 'import json,sys; rs=[json.load(open(f)) for f in sys.argv[1:]]; print(json.dumps(min(rs, key=lambda r: r["seconds"])))' "$@"
}
for r in $(seq "$REPEAT"); do
    run_solvd '{}' | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r["seconds"]=r["solve_time_s"]; print(json.dumps(r))' >"$WORK/sv$r.json"
    "$PY" "$REPO/bench/alflb_numpy.py" "$WORK/job.json" >"$WORK/np$r.json"
    say "round $r done"
done
best_of "$WORK"/sv*.json >"$WORK/sv.json"
best_of "$WORK"/np*.json >"$WORK/np.json"

"$PY" - "$WORK/sv.json" "$WORK/np.json" >"$WORK/table.md" <<'PY'
import json, sys
sv, npy = (json.load(open(f)) for f in sys.argv[1:3])
assert sv["status"] == "max_iter", sv["status"]
n = npy["iterations"] + 1
db = max(abs(a - b) for a, b in zip(sv["bias"], npy["bias"]))
print("| run | ms per iteration | total s | speed-up over numpy | max load | min load | Lagrangian |")
print("|---|---|---|---|---|---|---|")
for name, r in (("solvd", sv), ("numpy", npy)):
    print(f"| {name} | {1e3 * r['seconds'] / n:.3f} | {r['seconds']:.3f} | "
          f"{npy['seconds'] / r['seconds']:.1f}x | {r['max_load']} | {r['min_load']} | "
          f"{r['lagrangian']:.6f} |")
print()
print(f"Largest difference of the final biases: {db:.3g} (0: the same routings throughout).")
PY
{
    printf '## allocation.alflb: ALF-LB against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/alflb.sh` at commit %s on %s; load average %s. 4095 tokens x 32 experts, k = 4, skewed scores, sign rule with harmonic steps (u = 0.1), %s bias updates; solvd through its HTTP API (solve_time_s), numpy the same iteration vectorised over tokens (bench/alflb_numpy.py: argpartition, bincount). Fastest of %s runs each. An iteration is one routing of every token plus one bias step.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$ITERS" "$REPEAT"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN alflb -->' '<!-- END alflb -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
