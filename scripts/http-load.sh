#!/usr/bin/env bash
# The HTTP API under an outside load generator (wrk): a release `serve` on
# loopback with `echo` approved, audit fsynced, 64 connections for 10 s.
# Prints wrk's latency distribution, the server's and wrk's CPU share, the
# audit batch sizes from /metrics, and verifies the audit chain afterwards.
# Needs wrk (`apt-get install wrk`) and the example skills built.
# Usage: scripts/http-load.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}
secs=${2:-10}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
cargo build --release -p skillhost --quiet
bin=target/release/skillhost
data=$(mktemp -d)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$data"' EXIT
export SKILLHOST_DATA_DIR=$data SKILLHOST_ACTOR=load
cat > "$data/skillhost.toml" <<'TOML'
[rate]
per_skill_per_minute = 100000000
global_per_minute = 100000000
per_caller_per_minute = 100000000
[server]
max_connections = 1024
TOML
$bin secret init-key >/dev/null
$bin skill add skills-examples/target/wasm32-wasip2/release/echo.wasm >/dev/null
digest=$($bin skill show echo --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"][-1]["digest"])')
$bin skill approve echo --digest "$digest" >/dev/null
token=$($bin token create --name load --role invoker | head -1)
owner=$($bin token create --name watch --role owner | head -1)
$bin serve --bind 127.0.0.1:0 2>"$data/serve.log" &
server=$!
for _ in $(seq 100); do
  url=$(grep -o 'listening on http://[^ ]*' "$data/serve.log" | sed 's/listening on //' || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$data/serve.log" >&2; exit 1; }
cat > "$data/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"message":"hello","n":42}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
# One warm-up call loads the component; then the measured run.
curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"message":"warm"}' "$url/v1/skills/echo/invoke" >/dev/null
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
before=$(ticks "$server")
start=$(date +%s.%N)
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$data/post.lua" "$url/v1/skills/echo/invoke" >"$data/wrk.txt" &
wrk_pid=$!
wrk_ticks=0
while kill -0 "$wrk_pid" 2>/dev/null; do
  wrk_ticks=$(ticks "$wrk_pid" 2>/dev/null || echo "$wrk_ticks")
  sleep 0.5
done
wait "$wrk_pid"
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
after=$(ticks "$server")
hz=$(getconf CLK_TCK)
cat "$data/wrk.txt"
# Refusals (rate.busy under overload) are answers, not throughput.
if grep -q 'Non-2xx' "$data/wrk.txt"; then
  echo "some requests were refused (Non-2xx above): the req/s figure counts them" >&2
fi
echo "server CPU: $(echo "scale=2; ($after - $before) / $hz / $elapsed" | bc) cores; wrk CPU: $(echo "scale=2; $wrk_ticks / $hz / $elapsed" | bc) cores (of $(nproc))"
curl -sf -H "Authorization: Bearer $owner" "$url/metrics" | grep -E '^skillhost_audit_batch_records_(bucket|count|sum)' || true
kill "$server"; wait "$server" 2>/dev/null || true
$bin audit verify
