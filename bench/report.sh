#!/usr/bin/env bash
# The program report and the research export over a seeded database of N patients (default
# 100,000), on a release server:
#   1. GET /exports/research of one practice, then of every case, on the fresh server: rows,
#      bytes, seconds, and the server's heap before and at its peak during each (RssAnon, sampled
#      every 10 ms);
#   2. GET /reports/program as the admin, several periods and scopes, 5 times each (the first run
#      of each is cold); prints each time and the median.
#
#   bench/report.sh                                   # SQLite (a temp file)
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench bench/report.sh
#   BENCH_SQLITE_FILE=/path/seeded.db bench/report.sh # reuse a database `demo seed` already filled
#
# Settings: BENCH_PATIENTS (100000), BENCH_PORT (18093). A PostgreSQL database named by
# BENCH_DATABASE_URL is emptied and seeded first (unless BENCH_SEEDED=1).
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${BENCH_PATIENTS:-100000}
port=${BENCH_PORT:-18093}
cargo build --release -q --bin sesame
bin="$(pwd)/target/release/sesame"
work=$(mktemp -d /tmp/sesame-bench.XXXXXX)
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
export SESAME_DATA_DIR="$work" SESAME_ACCESS_TOKEN_TTL_SECS=3600 SESAME_LOG=warn SESAME_BACKGROUND_JOBS=false

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  export DATABASE_URL="$BENCH_DATABASE_URL" SESAME_JWT_SECRET="bench-secret-0123456789abcdef-0123456789"
  if [ "${BENCH_SEEDED:-0}" != 1 ]; then
    PGOPTIONS='-c client_min_messages=warning' psql "$DATABASE_URL" -qc 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'
    "$bin" demo seed --patients "$patients" --seed 1
  fi
elif [ -n "${BENCH_SQLITE_FILE:-}" ]; then
  export DATABASE_URL="sqlite://$BENCH_SQLITE_FILE"
else
  export DATABASE_URL="sqlite://$work/bench.db"
  "$bin" demo seed --patients "$patients" --seed 1
fi

SESAME_BIND="127.0.0.1:$port" "$bin" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
token=$(curl -s "http://127.0.0.1:$port/api/v1/auth/token" -H 'Content-Type: application/json' \
  -d '{"grant_type":"password","email":"admin@demo.sesame.test","password":"demo password 2026"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
api="http://127.0.0.1:$port/api/v1"
today=$(date -u +%F)
year_ago=$(date -u -d "$today -1 year +1 day" +%F)
region=$(curl -s "$api/practices?limit=1" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["region"])')
practice=$(curl -s "$api/practices?limit=1" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')

# Heap, not the SQLite file's memory-mapped pages (which count in VmRSS as RssFile): RssAnon,
# sampled every 10 ms while the export runs.
anon() { awk '/RssAnon/ {print $2}' "/proc/$server/status"; }
export_run() {
  local before; before=$(anon)
  ( peak=0; while :; do a=$(anon); [ "$a" -gt "$peak" ] && peak=$a && echo "$peak" >"$work/peak"; sleep 0.01; done ) &
  local sampler=$!
  local out; out=$(curl -s -o "$work/export" -w '%{time_total}' -H "Authorization: Bearer $token" \
    -H "Pseudonym-Key: a bench key of at least thirty-two characters" -H "Accept: $2" "$api/exports/research?$1")
  kill $sampler; wait $sampler 2>/dev/null || true
  echo "$1 [$2]: $(wc -l <"$work/export") lines, $(wc -c <"$work/export") bytes, ${out} s; heap (RssAnon) before ${before} kB, peak during $(cat "$work/peak") kB"
}
echo "== GET /exports/research: the server's heap"
export_run "from=2000-01-01&to=$today&practice_id=$practice" application/x-ndjson
export_run "from=2000-01-01&to=$today" application/x-ndjson
export_run "from=2000-01-01&to=$today&practice_id=$practice" text/csv
export_run "from=2000-01-01&to=$today" text/csv

echo "== GET /reports/program ($DATABASE_URL), seconds"
last_year=$(( $(date -u +%Y) - 1 ))
for query in "from=$year_ago&to=$today" "from=2000-01-01&to=$today" "from=$last_year-01-01&to=$last_year-12-31" \
  "from=$year_ago&to=$today&program=sesame" \
  "from=$year_ago&to=$today&region=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$region")" \
  "from=$year_ago&to=$today&practice_id=$practice" "from=$year_ago&to=$today (CSV)"; do
  accept="application/json"
  case "$query" in *"(CSV)") accept="text/csv"; query=${query% (CSV)} ;; esac
  times=()
  for _ in 1 2 3 4 5; do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" -H "Accept: $accept" "$api/reports/program?$query")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  echo "$query [$accept]: ${times[*]}  median $median"
done
