#!/usr/bin/env bash
# The backend against the machine's floor: the same firmware cycle (wrk + scripts/firmware-cycle.lua:
# the box's exact serverinfos, mystatus and myactions requests, one connection per request)
# against a minimal C accept/read/write/close server (scripts/floor.c) and against a release
# essensys-backend, alternating floor, backend, floor, backend … in one run. For each run: the
# requests, the server's CPU per request (utime+stime from /proc/<pid>/stat over the run), and
# per pair the efficiency = floor CPU/request ÷ backend CPU/request; then the medians.
#
# The floor writes, for each request kind, the backend's own reply bytes (captured from the
# backend before the runs; serverinfos in its rotation), so both write the same sizes. Every
# reply is checked (200 + serverinfos body, 201, 200 + myactions body) and every request must
# have had its own accepted connection (the kernel's TCP PassiveOpens counter): the script
# fails loudly otherwise.
#
# Usage: scripts/bench-floor.sh
#   ROUNDS=3 DURATION=10s CONNS=8 WARMUP=2s   the defaults (one wrk thread, CONNS connections)
#   STORE=redis      the backend on a private redis-server (appendonly everysec) on a free port;
#                    Redis's own CPU per request is printed beside (not counted in "backend")
#   SYSCALLS=1       then, per server, strace -c -f -p PID over a SYSCALL_DURATION (3s) run:
#                    syscalls per request by name (strace slows the server: counts, not time)
#   PIN=0            do not pin (default when ≥ 2 CPUs: servers on CPU 0, wrk on CPU 1)
#   BENCH_PORT=18090 where to start looking for free ports
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
conns=${CONNS:-8}
warmup=${WARMUP:-2s}
hz=$(getconf CLK_TCK)

free_port() {
  local p=$1
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}
port=$(free_port "${BENCH_PORT:-18090}")
floor_port=$(free_port $((port + 1)))

if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
fi
if [ "${SYSCALLS:-0}" = 1 ] && ! command -v strace >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y strace >/dev/null
fi
cargo build --release -q -p essensys-backend
mkdir -p target/bench
cc -O2 -Wall -o target/bench/floor scripts/floor.c

server_pin=() client_pin=()
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_pin=(taskset -c 0) client_pin=(taskset -c 1)
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "bench-floor: FAILED: $*" >&2; exit 1; }
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  fail "nothing listens on port $1"
}

store_flags=()
redis_pid=
if [ "${STORE:-memory}" = redis ]; then
  redis_port=$(free_port $((floor_port + 1)))
  redis_dir=$(mktemp -d)
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$redis_dir" --appendonly yes \
    --appendfsync everysec --save "" --daemonize no --loglevel warning >/dev/null &
  redis_pid=$!
  pids+=("$redis_pid")
  wait_port "$redis_port"
  store_flags=(--store "redis://127.0.0.1:$redis_port/0")
fi
RUST_LOG=warn "${server_pin[@]}" ./target/release/essensys-backend --listen "127.0.0.1:$port" \
  --max-connections-per-source 100000 "${store_flags[@]}" >target/bench/backend.log 2>&1 &
backend=$!
pids+=("$backend")
wait_port "$port"

# One exchange on a new connection: the request file as-is, the whole reply into a file.
exchange() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  cat "$2" >&3
  cat <&3 >"$3"
  exec 3<&-
}
expect_status() {
  head -c "${#2}" "$1" | grep -qxF "$2" || fail "$(basename "$1"): expected '$2', got '$(head -n 1 "$1")'"
}
# The box first makes itself known (serverinfos), then its replies are captured: serverinfos
# until its rotation comes back to the first window, mystatus, myactions.
box=fixtures/box
exchange "$port" "$box/serverinfos.http" target/bench/prime.reply
expect_status target/bench/prime.reply "HTTP/1.1 200 OK"
infos=()
for i in $(seq 0 63); do
  f=target/bench/serverinfos-$i.reply
  exchange "$port" "$box/serverinfos.http" "$f"
  expect_status "$f" "HTTP/1.1 200 OK"
  if [ "$i" -gt 0 ] && cmp -s "$f" target/bench/serverinfos-0.reply; then break; fi
  infos+=("$f")
done
exchange "$port" "$box/mystatus.http" target/bench/mystatus.reply
expect_status target/bench/mystatus.reply "HTTP/1.1 201 Created"
exchange "$port" "$box/myactions.http" target/bench/myactions.reply
expect_status target/bench/myactions.reply "HTTP/1.1 200 OK"
infos_list=$(IFS=,; echo "${infos[*]}")
echo "replies (bytes): serverinfos $(cat "${infos[@]}" | wc -c | awk -v n=${#infos[@]} '{ printf "%.1f", $1 / n }') (mean of its ${#infos[@]} rotation windows), mystatus $(wc -c <target/bench/mystatus.reply), myactions $(wc -c <target/bench/myactions.reply)"

"${server_pin[@]}" target/bench/floor "$floor_port" "GET /api/serverinfos=$infos_list" \
  "POST /api/mystatus=target/bench/mystatus.reply" "GET /api/myactions=target/bench/myactions.reply" \
  2>target/bench/floor.log &
floor=$!
pids+=("$floor")
wait_port "$floor_port"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
passive_opens() { awk '/^Tcp:/ { v = $6 } END { print v }' /proc/net/snmp; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# wrk against PORT for DURATION; sets: requests rate cycle_line
load() {
  local out
  out=$(CYCLE_OUT=target/bench/cycle.out "${client_pin[@]}" wrk -t1 -c"$conns" -d"$2" \
    -s scripts/firmware-cycle.lua "http://127.0.0.1:$1/") || fail "wrk: $out"
  cycle_line=$(grep '^cycle: requests' <<<"$out") || fail "no cycle line from wrk: $out"
  rate=$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")
  requests=$(field requests "$cycle_line")
  local bad non2xx sockerr
  bad=$(field bad "$cycle_line") non2xx=$(field non2xx "$cycle_line") sockerr=$(field socket_errors "$cycle_line")
  [ "$bad" = 0 ] && [ "$non2xx" = 0 ] || fail "unexpected replies: $cycle_line $(grep 'first bad' <<<"$out")"
  [ "$sockerr" = 0 ] || fail "socket errors: $cycle_line"
  for k in serverinfos mystatus myactions; do
    [ "$(field "$k" "$cycle_line")" -gt 0 ] || fail "no $k reply: $cycle_line"
  done
}

# One measured run; appends to the results. Args: name pid port
results=()
run() {
  local t0 t1 o0 o1 r0=0 r1=0 us accepts rus=
  t0=$(cpu_ticks "$2"); o0=$(passive_opens)
  [ -n "$redis_pid" ] && r0=$(cpu_ticks "$redis_pid")
  load "$3" "$duration"
  t1=$(cpu_ticks "$2"); o1=$(passive_opens)
  [ -n "$redis_pid" ] && r1=$(cpu_ticks "$redis_pid")
  # every request on its own connection (other processes may add a few accepts, never remove)
  [ $((o1 - o0)) -ge "$requests" ] || fail "$1: $((o1 - o0)) connections accepted for $requests requests: wrk did not reconnect per request"
  us=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  accepts=$(awk -v a=$((o1 - o0)) -v n="$requests" 'BEGIN { printf "%.3f", a / n }')
  [ "$1" = backend ] && [ -n "$redis_pid" ] &&
    rus=$(awk -v t=$((r1 - r0)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  results+=("$1 $us")
  printf '| %s | %s | %s | %s | **%s** | %s | %s | %s | %s |\n' "$round" "$1" "$requests" "$rate" "$us" \
    "$accepts" "$(field infos_body "$cycle_line")" "$(field p99_us "$cycle_line")" "${rus:--}"
}

load "$floor_port" "$warmup"
load "$port" "$warmup"
echo "store: ${STORE:-memory}; wrk -t1 -c$conns -d$duration per run; ${server_pin[*]:-unpinned} servers, ${client_pin[*]:-unpinned} wrk"
echo
echo "| round | server | requests | requests/s | CPU µs/request | accepts/request | serverinfos body bytes | p99 µs | redis CPU µs/request |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  run floor "$floor" "$floor_port"
  run backend "$backend" "$port"
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }
floors=() backends=() effs=()
for r in "${results[@]}"; do
  set -- $r
  if [ "$1" = floor ]; then floors+=("$2"); else backends+=("$2"); fi
done
for i in "${!floors[@]}"; do
  effs+=("$(awk -v f="${floors[$i]}" -v b="${backends[$i]}" 'BEGIN { printf "%.3f", f / b }')")
done
echo
echo "efficiency per round (floor ÷ backend CPU per request): ${effs[*]}"
printf 'median: floor %s µs/request (%s), backend %s µs/request (%s), efficiency %s (%s)\n' \
  "$(printf '%s\n' "${floors[@]}" | median)" "$(printf '%s\n' "${floors[@]}" | spread)" \
  "$(printf '%s\n' "${backends[@]}" | median)" "$(printf '%s\n' "${backends[@]}" | spread)" \
  "$(printf '%s\n' "${effs[@]}" | median)" "$(printf '%s\n' "${effs[@]}" | spread)"

if [ "${SYSCALLS:-0}" = 1 ]; then
  for s in floor backend; do
    if [ "$s" = floor ]; then pid=$floor p=$floor_port; else pid=$backend p=$port; fi
    strace -c -f -p "$pid" -o "target/bench/strace-$s.txt" 2>/dev/null &
    st=$!
    sleep 1
    load "$p" "${SYSCALL_DURATION:-3s}"
    sleep 0.5
    kill -INT "$st"
    wait "$st" || true
    echo
    echo "syscalls per request, $s ($requests requests under strace):"
    awk -v n="$requests" '
      $1 ~ /^[0-9.]+$/ && (NF == 5 || NF == 6) && $NF != "total" {
        e = (NF == 6) ? $5 : 0
        printf "  %-16s %6.2f%s\n", $NF, $4 / n, (e > 0) ? sprintf("  (%.2f failed)", e / n) : ""
        total += $4
      }
      END { printf "  %-16s %6.2f\n", "total", total / n }' "target/bench/strace-$s.txt" | sort -k2 -gr
  done
fi
