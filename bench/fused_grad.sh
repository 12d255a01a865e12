#!/usr/bin/env bash
# fused_grad.sh - one pass over the data per gradient: bench/fused_grad.c (two whole
# matrix-vector products against core/linalg.h's fused row-block pass, least-squares gradient,
# dense A up to FUSED_MAX_MB, next to the triad bandwidth). Writes its table into bench/RESULTS.md
# between <!-- BEGIN fused --> and <!-- END fused -->, touching nothing else there.
# Environment: FUSED_BUILD_DIR (a Release build whose libsolvd_core.a is linked; default
# <repo>/build-bench-fused), FUSED_RESULTS (default <repo>/bench/RESULTS.md), FUSED_MAX_MB (256).
# Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${FUSED_BUILD_DIR:-$REPO/build-bench-fused}
RESULTS=${FUSED_RESULTS:-$REPO/bench/RESULTS.md}
MAX=${FUSED_MAX_MB:-256}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fused_bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
say() { printf 'fused_grad: %s\n' "$*" >&2; }

[[ -f $BUILD/CMakeCache.txt ]] ||
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSOLVD_TESTS=OFF >/dev/null
say "building libsolvd_core.a in $BUILD"
cmake --build "$BUILD" -j2 --target solvd_core >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; exit 1; }
# shellcheck disable=SC2046
gcc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -I"$REPO" "$REPO/bench/fused_grad.c" \
    "$BUILD/libsolvd_core.a" $(pkg-config --libs lapacke openblas zlib) -lm -o "$WORK/fused_grad"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"$WORK/fused_grad" "$MAX" >"$WORK/table.md"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
{
    printf '## One pass over the data per gradient (least squares, dense A)\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/fused_grad.sh` at commit %s on %s; load average %s before, %s after;' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$LOAD_BEFORE" "$LOAD_AFTER"
    printf ' OpenBLAS on one thread (OPENBLAS_CORETYPE=%s), %s.\n\n' "${OPENBLAS_CORETYPE:-unset}" \
        "$(gcc --version | head -1)"
    cat <<'TXT'
"two calls" is `sv_mat_gemv` (A x), the residual, then `sv_mat_gemv^T` (A^T r): A is read
twice. "fused" is `sv_mat_fused_gemv` (core/linalg.h), which every full-data gradient of
`core/models/glm.c` (EF21, Lion, M-FAC, the bilevel lower levels built on it) now uses: each
block of about 192 KiB of rows gets its A x and its A^T r while it is in cache, so A is read once.
"GB/s of A" counts the bytes of A each variant reads (2 |A| and |A|) per second. The best of 3
runs of 10 (out of cache) or 200 (in cache) gradients.

TXT
    cat "$WORK/table.md"
} >"$WORK/section.md"
replace_section '<!-- BEGIN fused -->' '<!-- END fused -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
