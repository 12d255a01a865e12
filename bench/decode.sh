#!/usr/bin/env bash
# decode.sh - large job bodies: decoding in process (bench/decode.c: jansson against
# api/json_parse.c, and parse + validation) and end to end (POST /v1/jobs to its 201 through a
# Release solvd with its SQLite store, durable commit included), for a 20 MB dense least-squares
# body (distributed.ef21, one client, A 12500 x 100) printed two ways: by Python's json (shortest
# round-trip, up to 17 digits) and with 12 decimals. Writes its tables into bench/RESULTS.md
# between <!-- BEGIN decode --> and <!-- END decode -->, touching nothing else there.
# Environment: DECODE_BUILD_DIR (a Release build; default <repo>/build-bench-decode),
# DECODE_RESULTS (default <repo>/bench/RESULTS.md), DECODE_REPS (5).
# Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${DECODE_BUILD_DIR:-$REPO/build-bench-decode}
RESULTS=${DECODE_RESULTS:-$REPO/bench/RESULTS.md}
REPS=${DECODE_REPS:-5}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/decode_bench.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
say() { printf 'decode: %s\n' "$*" >&2; }

[[ -f $BUILD/CMakeCache.txt ]] ||
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSOLVD_TESTS=OFF >/dev/null
say "building solvd in $BUILD"
cmake --build "$BUILD" -j2 --target solvd >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; exit 1; }
# shellcheck disable=SC2046
gcc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -I"$REPO" "$REPO/bench/decode.c" \
    "$BUILD/libsolvd_api.a" "$BUILD/libsolvd_core.a" \
    $(pkg-config --libs jansson lapacke openblas zlib glpk 2>/dev/null || echo -ljansson -llapacke -lopenblas -lz -lglpk) \
    -lm -o "$WORK/decode"

python3 - "$WORK" <<'PY'
import json, random, sys
random.seed(5)
n, d = 12500, 100
A = [[random.gauss(0, 1) for _ in range(d)] for _ in range(n)]
b = [random.gauss(0, 1) for _ in range(n)]
def body(A, b):
    return {"solver": "distributed.ef21", "problem": {"clients": [{"A": A, "b": b}]},
            "params": {"max_iter": 1}}
open(sys.argv[1] + "/repr.json", "w").write(json.dumps(body(A, b), separators=(",", ":")))
A12 = [[round(v, 12) for v in row] for row in A]
open(sys.argv[1] + "/fixed12.json", "w").write(
    json.dumps(body(A12, [round(v, 12) for v in b]), separators=(",", ":")))
PY

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
{
    printf '| body | stage | MB | best (s) | median (s) | MB/s (best) |\n|---|---|--:|--:|--:|--:|\n'
    for f in repr fixed12; do
        say "in process: $f"
        "$WORK/decode" "$WORK/$f.json" "$REPS" | sed "s/^| /| $f | /"
    done
} >"$WORK/inproc.md"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/solvd" --listen "127.0.0.1:$PORT" --db "$WORK/bench.db" --workers 1 \
    --max-body-bytes 134217728 2>"$WORK/solvd.log" &
PID=$!
for _ in $(seq 50); do grep -q 'solvd ready' "$WORK/solvd.log" && break; sleep 0.1; done
{
    printf '| body | MB | POST to 201, best (s) | median (s) | MB/s (best) |\n|---|--:|--:|--:|--:|\n'
    for f in repr fixed12; do
        say "POST: $f"
        ts=()
        for ((i = 0; i < REPS; i++)); do
            ts+=("$(curl -s -o /dev/null -w '%{http_code} %{time_total}' \
                -H 'Content-Type: application/json' --data-binary "@$WORK/$f.json" \
                "http://127.0.0.1:$PORT/v1/jobs")")
            sleep 1 # let the job run and its writes settle before the next POST
        done
        printf '%s\n' "${ts[@]}" | python3 -c '
import sys
name, size = sys.argv[1], int(sys.argv[2])
rows = [l.split() for l in sys.stdin if l.strip()]
bad = [r for r in rows if r[0] != "201"]
if bad: sys.exit("decode: POST answered %s" % bad[0][0])
t = sorted(float(r[1]) for r in rows)
print("| %s | %.2f | %.3f | %.3f | %.0f |" % (name, size / 1e6, t[0], t[len(t) // 2], size / 1e6 / t[0]))
' "$f" "$(stat -c %s "$WORK/$f.json")"
    done
} >"$WORK/post.md"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
{
    printf '## Large job bodies: decoding and acceptance (issue 10, target 3)\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/decode.sh` at commit %s on %s; load average %s before, %s after; %s.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$LOAD_BEFORE" "$LOAD_AFTER" "$(gcc --version | head -1)"
    cat <<'TXT'
Bodies: one distributed.ef21 client with a dense 12500 x 100 matrix and its 12500-vector
(1.26 million numbers), printed by Python's json.dumps (`repr`: shortest round-trip digits, 16-17
significant) and rounded to 12 decimals (`fixed12`). In process: the best and median of the
runs, each stage on the whole body (`sv_submit_parse` is what the intake thread does before the
store: parse, envelope checks, the solver's validation of the problem). End to end: curl's
time_total for POST /v1/jobs on loopback, from the first byte sent to the 201, which comes after
the job row and its request are committed to the SQLite store (synchronous=FULL); one worker, the
jobs (max_iter 1) run between the POSTs.

TXT
    cat "$WORK/inproc.md"
    printf '\n'
    cat "$WORK/post.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN decode -->' '<!-- END decode -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
