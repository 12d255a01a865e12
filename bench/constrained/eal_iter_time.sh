#!/usr/bin/env bash
# eal_iter_time.sh - constrained.eal_sketch's time per iteration at n = 500, 1000, 2000 before and
# after the reduced-Hessian check became an inertia test (one LDL' of the KKT matrix instead of
# dense eigendecompositions of G'G and Z'HZ): bench/constrained/eal_iter_time.c compiled against
# the libsolvd_core.a of the commit before (EAL_BASE_COMMIT, default 2aed2d4) and of this tree,
# both Release builds, one BLAS thread, the best of 3 runs of 3 iterations each; and this tree with
# "modify_hessian": false (no check at all), the floor under both. Writes its table into
# bench/RESULTS.md between <!-- BEGIN eal_sketch --> and <!-- END eal_sketch --> (section.sh),
# with scipy trust-constr on the Hock-Schittkowski set (hs_trust_constr.py) when /usr/bin/python3
# has scipy. Environment: EAL_BUILD_DIR (default <repo>/build-bench-eal), EAL_BASE_COMMIT,
# EAL_RESULTS (default <repo>/bench/RESULTS.md), EAL_SIZES ("500 1000 2000").
# Timing is reported, never asserted.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${EAL_BUILD_DIR:-$REPO/build-bench-eal}
BASE_COMMIT=${EAL_BASE_COMMIT:-2aed2d4}
RESULTS=${EAL_RESULTS:-$REPO/bench/RESULTS.md}
SIZES=${EAL_SIZES:-500 1000 2000}
# shellcheck source=bench/lib/section.sh
. "$REPO/bench/lib/section.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/eal_bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
say() { printf 'eal_iter_time: %s\n' "$*" >&2; }
export OPENBLAS_NUM_THREADS=1

build_core() {  # build_core SRC_DIR BUILD_DIR
    [[ -f $2/CMakeCache.txt ]] ||
        cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DSOLVD_TESTS=OFF >"$WORK/cfg.log" 2>&1
    cmake --build "$2" -j2 --target solvd_core >"$WORK/build.log" 2>&1 ||
        { tail -20 "$WORK/build.log"; exit 1; }
}
link() {  # link SRC_DIR BUILD_DIR OUT
    # shellcheck disable=SC2046
    gcc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -I"$1" \
        "$REPO/bench/constrained/eal_iter_time.c" "$2/libsolvd_core.a" \
        $(pkg-config --libs lapacke openblas zlib) -lm -o "$3"
}
say "building this tree in $BUILD"
build_core "$REPO" "$BUILD"
link "$REPO" "$BUILD" "$WORK/after"
say "building $BASE_COMMIT in $WORK/base"
mkdir -p "$WORK/base"
git -C "$REPO" archive "$BASE_COMMIT" | tar -x -C "$WORK/base"
build_core "$WORK/base" "$WORK/base/build"
link "$WORK/base" "$WORK/base/build" "$WORK/before"

best() {  # best BIN N MODIFY: the least seconds per iteration of 3 runs
    local b="" t
    for _ in 1 2 3; do
        t=$("$1" "$2" "$3" 3 | awk '{print $4}')
        if [[ -z $b ]] || awk -v a="$t" -v b="$b" 'BEGIN{exit !(a < b)}'; then b=$t; fi
    done
    printf '%s' "$b"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
{
    printf '| n (= d) | N = n + m | before: eigendecompositions, s/iteration | after: LDL'"'"' inertia, s/iteration | speed-up | no check (`modify_hessian: false`), s/iteration |\n'
    printf '|--:|--:|--:|--:|--:|--:|\n'
    for n in $SIZES; do
        say "n = $n"
        b=$(best "$WORK/before" "$n" 1)
        a=$(best "$WORK/after" "$n" 1)
        z=$(best "$WORK/after" "$n" 0)
        awk -v n="$n" -v b="$b" -v a="$a" -v z="$z" \
            'BEGIN{printf "| %d | %d | %.3f | %.3f | %.1fx | %.3f |\n", n, n + 11, b, a, b / a, z}'
    done
} >"$WORK/table.md"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
PY=/usr/bin/python3
HS=""
if "$PY" -c 'import scipy' 2>/dev/null; then
    "$PY" "$REPO/bench/constrained/hs_trust_constr.py" "$REPO/tests/data/hs" >"$WORK/hs.md"
    HS=$("$PY" -c 'import scipy, numpy; print("scipy %s, numpy %s" % (scipy.__version__, numpy.__version__))')
fi
{
    printf '## constrained.eal_sketch: time per iteration, eigendecomposition against LDL'"'"' inertia\n\n'
    # shellcheck disable=SC2016
    printf 'Written by `bench/constrained/eal_iter_time.sh` at commit %s (before: %s) on %s; load average %s before, %s after; OpenBLAS on one thread (OPENBLAS_CORETYPE=%s), Release builds, %s.\n\n' \
        "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$BASE_COMMIT" \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$LOAD_BEFORE" "$LOAD_AFTER" "${OPENBLAS_CORETYPE:-unset}" \
        "$(gcc --version | head -1)"
    cat <<'TXT'
A generated constrained logistic regression with d = n variables, 200 samples, ridge 1e-3, 10
linear equalities and |x|^2 = 1 (m = 11), from x_0 = 1/sqrt(n), l_0 = 0, 3 iterations with
`max_sketch_iter` 2000 (block sketch of 32, LU fallback when a capped run gives no descent), the
best of 3 runs. "before" checks the reduced Hessian by a dense eigendecomposition of G'G (n x n,
with vectors) and of Z'HZ ((n-m) x (n-m)); "after" by the inertia of [H - 1e-6 I, G'; G, 0]
from one Bunch-Kaufman factorization (dsytrf, (n+m)^3/3 flops). The rest of an iteration (the
Hessian, the sketch, the LU fallback) is the "no check" column.

TXT
    cat "$WORK/table.md"
    if [[ -n $HS ]]; then
        printf '\n### scipy trust-constr on the Hock-Schittkowski set (%s)\n\n' "$HS"
        printf 'Exact first derivatives (complex step), its quasi-Newton Hessian, gtol 1e-10, at most 1000 iterations (`bench/constrained/hs_trust_constr.py`); solvd'"'"'s results on the same problems are in docs/solvers/constrained/eal_sketch.md.\n\n'
        cat "$WORK/hs.md"
    fi
} >"$WORK/section.md"
replace_section '<!-- BEGIN eal_sketch -->' '<!-- END eal_sketch -->' "$WORK/section.md" "$RESULTS"
say "section written to $RESULTS"
