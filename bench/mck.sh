#!/usr/bin/env bash
# mck.sh - allocation.mck against the same DP in numpy (bench/mck_numpy.py) on the same
# instance: n = 200 groups of 20 options (option 0 "nothing", costs uniform in 1..1000, values
# w_i sqrt(c) with noise), budget B = 100000, given explicitly (the groups form). solvd runs
# through its HTTP API (its solve_time_s, the DP and the backtracking) once with its default
# AVX2 tiles and once with simd false (scalar tiles); numpy runs its per-option sweeps,
# vectorised over the budget. Each is run MCK_REPEAT times and the fastest run is kept (the
# machine is shared). Writes its table into bench/RESULTS.md between <!-- BEGIN mck --> and
# <!-- END mck -->. Environment: MCK_BUILD_DIR (a build with bin solvd; default <repo>/build),
# MCK_RESULTS, MCK_REPEAT (3), MCK_PYTHON (/usr/bin/python3). Timing is reported, never
# asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MCK_BUILD_DIR:-$REPO/build}
RESULTS=${MCK_RESULTS:-$REPO/bench/RESULTS.md}
REPEAT=${MCK_REPEAT:-3}
PY=${MCK_PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy is (deploy/deps.sh bench)
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mck_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'mck: %s\n' "$*" >&2; }

[[ -x $BUILD/solvd ]] || { say "no $BUILD/solvd: build first (make build)"; exit 1; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-job-seconds 3600 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done

"$PY" - >"$WORK/job.json" <<'PY'
import json
import numpy as np
rng = np.random.default_rng(7)
n, m, B, cmax = 200, 20, 100000, 1000
groups = []
for i in range(n):
    w = 0.5 + rng.random()
    c = np.concatenate(([0], rng.integers(1, cmax + 1, size=m - 1)))
    v = w * np.sqrt(c) * (1 + 0.2 * (rng.random(m) - 0.5))
    groups.append({"cost": c.tolist(), "value": v.round(9).tolist()})
print(json.dumps({"solver": "allocation.mck", "problem": {"groups": groups, "budget": B},
                  "params": {"report_every": 1000}}))
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
    run_solvd '{}' | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r["seconds"]=r["solve_time_s"]; print(json.dumps(r))' >"$WORK/sv_simd$r.json"
    run_solvd '{"simd": false}' | "$PY" -c 'import json,sys; r=json.load(sys.stdin); r["seconds"]=r["solve_time_s"]; print(json.dumps(r))' >"$WORK/sv_scalar$r.json"
    "$PY" "$REPO/bench/mck_numpy.py" "$WORK/job.json" >"$WORK/np$r.json"
    say "round $r done"
done
best_of "$WORK"/sv_simd*.json >"$WORK/sv_simd.json"
best_of "$WORK"/sv_scalar*.json >"$WORK/sv_scalar.json"
best_of "$WORK"/np*.json >"$WORK/np.json"

"$PY" - "$WORK/sv_simd.json" "$WORK/sv_scalar.json" "$WORK/np.json" >"$WORK/table.md" <<'PY'
import json, sys
sv, sc, npy = (json.load(open(f)) for f in sys.argv[1:4])
assert sv["status"] == "solved" and sc["status"] == "solved"
same = sv["choice"] == npy["choice"] == sc["choice"] and sv["objective"] == npy["objective"]
n = npy["groups"]
print("| run | ms per group | total s | speed-up over numpy | objective | total cost |")
print("|---|---|---|---|---|---|")
for name, r in (("solvd (AVX2 tiles)", sv), ("solvd (simd false)", sc), ("numpy", npy)):
    obj = r["objective"]
    cost = r["total_cost"]
    print(f"| {name} | {1e3 * r['seconds'] / n:.3f} | {r['seconds']:.3f} | "
          f"{npy['seconds'] / r['seconds']:.1f}x | {obj:.9f} | {cost:.0f} |")
print()
print(f"Same choice and objective in all three: {'yes' if same else 'NO'}.")
PY
{
    printf '## allocation.mck: the budget DP against numpy\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/mck.sh` at commit %s on %s; load average %s. 200 groups of 20 options (costs uniform in 1..1000 plus a cost-0 option), budget 100000 (B'"'"' = 100000: 2.0e7 table cells, about 4e8 cell updates); solvd through its HTTP API (solve_time_s), numpy the same recursion vectorised over the budget per option (bench/mck_numpy.py). Fastest of %s runs each. An iteration is one group.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$REPEAT"
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN mck -->' '<!-- END mck -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
