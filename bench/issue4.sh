#!/usr/bin/env bash
# issue4.sh - the benchmark of issue 4: constrained.eal_sketch (through the daemon) against
# scipy's SLSQP and trust-constr (bench/constrained/run.py). (Its softmax part is now
# bench/softmax.sh, with its own section.) Writes its tables into bench/RESULTS.md between
# the markers <!-- BEGIN issue4 --> and <!-- END issue4 --> (added at the end of the file when
# absent) and touches nothing else there; a run in which a part failed leaves the file alone.
#
# Usage: bench/issue4.sh [--quick]      (--quick: a few problems and sizes, for a smoke test)
# Environment: ISSUE4_BUILD_DIR (default <repo>/build-bench4: a Release build of solvd),
#              ISSUE4_RESULTS (default <repo>/bench/RESULTS.md), PYTHON (a python3 with numpy
#              and scipy; default /usr/bin/python3 when it has them: `deploy/deps.sh bench`).
# Timing is reported, never asserted: the exit status is non-zero only when something failed to
# run. The whole run is bounded (ISSUE4_BUDGET_S, default 570 s); temporary files and the daemon
# are cleaned up on every exit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ISSUE4_BUILD_DIR:-$REPO/build-bench4}
RESULTS=${ISSUE4_RESULTS:-$REPO/bench/RESULTS.md}
BUDGET=${ISSUE4_BUDGET_S:-570}
QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/issue4.XXXXXX")
CHILD=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$? i
    # The running step first: timeout passes the TERM on, and run.py stops its daemon on it.
    if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
        kill -TERM "$CHILD" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$CHILD" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$CHILD" 2>/dev/null || true
    fi
    # The daemon, if run.py could not stop it.
    if [[ -f $WORK/solvd.pid ]]; then
        local pid
        pid=$(cat "$WORK/solvd.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            sleep 1
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf 'issue4: %s\n' "$*" >&2; }

# Runs a step in the background and waits for it, so that a signal reaches the trap at once
# (bash defers traps while a foreground child runs) and cleanup can stop the step.
run_bg() {
    "$@" &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# Seconds left of the budget, capped at $1.
left() {
    local rest=$((BUDGET - SECONDS))
    ((rest < 1)) && rest=1
    ((rest > $1)) && rest=$1
    echo "$rest"
}

FAILED=()

# ---- build: solvd and libsolvd_core.a (Release), then the two small programs
say "building solvd (Release) in $BUILD"
if ! run_bg timeout "$(left 300)" bash -c "cmake -S '$REPO' -B '$BUILD' -DCMAKE_BUILD_TYPE=Release \
        -DSOLVD_TESTS=OFF >/dev/null && cmake --build '$BUILD' -j2 --target solvd solvd_core \
        >'$WORK/build.log' 2>&1"; then
    tail -20 "$WORK/build.log" >&2 || true
    say "build failed"
    exit 1
fi
mkdir -p "$BUILD/bench4"
LIBS=$(pkg-config --libs lapacke openblas zlib)
CFLAGS_LIB="-std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L"
# shellcheck disable=SC2086
gcc $CFLAGS_LIB -I"$REPO" "$REPO/bench/constrained/dump_logistic_eq.c" "$BUILD/libsolvd_core.a" \
    $LIBS -lm -o "$BUILD/bench4/dump_logistic_eq"

# ---- python with numpy and scipy
PY=${PYTHON:-}
if [[ -z $PY ]]; then
    for cand in /usr/bin/python3 python3; do
        if "$cand" -c 'import numpy, scipy' 2>/dev/null; then PY=$cand; break; fi
    done
fi
if [[ -z $PY ]] || ! "$PY" -c 'import numpy, scipy' 2>/dev/null; then
    say "no python3 with numpy and scipy (run deploy/deps.sh bench)"
    exit 1
fi

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)

# ---- 1. constrained
say "constrained: eal_sketch vs SLSQP / trust-constr"
QARG=()
((QUICK)) && QARG=(--quick)
if run_bg timeout "$(left 300)" "$PY" "$REPO/bench/constrained/run.py" --solvd "$BUILD/solvd" \
        --dump "$BUILD/bench4/dump_logistic_eq" --hs-dir "$REPO/tests/data/hs" \
        --out "$WORK/constrained.md" --json "$BUILD/bench4/constrained.json" \
        --workdir "$WORK" --reps 5 --commit "$COMMIT" "${QARG[@]}"; then
    :
else
    say "constrained benchmark failed (status $?)"
    FAILED+=(constrained)
    printf '### constrained.eal_sketch vs scipy\n\nDid not complete in this run.\n' \
        >"$WORK/constrained.md"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- RESULTS.md: replace (or append) the delimited section only
{
    printf '## Issue 4: constrained benchmark\n\n'
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf 'Written by `bench/issue4.sh` at commit %s on %s ' "$COMMIT" \
        "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf '(load average before / after: %s / %s).' "$LOAD" "$LOAD_AFTER"
    printf ' Timings on a shared 2-core machine: compare within a table, not across runs.\n'
    ((QUICK)) && printf '\n**Smoke run (--quick): partial problem set and sizes.**\n'
    ((${#FAILED[@]})) && printf '\n**Parts that failed in this run: %s.**\n' "${FAILED[*]}"
    printf '\n'
    cat "$WORK/constrained.md"
} >"$WORK/section.md"
# A failed part leaves the section of the last complete run in place.
if ((${#FAILED[@]})); then
    cp "$WORK/section.md" "$BUILD/bench4/issue4-partial.md"
    say "failed: ${FAILED[*]}; $RESULTS left as it was, partial tables in" \
        "$BUILD/bench4/issue4-partial.md"
    exit 1
fi
"$PY" - "$RESULTS" "$WORK/section.md" <<'EOF'
import os, sys
path, section = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
begin, end = "<!-- BEGIN issue4 -->", "<!-- END issue4 -->"
text = open(path).read() if os.path.exists(path) else ""
block = begin + "\n" + section + "\n" + end
i, j = text.find(begin), text.find(end)
if i >= 0 and j > i:
    text = text[:i] + block + text[j + len(end):]
else:
    text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + block + "\n"
tmp = path + ".issue4.tmp"
with open(tmp, "w") as fh:
    fh.write(text)
os.replace(tmp, path)
EOF
say "section written to $RESULTS"
exit 0
