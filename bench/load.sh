#!/usr/bin/env bash
# load.sh - solvd under a mixed load for LOAD_SECONDS (default 60) on loopback, against nginx
# serving a static file in the same run. At once: LOAD_SUBSCRIBERS (1000) event-stream readers of
# a running job (bench/sse_swarm.py), wrk reading a finished job's status (GET /v1/jobs/ID, 32
# connections) and wrk submitting jobs (POST /v1/jobs, 8 connections). Reports throughput,
# p50/p99 latency, errors (non-2xx answers and socket errors, which should be 0) and solvd's RSS
# before and after; then nginx serves the same status body to the same wrk. Writes the `load`
# section of bench/RESULTS.md. Timing is reported, never asserted. Needs `deploy/deps.sh bench`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PY=${LOAD_PYTHON:-/usr/bin/python3}
SECONDS_RUN=${LOAD_SECONDS:-60}
SUBS=${LOAD_SUBSCRIBERS:-1000}
source "$ROOT/bench/lib/section.sh"
for tool in wrk nginx curl "$PY"; do command -v "$tool" >/dev/null || { echo "load.sh: $tool missing (deploy/deps.sh bench)" >&2; exit 1; }; done
[ -x "$BUILD/solvd" ] || cmake --build "$BUILD" -j2 --target solvd >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n 16384
TMP=$(mktemp -d /var/tmp/solvd-load.XXXXXX)
chmod 711 "$TMP"
PID=""; NGX=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; [ -n "$NGX" ] && kill "$NGX" 2>/dev/null; sleep 0.3; rm -rf "$TMP"; }
trap cleanup EXIT
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
wrkjson() { sed -n 's/^WRKJSON //p' "$1"; }

"$BUILD/solvd" --listen 127.0.0.1:0 --db "$TMP/load.db" --workers 2 --max-subscribers $((SUBS + 100)) \
    --max-connections $((SUBS + 500)) --max-connections-per-ip 0 2>"$TMP/solvd.log" &
PID=$!
for _ in $(seq 100); do PORT=$(sed -n 's/.*msg="listening".* port=\([0-9]*\).*/\1/p' "$TMP/solvd.log" | head -1); [ -n "$PORT" ] && break; sleep 0.1; done
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.1; done
URL=http://127.0.0.1:$PORT
TINY='{"solver":"distributed.ef21","problem":{"clients":[{"A":[[1,2],[3,4],[5,7]],"b":[1,2,3]},{"A":[[2,0],[1,1]],"b":[4,-1]}],"lambda":0.1},"params":{"k":1,"max_iter":1}}'
printf '%s' "$TINY" >"$TMP/tiny.json"
DONE_ID=$(curl -s -d @"$TMP/tiny.json" "$URL/v1/jobs" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# A job that runs through the whole run, sending progress to every stream (report_every small).
LONG=$(printf '{"solver":"distributed.ef21","problem":{"generate":{"clients":4,"rows_per_client":50,"dim":50,"seed":3}},"params":{"tol":0,"max_iter":1000000000,"report_every":50},"time_limit_s":%d}' $((SECONDS_RUN + 30)))
LONG_ID=$(curl -s -d "$LONG" "$URL/v1/jobs" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
sleep 1
curl -s "$URL/v1/jobs/$DONE_ID" >"$TMP/status.json"

"$PY" "$ROOT/bench/sse_swarm.py" "$PORT" "$LONG_ID" "$SUBS" $((SECONDS_RUN + 4)) >"$TMP/swarm.json" &
SWARM=$!
sleep 2
RSS0=$(rss "$PID")
curl -s "$URL/metrics" >"$TMP/m0.prom"
wrk -t1 -c32 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$ROOT/bench/wrk_stats.lua" "$URL/v1/jobs/$DONE_ID" >"$TMP/get.out" 2>&1 &
W1=$!
wrk -t1 -c8 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$ROOT/bench/wrk_stats.lua" "$URL/v1/jobs" -- "$TMP/tiny.json" >"$TMP/post.out" 2>&1 &
W2=$!
wait $W1 $W2
RSS1=$(rss "$PID")
curl -s "$URL/metrics" >"$TMP/m1.prom"
wait $SWARM
sleep 1
RSS2=$(rss "$PID")

# nginx: the same status body as a static file, the same wrk as the GET above, alone.
mkdir -p "$TMP/www" && cp "$TMP/status.json" "$TMP/www/job"
NPORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/nginx.conf" <<NGINX
worker_processes 1;
error_log $TMP/nginx.err;
pid $TMP/nginx.pid;
daemon off;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$NPORT; root $TMP/www; } }
NGINX
nginx -c "$TMP/nginx.conf" -p "$TMP" 2>/dev/null &
NGX=$!
until curl -sf -o /dev/null "http://127.0.0.1:$NPORT/job"; do sleep 0.1; done
wrk -t1 -c32 -d"${SECONDS_RUN}s" --timeout 10s --latency -s "$ROOT/bench/wrk_stats.lua" "http://127.0.0.1:$NPORT/job" >"$TMP/nginx.out" 2>&1

"$PY" - "$TMP" "$SECONDS_RUN" "$SUBS" "$RSS0" "$RSS1" "$RSS2" "$(git -C "$ROOT" rev-parse --short HEAD)" "$(uptime)" >"$TMP/section.md" <<'PY'
import json, sys, time
tmp, secs, subs, rss0, rss1, rss2, commit, load = sys.argv[1:]
def wrk(name):
    for line in open(f"{tmp}/{name}.out"):
        if line.startswith("WRKJSON "):
            return json.loads(line[8:])
    raise SystemExit(f"no wrk summary in {name}.out")
def prom(name):
    out = {}
    for line in open(f"{tmp}/{name}.prom"):
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out
get, post, ngx = wrk("get"), wrk("post"), wrk("nginx")
K5 = 'solvd_http_requests_total{code="5xx"}'
sw = json.load(open(f"{tmp}/swarm.json"))
m0, m1 = prom("m0"), prom("m1")
def row(label, w, ok):
    bad = sum(n for c, n in w["statuses"].items() if c not in ok)
    sock = sum(w["errors"][k] for k in ("connect", "read", "write", "timeout"))
    l = w["latency_us"]
    return (f"| {label} | {w['requests'] / (w['duration_us'] / 1e6):,.0f} | {l['p50'] / 1000:.2f} | "
            f"{l['p99'] / 1000:.2f} | {w['requests']:,} | {bad} | {sock} |")
print("## Load: mixed traffic with 1000 event streams, against nginx\n")
print(f"Written by `bench/load.sh` at commit {commit} on {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}; "
      f"{load.split('load average:')[-1].strip()} load average at the end (2 cores, shared with the "
      f"clients and, in this run, other builds). {secs} s; solvd with 2 workers; every client on 127.0.0.1.\n")
print("| traffic (at the same time) | req/s | p50 ms | p99 ms | requests | not 2xx | socket errors |")
print("|---|---:|---:|---:|---:|---:|---:|")
print(row("GET /v1/jobs/ID (32 connections)", get, {"200"}))
print(row("POST /v1/jobs (8 connections, durable 201s)", post, {"201"}))
print(row("nginx, the same body as a static file (32 connections, alone afterwards)", ngx, {"200"}))
print()
print(f"Event streams: {sw['opened']} of {subs} opened, {sw['open_at_end']} still open at the end, "
      f"{sw['failed']} failed; {sw['events']:,} events ({sw['bytes'] / 1e6:.1f} MB) received over the run "
      f"(one running job's progress to every stream). solvd's RSS: {int(rss0) / 1024:.1f} MB with the "
      f"streams open before the traffic, {int(rss1) / 1024:.1f} MB at its end, {int(rss2) / 1024:.1f} MB "
      f"once the streams closed. 5xx answers during the run: {m1.get(K5, 0) - m0.get(K5, 0):.0f}; "
      f"streams dropped as too slow: {m1.get('solvd_event_streams_dropped_total', 0):.0f}.")
PY
cat "$TMP/section.md"
replace_section "<!-- BEGIN load -->" "<!-- END load -->" "$TMP/section.md" "$ROOT/bench/RESULTS.md"
