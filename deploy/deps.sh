#!/usr/bin/env bash
# Installs the Debian packages solvd needs to build, test and run. Idempotent: silent when every
# package is present; otherwise says what it installs and installs it (with sudo when not root).
set -euo pipefail

# libpq-dev is the PostgreSQL store backend's client library (always built in); postgresql gives
# the tests initdb and pg_ctl for a throwaway cluster (tests/support/pgcluster.sh).
packages=(
  build-essential cmake pkg-config
  libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3 libpq-dev postgresql
  libopenblas-dev liblapacke-dev libuv1-dev libglpk-dev
  zlib1g-dev libsystemd-dev libcmocka-dev libcurl4-openssl-dev curl openssl
  chromium fonts-liberation
)
# The dashboard's browser test (tests/dashboard) runs on Node.js with npm. Debian's nodejs and
# npm are installed only when the commands are missing: a Node.js from elsewhere (NodeSource's
# nodejs bundles npm and conflicts with Debian's npm package) is left alone.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# Extra groups: `deps.sh bench` adds the peers the benchmarks compare against; `deps.sh fuzz`
# the compiler of `make fuzz` (clang, for libFuzzer).
for group in "$@"; do
  case "$group" in
    bench) packages+=(wrk nginx python3-numpy python3-scipy hyperfine) ;;
    fuzz) packages+=(clang) ;;
    *) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: done"
