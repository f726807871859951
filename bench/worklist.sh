#!/usr/bin/env bash
# Worklist latency under load: a seeded database of N patients (default 100,000), a release
# server, 32 nurses logged in, then
#   1. open loop (examples/worklist_load.rs): each nurse on their own connection loads their
#      worklist every second, then every 250 ms; latency counted from when each request was due;
#   2. closed loop (wrk): 32 connections asking back to back, each request as the next nurse —
#      the server's saturation throughput, and the latency of a queue that never empties.
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
cargo build --release -q --bin sesame --example worklist_load
load="$root/target/release/examples/worklist_load"
bin="$root/target/release/sesame"
work=$(mktemp -d /tmp/sesame-bench.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
server=""

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  export DATABASE_URL="$BENCH_DATABASE_URL"
  PGOPTIONS='-c client_min_messages=warning' psql "$DATABASE_URL" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'
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

echo "== open loop: warm-up (10 s), then $seconds s at each rate"
"$load" "127.0.0.1:$port" "$work/tokens" 250 10 >/dev/null
"$load" "127.0.0.1:$port" "$work/tokens" 1000 "$seconds"
"$load" "127.0.0.1:$port" "$work/tokens" 250 "$seconds"
echo "== closed loop: wrk, $connections connections, $seconds s"
TOKENS="$work/tokens" wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/worklist.lua "http://127.0.0.1:$port"
