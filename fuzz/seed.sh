#!/usr/bin/env bash
# Fills the working corpora (fuzz/corpus/<target>/, git-ignored) with seeds made from
# ../fixtures at run time, so nothing is copied into the repository. Idempotent: it only adds
# files, and what libFuzzer found stays. Usage: fuzz/seed.sh
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../fixtures
mkdir -p corpus/status corpus/request_head corpus/inject_body corpus/order_cells

# status: the mystatus bodies, as they are.
for f in "$fixtures"/status/*.txt; do
  cp "$f" "corpus/status/fixture-$(basename "$f" .txt)"
done

# request_head: the box's exact requests, each behind the byte that picks how they arrive
# (0x00 all at once, 0x01 a byte at a time, 0x41 up to 7 bytes, 0x81 up to 100).
for f in "$fixtures"/box/*.http; do
  name=$(basename "$f" .http)
  for pattern in 00 01 41 81; do
    { printf "\\x$pattern"; cat "$f"; } >"corpus/request_head/fixture-$name-$pattern"
  done
done

# ... and heads at the server's limit (MAX_HEAD = 8192 bytes): exactly 8192, one byte over,
# and no end in the 8193 bytes the server reads before giving up.
long_head() { printf 'GET / HTTP/1.1\r\nX: '; head -c "$1" /dev/zero | tr '\0' a; printf '%s' "$2"; }
{ printf '\x81'; long_head 8169 $'\r\n\r\n'; } >corpus/request_head/seed-head-8192
{ printf '\x81'; long_head 8170 $'\r\n\r\n'; } >corpus/request_head/seed-head-8193
{ printf '\xc1'; long_head 8200 ''; } >corpus/request_head/seed-head-unended

# inject_body: admin API bodies (a leading + - = first queues a scene on, a scene off or a
# plain write: see fuzz_targets/inject_body.rs).
seed() { printf '%s' "$2" >"corpus/inject_body/seed-$1"; }
seed light-on '{"k":613,"v":"64"}'
seed array '[{"k":613,"v":"64"},{"k":349,"v":17}]'
seed launch '{"k":590,"v":"3"}'
seed scene '[{"k":590,"v":1},{"k":607,"v":"64"},{"k":617,"v":"4"}]'
seed protected '{"k":930,"v":"1"}'
seed alarm '{"k":407,"v":"1"}'
seed out-of-table '{"k":953,"v":"0"}'
seed read-only '{"k":0,"v":"1"}'
seed too-big '{"k":349,"v":256}'
seed float '{"k":349,"v":1.5}'
seed duplicate '[{"k":349,"v":"1"},{"k":349,"v":"2"}]'
seed empty '[]'
seed merge-on '+{"k":613,"v":"1"}'
seed merge-off '-[{"k":611,"v":"2"}]'
seed after-write '={"k":350,"v":"18"}'
# 31 writable, unprotected plain cells: two actions of 30 and 1.
cells=$(awk -F, 'NR > 1 && ($3 == "RW" || $3 == "RWS") && $1 != 590 && !($1 >= 605 && $1 <= 622) \
  && !($1 >= 407 && $1 <= 415) && !($1 >= 922 && $1 <= 937) { printf "%s{\"k\":%s,\"v\":\"1\"}", (n++ ? "," : ""), $1; if (n == 31) exit }' \
  ../core/data/exchange-table.csv)
seed chunked "[$cells]"
# order_cells: its input is arbitrary's encoding, so it starts from nothing.
