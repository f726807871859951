#!/usr/bin/env bash
# Worklist latency under load: a seeded database of N patients (default 100,000), a release
# server, and wrk sending GET /api/v1/worklist as 32 different nurses over 32 connections.
#
#   bench/worklist.sh                                   # SQLite (a temp file)
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench bench/worklist.sh
#
# Settings: BENCH_PATIENTS (100000), BENCH_NURSES (32), BENCH_CONNECTIONS (32), BENCH_SECONDS (30),
# BENCH_PORT (18090). A PostgreSQL database named by BENCH_DATABASE_URL is emptied first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
patients=${BENCH_PATIENTS:-100000}
nurses=${BENCH_NURSES:-32}
connections=${BENCH_CONNECTIONS:-32}
seconds=${BENCH_SECONDS:-30}
port=${BENCH_PORT:-18090}

command -v wrk >/dev/null || {
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
}
cargo build --release -q
bin="$root/target/release/sesame"
work=$(mktemp -d /tmp/sesame-bench.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
server=""

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  export DATABASE_URL="$BENCH_DATABASE_URL"
  psql "$DATABASE_URL" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
  export SESAME_JWT_SECRET="bench-secret-0123456789abcdef-0123456789"
else
  export DATABASE_URL="sqlite://$work/bench.db"
fi
export SESAME_DATA_DIR="$work" SESAME_ACCESS_TOKEN_TTL_SECS=3600 SESAME_LOG=warn

echo "== seeding $patients patients ($DATABASE_URL)"
"$bin" demo seed --patients "$patients" --seed 1

SESAME_BIND="127.0.0.1:$port" "$bin" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "== logging in $nurses nurses"
: >"$work/tokens"
count=0
for practice in $(seq 1 1000); do
  for k in 1 2 3 4 5 6; do
    [ "$count" -ge "$nurses" ] && break 2
    token=$(curl -s "http://127.0.0.1:$port/api/v1/auth/token" -H 'Content-Type: application/json' \
      -d "{\"grant_type\":\"password\",\"email\":\"infirmier$practice-$k@demo.sesame.test\",\"password\":\"demo password 2026\"}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))')
    [ -n "$token" ] || continue
    echo "$token" >>"$work/tokens"
    count=$((count + 1))
  done
done
[ "$count" -eq "$nurses" ] || { echo "only $count nurses could log in"; exit 1; }
python3 - "$work/tokens" "$port" <<'PY'
import json, sys, urllib.request
sizes = []
for token in open(sys.argv[1]).read().split():
    req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[2]}/api/v1/worklist",
                                 headers={"Authorization": "Bearer " + token})
    sizes.append(len(json.load(urllib.request.urlopen(req))["items"]))
print(f"worklist sizes: min {min(sizes)}, mean {sum(sizes) / len(sizes):.0f}, max {max(sizes)} cases")
PY

echo "== warm-up (5 s), then $seconds s with $connections connections"
TOKENS="$work/tokens" wrk -t2 -c"$connections" -d5s -s bench/worklist.lua "http://127.0.0.1:$port" >/dev/null
TOKENS="$work/tokens" wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/worklist.lua "http://127.0.0.1:$port"
