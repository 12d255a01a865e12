#!/usr/bin/env bash
# bench/run.sh - solvd's benchmark, in one run (DESIGN.md: results are written as tables, never
# asserted). It builds a Release solvd in its own build directory, then measures
#   (a) GET /v1/jobs/ID requests/s and latency with wrk at 64 connections, solvd versus nginx
#       (1 worker and `auto` workers) serving the same job JSON as a static file;
#   (b) durable submissions/s: wrk (Lua script bench/wrk_stats.lua) POSTing a tiny valid EF21 job
#       from 1, 16 and 64 connections, counting the 201s;
#   (c) EF21 time to a gradient-norm tolerance: solvd versus bench/ef21_numpy.py on the same
#       explicit instances (bench/make_instance.py), at a few dimensions;
# writes bench/RESULTS.md (bench/report.py) and prints it. Exits non-zero only when something
# failed to run. All traffic stays on 127.0.0.1; every wait is bounded; solvd, nginx and the
# temporary directory are removed on any exit.
#
# Knobs (environment): BENCH_BUILD (build dir, default build-bench), BENCH_DURATION (seconds per
# wrk run, default 10), BENCH_SIZES (dimensions for (c), default "100 300 1000"), BENCH_REPEAT
# (runs per side and size in (c), default 3), BENCH_OUT (report path, default bench/RESULTS.md;
# this part replaces only its <!-- BEGIN platform --> section), BENCH_PLATFORM_ONLY=1 (stop after
# this part, skipping the other benchmarks run below).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
DURATION=${BENCH_DURATION:-10}
SIZES=${BENCH_SIZES:-100 300 1000}
REPEAT=${BENCH_REPEAT:-3}
OUT=${BENCH_OUT:-$ROOT/bench/RESULTS.md}
CLIENTS=10      # (c): simulated EF21 clients
ROWS=100        # (c): rows per client
LAMBDA=1        # (c): ridge term (strong convexity 1)
HET=0.5         # (c): client scales 10^(h i/(n-1)): L_i spread over about one order
TOL=1e-6        # (c): stop at |grad f| <= TOL

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- clean-up, on every exit ----
TMP=""
SOLVD_PID=""
NGINX_PID=""
CHILD_PID=""

stop_pid() {  # stop_pid PID SECONDS: TERM, wait (bounded), then KILL; children first for nginx
    local pid=$1 secs=$2 i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        local kids
        kids=$(pgrep -P "$pid" || true)
        # shellcheck disable=SC2086  # one PID a word
        [ -z "$kids" ] || kill -KILL $kids 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    stop_pid "$CHILD_PID" 2
    CHILD_PID=""
    stop_pid "$NGINX_PID" 5
    NGINX_PID=""
    stop_pid "$SOLVD_PID" 15
    SOLVD_PID=""
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "error: line $LINENO: $BASH_COMMAND failed"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a long command in the background and waits for it, so that a signal is handled at once
# (bash defers traps until a foreground child ends) and cleanup can stop the command.
run_child() {
    "$@" &
    CHILD_PID=$!
    local rc=0
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

# ---- tools ----
for tool in cmake wrk nginx curl timeout; do
    command -v "$tool" >/dev/null || die "$tool not found (run ./deploy/deps.sh bench)"
done
PY=""
for cand in /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import numpy' 2>/dev/null; then
        PY=$(command -v "$cand")
        break
    fi
done
[ -n "$PY" ] || die "no python3 with numpy (run ./deploy/deps.sh bench)"
NGINX=$(command -v nginx)

# The store must sit on a real disk: on tmpfs an fsync costs nothing. /var/tmp is disk-backed on
# Debian (unlike /tmp on some systems).
TMP=$(mktemp -d /var/tmp/solvd-bench.XXXXXX)
chmod 711 "$TMP"  # nginx workers (user nobody when run as root) must reach www/
RES=$TMP/out
mkdir -p "$RES"

# ---- build ----
log "building Release solvd in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || die "cmake configure failed"
run_child cmake --build "$BUILD" -j2 --target solvd >"$TMP/build.log" 2>&1 || {
    tail -30 "$TMP/build.log" >&2
    die "build failed"
}
SOLVD=$BUILD/solvd

# ---- helpers ----
start_solvd() {  # start_solvd NAME: a fresh store in $TMP; sets SOLVD_PID and PORT
    local name=$1 i
    rm -f "$TMP/$name.db" "$TMP/$name.db-wal" "$TMP/$name.db-shm"
    : >"$TMP/$name.log"  # exists before the background child opens it for its stderr
    "$SOLVD" --listen 127.0.0.1:0 --db "$TMP/$name.db" 2>"$TMP/$name.log" &
    SOLVD_PID=$!
    PORT=""
    for ((i = 0; i < 100; i++)); do
        PORT=$(sed -n 's/.*msg="listening".* port=\([0-9]*\).*/\1/p' "$TMP/$name.log" | head -1 || true)
        [ -n "$PORT" ] && break
        kill -0 "$SOLVD_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$PORT" ] || { cat "$TMP/$name.log" >&2; die "solvd did not start"; }
    for ((i = 0; i < 100; i++)); do
        curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" && return 0
        sleep 0.1
    done
    die "solvd on port $PORT does not answer /healthz"
}

metric() {  # metric FILE NAME: one value from a Prometheus text dump
    awk -v n="$2" '$1 == n { print $2; exit }' "$1"
}

wait_idle() {  # wait (at most 120 s) until no job is queued or running
    local i q r
    for ((i = 0; i < 1200; i++)); do
        curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$TMP/idle.prom" || die "metrics failed"
        q=$(metric "$TMP/idle.prom" solvd_jobs_queued)
        r=$(metric "$TMP/idle.prom" solvd_jobs_running)
        [ "${q:-1}" = 0 ] && [ "${r:-1}" = 0 ] && return 0
        sleep 0.1
    done
    die "solvd still busy after 120 s"
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_wrk() {  # run_wrk OUTFILE THREADS CONNS URL [BODYFILE]
    local out=$1 t=$2 c=$3 url=$4
    shift 4
    local extra=()
    [ $# -gt 0 ] && extra=(-- "$1")
    run_child timeout $((DURATION + 60)) wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 10s --latency \
        -s "$ROOT/bench/wrk_stats.lua" "$url" "${extra[@]}" >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk against $url failed"
    }
    grep -q '^WRKJSON ' "$out" || { cat "$out" >&2; die "wrk printed no summary"; }
}

uptime >"$RES/load_before.txt"
date -u +%Y-%m-%dT%H:%M:%SZ >"$RES/date.txt"

# ================= (a) GET /v1/jobs/ID: solvd versus nginx =================
log "(a) GET /v1/jobs/ID, solvd versus nginx, ${DURATION}s per run"
start_solvd a
TINY='{"solver":"distributed.ef21","problem":{"clients":[{"A":[[1,2],[3,4],[5,7]],"b":[1,2,3]},{"A":[[2,0],[1,1]],"b":[4,-1]}],"lambda":0.1},"params":{"k":1,"max_iter":1}}'
printf '%s' "$TINY" >"$RES/tiny_job.json"
JOB_ID=$(curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' \
    --data-binary @"$RES/tiny_job.json" "http://127.0.0.1:$PORT/v1/jobs" |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])') || die "submitting the tiny job failed"
wait_idle
mkdir -p "$TMP/www"
chmod 755 "$TMP/www"
curl -sf --max-time 10 -o "$TMP/www/job.json" "http://127.0.0.1:$PORT/v1/jobs/$JOB_ID" || die "GET job failed"
chmod 644 "$TMP/www/job.json"
cp "$TMP/www/job.json" "$RES/a_body.json"
"$PY" -c 'import json, sys; assert json.load(open(sys.argv[1]))["status"] == "succeeded"' \
    "$RES/a_body.json" || die "the tiny job did not succeed"

run_wrk "$RES/a_solvd.txt" 2 64 "http://127.0.0.1:$PORT/v1/jobs/$JOB_ID"
stop_pid "$SOLVD_PID" 15
SOLVD_PID=""

for workers in 1 auto; do
    NG=$TMP/nginx-$workers
    mkdir -p "$NG/logs" "$NG/tmp"
    started=""
    for _ in 1 2 3; do  # a free port can be taken between the probe and nginx's bind
        NPORT=$(free_port)
        cat >"$NG/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $workers;
pid $NG/nginx.pid;
error_log $NG/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    types { application/json json; }
    default_type application/json;
    server {
        listen 127.0.0.1:$NPORT;
        root $TMP/www;
        location / { }
    }
}
EOF
        "$NGINX" -p "$NG/" -c "$NG/nginx.conf" -e "$NG/logs/error.log" 2>>"$NG/logs/stderr.log" &
        NGINX_PID=$!
        for ((i = 0; i < 50; i++)); do
            if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$NPORT/job.json"; then
                started=1
                break
            fi
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        [ -n "$started" ] && break
        stop_pid "$NGINX_PID" 5
        NGINX_PID=""
    done
    [ -n "$started" ] || { cat "$NG/logs/"* >&2 || true; die "nginx did not start"; }
    cmp -s "$TMP/www/job.json" <(curl -sf --max-time 5 "http://127.0.0.1:$NPORT/job.json") ||
        die "nginx serves other bytes than the job JSON"
    ps -o pid= --ppid "$NGINX_PID" | wc -l >"$RES/a_nginx_$workers.workers"
    run_wrk "$RES/a_nginx_$workers.txt" 2 64 "http://127.0.0.1:$NPORT/job.json"
    stop_pid "$NGINX_PID" 5
    NGINX_PID=""
done

# ================= (b) durable submissions per second =================
log "(b) durable submissions, ${DURATION}s per concurrency"
start_solvd b
curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$RES/b_workers.prom" || die "metrics failed"
for conns in 1 16 64; do
    threads=2
    [ "$conns" -lt 2 ] && threads=1
    wait_idle
    curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$RES/b_c$conns.before.prom"
    run_wrk "$RES/b_c$conns.txt" "$threads" "$conns" "http://127.0.0.1:$PORT/v1/jobs" "$RES/tiny_job.json"
    curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$RES/b_c$conns.after.prom"
    wait_idle
    curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$RES/b_c$conns.idle.prom"
done
stop_pid "$SOLVD_PID" 15
SOLVD_PID=""

# ================= (c) EF21: solvd versus numpy =================
log "(c) EF21 to |grad f| <= $TOL, sizes: $SIZES, $REPEAT runs each"
start_solvd c
for d in $SIZES; do
    k=$((d / 10))
    [ "$k" -ge 1 ] || k=1
    job=$RES/c_d$d.job.json
    "$PY" "$ROOT/bench/make_instance.py" --dim "$d" --clients "$CLIENTS" --rows "$ROWS" --k "$k" \
        --tol "$TOL" --lambda "$LAMBDA" --het "$HET" --seed 1 >"$job" || die "make_instance failed"
    printf '{"dim":%d,"clients":%d,"rows":%d,"k":%d,"tol":%s,"lambda":%s,"het":%s}\n' \
        "$d" "$CLIENTS" "$ROWS" "$k" "$TOL" "$LAMBDA" "$HET" >"$RES/c_d$d.meta.json"
    # The machine may be shared: alternate the two sides so that both see the same conditions.
    for ((r = 1; r <= REPEAT; r++)); do
        log "  d=$d, run $r/$REPEAT: solvd, then numpy"
        wait_idle
        run_child timeout 3600 "$PY" "$ROOT/bench/ef21_solvd.py" --port "$PORT" --timeout 900 \
            --x-out "$RES/c_d$d.x_solvd.json" "$job" >"$RES/c_d$d.solvd.$r.json" ||
            die "ef21_solvd.py failed (d=$d)"
        OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 run_child timeout 3600 "$PY" "$ROOT/bench/ef21_numpy.py" \
            --x-out "$RES/c_d$d.x_numpy.json" "$job" >"$RES/c_d$d.numpy.$r.json" ||
            die "ef21_numpy.py failed (d=$d)"
    done
done
stop_pid "$SOLVD_PID" 15
SOLVD_PID=""

uptime >"$RES/load_after.txt"

# ================= report =================
BENCH_SOLVD="$SOLVD" BENCH_BUILD="$BUILD" BENCH_NGINX="$NGINX" BENCH_DB_DIR="$TMP" \
    BENCH_DURATION="$DURATION" BENCH_REPEAT="$REPEAT" \
    "$PY" "$ROOT/bench/report.py" "$RES" --into "$OUT" >"$RES/platform.md" || die "report.py failed"
if [ "${BENCH_PLATFORM_ONLY:-0}" = 1 ]; then
    cat "$RES/platform.md"
    log "wrote the platform section of $OUT (BENCH_PLATFORM_ONLY=1: other benchmarks skipped)"
    exit 0
fi
run_child env ISSUE4_RESULTS="$OUT" "$ROOT/bench/issue4.sh" || die "bench/issue4.sh failed" # issue 4
run_child env SOFTMAX_RESULTS="$OUT" SOFTMAX_BUILD_DIR="$BUILD" "$ROOT/bench/softmax.sh" ||
    die "bench/softmax.sh failed" # issue 9
run_child env DECODE_RESULTS="$OUT" DECODE_BUILD_DIR="$BUILD" "$ROOT/bench/decode.sh" ||
    die "bench/decode.sh failed" # issue 10, target 3
run_child "$PY" "$ROOT/bench/bilevel/run.py" --solvd "$SOLVD" --results "$OUT" || die "bench/bilevel/run.py failed" # issue 3
cat "$OUT"
log "wrote $OUT"

# ================= secondorder.mfac: IHVP time vs d and m (bench/mfac_ihvp.sh) =================
# Reuses this Release build; replaces only its <!-- BEGIN mfac --> section of $OUT; bounded by
# MFAC_BUDGET_S (default 400 s).
run_child env MFAC_RESULTS="$OUT" MFAC_BUILD_DIR="$BUILD" "$ROOT/bench/mfac_ihvp.sh" ||
    die "bench/mfac_ihvp.sh failed"
log "wrote the secondorder.mfac section of $OUT"

# ================= one pass over the data per gradient (bench/fused_grad.sh) =================
run_child env FUSED_RESULTS="$OUT" FUSED_BUILD_DIR="$BUILD" "$ROOT/bench/fused_grad.sh" ||
    die "bench/fused_grad.sh failed"
log "wrote the fused-gradient section of $OUT"
