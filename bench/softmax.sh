#!/usr/bin/env bash
# softmax.sh - two-pass against three-pass softmax throughput (bench/softmax/bench.c: both
# vectorized on the same layer, on the path the CPU allows and on its AVX2 path, next to this
# machine's read and copy bandwidth at each n). Writes its tables into bench/RESULTS.md between
# <!-- BEGIN softmax --> and <!-- END softmax -->, touching nothing else there.
# Usage: bench/softmax.sh [n ...]   (default 1e3 1e4 1e5 1e6 1e7 3e7 134217728 = 2^27)
# Environment: SOFTMAX_BUILD_DIR (a Release build whose libsolvd_core.a is linked; default
# <repo>/build-bench-softmax), SOFTMAX_RESULTS (default <repo>/bench/RESULTS.md).
# Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SOFTMAX_BUILD_DIR:-$REPO/build-bench-softmax}
RESULTS=${SOFTMAX_RESULTS:-$REPO/bench/RESULTS.md}
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(1e3 1e4 1e5 1e6 1e7 3e7 134217728)
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/softmax_bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
say() { printf 'softmax: %s\n' "$*" >&2; }

[[ -f $BUILD/CMakeCache.txt ]] ||
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSOLVD_TESTS=OFF >/dev/null
say "building libsolvd_core.a in $BUILD"
cmake --build "$BUILD" -j2 --target solvd_core >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; exit 1; }
# shellcheck disable=SC2046
gcc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -I"$REPO" "$REPO/bench/softmax/bench.c" \
    "$BUILD/libsolvd_core.a" $(pkg-config --libs lapacke openblas zlib) -lm -o "$WORK/softmax_bench"
LIB_FLAGS=$(sed -n 's/^CMAKE_C_FLAGS_RELEASE:STRING=//p' "$BUILD/CMakeCache.txt")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "n = ${SIZES[*]}"
"$WORK/softmax_bench" "${SIZES[@]}" >"$WORK/lib.tsv"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
python3 "$REPO/bench/softmax/report.py" --lib "$WORK/lib.tsv" --flags-lib "C flags $LIB_FLAGS" \
    --compiler "$(gcc --version | head -1)" --load "$LOAD_BEFORE" --load-after "$LOAD_AFTER" \
    --commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --out "$WORK/section.md"
replace_section '<!-- BEGIN softmax -->' '<!-- END softmax -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
