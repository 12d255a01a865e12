#!/usr/bin/env bash
# pgcluster.sh - a throwaway PostgreSQL cluster for the tests of the PostgreSQL job store
# (tests/unit/test_store_postgres.c), started and stopped by a ctest fixture.
#
#   pgcluster.sh start STATE_DIR   initdb into a new temporary directory, start the server on
#                                  127.0.0.1 at a free port (unix sockets in that directory,
#                                  trust authentication, no fsync), create the database
#                                  solvd_test, print its URL and write it to STATE_DIR/url.
#   pgcluster.sh stop STATE_DIR    stop that server and remove its directory and STATE_DIR's files.
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the postgres user (the
# postgresql package creates it), or to nobody. initdb is looked for on PATH, then in
# /usr/lib/postgresql/<version>/bin (Debian's place; deploy/deps.sh installs it). Without it,
# start writes STATE_DIR/skip with the reason and exits 77, and the tests skip.
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi

find_bindir() {
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then
    echo "$d"
  fi
}

# Runs a command as the cluster's owner.
owner=""
if [ "$(id -u)" -eq 0 ]; then
  if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
fi
as_owner() {
  if [ -n "$owner" ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

stop_cluster() {
  [ -f "$state/cluster" ] || return 0
  local dir bindir
  dir=$(sed -n 1p "$state/cluster")
  bindir=$(sed -n 2p "$state/cluster")
  if [ -n "$dir" ] && [ -d "$dir/data" ]; then
    (cd "$dir" && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  case "$dir" in
    /tmp/solvd-pg.*) rm -rf "$dir" ;;
  esac
  rm -f "$state/cluster" "$state/url" "$state/skip"
}

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case "$cmd" in
  stop)
    stop_cluster
    exit 0
    ;;
  start)
    mkdir -p "$state"
    stop_cluster   # a cluster left by an interrupted run
    bindir=$(find_bindir)
    if [ -z "$bindir" ]; then
      echo "initdb not found (install postgresql: deploy/deps.sh): the PostgreSQL tests skip" \
        | tee "$state/skip" >&2
      exit 77
    fi
    dir=$(mktemp -d /tmp/solvd-pg.XXXXXX)
    printf '%s\n%s\n' "$dir" "$bindir" >"$state/cluster"
    if [ -n "$owner" ]; then chown "$owner" "$dir"; fi
    cd "$dir"
    if ! as_owner "$bindir/initdb" -D "$dir/data" -U solvd -A trust -E UTF8 --locale=C -N \
        >"$dir/initdb.log" 2>&1; then
      cat "$dir/initdb.log" >&2
      stop_cluster
      exit 1
    fi
    started=""
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
      port_busy "$port" && continue
      opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir"
      opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
      if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" \
          start >/dev/null 2>&1; then
        started=1
        break
      fi
    done
    if [ -z "$started" ]; then
      echo "pgcluster: the server did not start:" >&2
      cat "$dir/server.log" >&2 || true
      stop_cluster
      exit 1
    fi
    if ! as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U solvd solvd_test; then
      stop_cluster
      exit 1
    fi
    url="postgresql://solvd@127.0.0.1:$port/solvd_test"
    echo "$url" >"$state/url"
    echo "$url"
    ;;
  *)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
