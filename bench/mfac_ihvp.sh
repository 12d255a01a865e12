#!/usr/bin/env bash
# mfac_ihvp.sh - secondorder.mfac benchmark: M-FAC inverse-Hessian-vector product time against d
# and m (bench/mfac_ihvp.c), against the paper's O(d m) IHVP, O(d m^2) static setup and
# O(d m + m^3) window change. Writes its tables into bench/RESULTS.md between the markers
# <!-- BEGIN mfac --> and <!-- END mfac --> (appended when absent), touching nothing else there;
# a failed run leaves the file alone.
#
# Usage: bench/mfac_ihvp.sh [--quick]    (--quick: d * m <= 2e6, a smoke test of about 10 s)
# Environment: MFAC_BUILD_DIR (default <repo>/build-bench-mfac: a Release build whose
#              libsolvd_core.a is linked; bench/run.sh passes its own), MFAC_RESULTS (default
#              <repo>/bench/RESULTS.md), MFAC_MAX_ENTRIES (largest d * m, default 33554432),
#              MFAC_BUDGET_S (bound on the measuring run, default 400).
# Timing is reported, never asserted; the exit status is non-zero only when something failed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MFAC_BUILD_DIR:-$REPO/build-bench-mfac}
RESULTS=${MFAC_RESULTS:-$REPO/bench/RESULTS.md}
MAX=${MFAC_MAX_ENTRIES:-33554432}
BUDGET=${MFAC_BUDGET_S:-400}
[[ ${1:-} == --quick ]] && MAX=2000000

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mfac_bench.XXXXXX")
CHILD=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
        kill -TERM "$CHILD" 2>/dev/null || true
        sleep 0.5
        kill -KILL "$CHILD" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf 'mfac_ihvp: %s\n' "$*" >&2; }

# A step in the background, so that a signal reaches the trap at once.
run_bg() {
    "$@" &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# An existing build directory (bench/run.sh's) is built as it is configured, never reconfigured.
CONFIGURE="cmake -S '$REPO' -B '$BUILD' -DCMAKE_BUILD_TYPE=Release -DSOLVD_TESTS=OFF >/dev/null"
[[ -f $BUILD/CMakeCache.txt ]] && CONFIGURE=true
say "building libsolvd_core.a in $BUILD"
if ! run_bg bash -c "$CONFIGURE && cmake --build '$BUILD' -j2 --target solvd_core \
        >'$WORK/build.log' 2>&1"; then
    tail -20 "$WORK/build.log" >&2 || true
    say "build failed"
    exit 1
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt"; then
    say "warning: $BUILD is not a Release build; the timings will say little"
fi
LIBS=$(pkg-config --libs lapacke openblas zlib)
CFLAGS="-std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L"
# shellcheck disable=SC2086
gcc $CFLAGS -I"$REPO" "$REPO/bench/mfac_ihvp.c" "$BUILD/libsolvd_core.a" $LIBS -lm \
    -o "$WORK/mfac_ihvp"

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
say "measuring, d * m <= $MAX (at most ${BUDGET} s)"
if ! run_bg timeout "$BUDGET" "$WORK/mfac_ihvp" "$MAX" >"$WORK/tables.md"; then
    say "the measuring run failed or ran out of time; $RESULTS left as it was"
    cat "$WORK/tables.md" >&2 || true
    exit 1
fi

{
    printf '## secondorder.mfac: IHVP time against d and m\n\n'
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf 'Written by `bench/mfac_ihvp.sh` at commit %s on %s (load average before the run: %s),' \
        "$COMMIT" "$(date -u +%Y-%m-%dT%H:%MZ)" "$LOAD"
    printf ' BLAS on one thread, %s. Timings on a shared machine: compare within a table.\n\n' \
        "$(gcc --version | head -1)"
    cat <<'EOF'
The paper (Frantar, Kurtic, Alistarh, NeurIPS 2021) claims O(d m^2) setup and O(d m) per IHVP
for the static algorithm, O(m) per inverse entry, and O(d m + m^2) per IHVP and O(d m + m^3) per
gradient added or removed for the sliding window (`core/kernels/mfac.c`). If those hold, the columns
"IHVP ns/(d m)" and "window ns/(d m + m^2)" stay roughly constant down the table (they drift
up once the m x d gradient store leaves the caches: the IHVP reads it twice from memory), the
static setup grows by about 16x per 4x in m, and the window replacement turns from O(d m) to
m^3 dominated as m grows. "static vs window" is the relative difference of the two engines'
IHVPs of the same vector (both exact up to rounding). `[F^-1]_jj` is one diagonal entry of the
inverse by the static algorithm's O(m) query (a strided walk down the stored vectors).

EOF
    cat "$WORK/tables.md"
} >"$WORK/section.md"

# Replace (or append) the delimited section only.
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
replace_section '<!-- BEGIN mfac -->' '<!-- END mfac -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
