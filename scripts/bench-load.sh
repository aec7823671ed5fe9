#!/usr/bin/env bash
# Load benchmark of the legacy server: a fleet of simulated boxes (bp-sim load) against a
# release essensys-backend on loopback; prints bp-sim's figures and the server's CPU time per
# request, read from /proc/<pid>/stat (utime+stime) over the run.
#
# Usage: scripts/bench-load.sh [BOXES] [DURATION] [extra backend flags...]
#   e.g. scripts/bench-load.sh 64 30s
set -euo pipefail
cd "$(dirname "$0")/.."
boxes=${1:-64}
duration=${2:-30s}
shift $(( $# > 2 ? 2 : $# )) || true
port=${BENCH_PORT:-18080}

cargo build --release -q -p essensys-backend -p essensys-bp-sim
RUST_LOG=warn ./target/release/essensys-backend --listen "127.0.0.1:$port" "$@" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
before=$(cpu_ticks)
report=$(./target/release/bp-sim load --server "127.0.0.1:$port" --boxes "$boxes" --duration "$duration")
after=$(cpu_ticks)
echo "$report"
requests=$(echo "$report" | awk '/requests/ {for (i = 1; i <= NF; i++) if ($i ~ /^requests$/) print $(i - 1)}' | head -n 1)
if [ -n "$requests" ] && [ "$requests" -gt 0 ]; then
  awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
    'BEGIN { printf "server CPU: %.2f s for %d requests = %.1f us/request\n", t / hz, n, t / hz * 1e6 / n }'
else
  echo "server CPU: $(( (after - before) )) ticks (could not read the request count)"
fi
