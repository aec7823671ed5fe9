#!/usr/bin/env bash
# Load benchmark of the legacy server: a fleet of simulated boxes (bp-sim load) against a
# release essensys-backend on loopback; prints bp-sim's figures and the server's CPU time per
# request, read from /proc/<pid>/stat (utime+stime) over the run. The whole fleet comes from
# 127.0.0.1, so the per-source connection cap is lifted here.
#
# Usage: scripts/bench-load.sh [BOXES] [DURATION] [extra backend flags...]
#   e.g. scripts/bench-load.sh 64 30s
#        STORE=redis scripts/bench-load.sh 64 30s   # a private redis-server (appendonly everysec)
#                                                   # on a free port; also prints Redis commands
#                                                   # and round trips per request
#        MQTT=1 scripts/bench-load.sh 64 30s        # with the Home Assistant bridge on, to a
#                                                   # private mosquitto on a free port
#        WARMUP=5s scripts/bench-load.sh 64 30s     # the same fleet first for 5 s, unmeasured (boxes
#                                                   # known, discovery announced: the steady state)
set -euo pipefail
cd "$(dirname "$0")/.."
boxes=${1:-64}
duration=${2:-30s}
shift $(( $# > 2 ? 2 : $# )) || true
port=${BENCH_PORT:-18080}

cargo build --release -q -p essensys-backend -p essensys-bp-sim
store_flags=()
redis_pid=
if [ "${STORE:-memory}" = redis ]; then
  redis_port=$((port + 1))
  redis_dir=$(mktemp -d)
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$redis_dir" --appendonly yes \
    --appendfsync everysec --save "" --daemonize no --loglevel warning >/dev/null &
  redis_pid=$!
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  store_flags=(--store "redis://127.0.0.1:$redis_port/0")
fi
mqtt_flags=()
mqtt_pid=
if [ "${MQTT:-0}" = 1 ]; then
  mqtt_port=$((port + 2))
  mqtt_conf=$(mktemp)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" >"$mqtt_conf"
  mosquitto -c "$mqtt_conf" >/dev/null 2>&1 &
  mqtt_pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && break; sleep 0.1; done
  mqtt_flags=(--mqtt-url "mqtt://127.0.0.1:$mqtt_port")
fi
RUST_LOG=warn ./target/release/essensys-backend --listen "127.0.0.1:$port" --max-connections-per-source 100000 "${store_flags[@]}" "${mqtt_flags[@]}" "$@" &
server=$!
trap 'kill $server $redis_pid $mqtt_pid 2>/dev/null || true' EXIT
# Redis work per request: the adapter's own count of round trips (from /debug), and every
# command Redis executed (INFO commandstats; the commands scripts run inside Redis included).
redis_calls() {
  local trips all
  trips=$(curl -s "127.0.0.1:$port/debug" | sed -n 's/.*"redis_round_trips":\([0-9]*\).*/\1/p')
  all=$(redis-cli -p "$redis_port" info commandstats | awk -F'[=,:]' '/^cmdstat_/ { n += $3 } END { print n }')
  echo "$all ${trips:-0}"
}
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

if [ -n "${WARMUP:-}" ]; then
  ./target/release/bp-sim load --server "127.0.0.1:$port" --boxes "$boxes" --duration "$WARMUP" >/dev/null
  sleep 1
fi
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
before=$(cpu_ticks)
[ -n "$redis_pid" ] && read -r calls_before sent_before < <(redis_calls)
report=$(./target/release/bp-sim load --server "127.0.0.1:$port" --boxes "$boxes" --duration "$duration")
after=$(cpu_ticks)
[ -n "$redis_pid" ] && read -r calls_after sent_after < <(redis_calls)
echo "$report"
if [ -n "$mqtt_pid" ]; then
  curl -s "127.0.0.1:$port/debug" | grep -o '"mqtt[a-z_]*":[^,}]*' | tr '\n' ' '; echo
fi
requests=$(echo "$report" | awk '/requests/ {for (i = 1; i <= NF; i++) if ($i ~ /^requests$/) print $(i - 1)}' | head -n 1)
if [ -n "$requests" ] && [ "$requests" -gt 0 ]; then
  awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
    'BEGIN { printf "server CPU: %.2f s for %d requests = %.1f us/request\n", t / hz, n, t / hz * 1e6 / n }'
else
  echo "server CPU: $(( (after - before) )) ticks (could not read the request count)"
fi
if [ -n "$redis_pid" ] && [ -n "$requests" ]; then
  awk -v c=$((calls_after - calls_before)) -v s=$((sent_after - sent_before)) -v n="$requests" \
    'BEGIN { printf "redis: %.2f round trips and %.2f commands (scripts included) per request\n", s / n, c / n }'
fi
