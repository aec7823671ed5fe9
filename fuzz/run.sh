#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a while; exits non-zero when one crashes (the
# input is left under fuzz/artifacts/<target>/, its path printed).
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20 s, every target)
#
# Each target starts from its working corpus fuzz/corpus/<target>/ (seeded from fixtures/ by
# seed.sh, kept between runs, git-ignored) and first replays fuzz/regressions/<target>/. The
# stable toolchain does it with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Zsanitizer=address); the
# build is release with debug assertions and overflow checks (-a) and AddressSanitizer.
# libFuzzer's own output goes to fuzz/target/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(status request_head inject_body order_cells)
case $seconds in
  '' | *[!0-9]*) echo "fuzz/run.sh: SECONDS_PER_TARGET must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.'; then
  echo "fuzz/run.sh: installing cargo-fuzz 0.13.1 (about a minute)" >&2
  cargo install cargo-fuzz --version 0.13.1 --locked
fi

# fuzz/Cargo.lock is kept, like the workspace's: refuse to run on a stale one.
if ! cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null; then
  echo "fuzz/run.sh: fuzz/Cargo.lock is out of date; refresh it from the workspace's with" >&2
  echo "  cp Cargo.lock fuzz/Cargo.lock && cargo metadata --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null" >&2
  exit 1
fi

fuzz/seed.sh
start=$(date +%s)
cargo fuzz build -a
echo "fuzz/run.sh: built in $(($(date +%s) - start)) s" >&2

# What libFuzzer is told, per target.
options() {
  local target=$1
  printf '%s\n' -max_total_time="$seconds" -print_final_stats=1 -timeout=10
  [ -f "fuzz/dict/$target.dict" ] && printf '%s\n' -dict="fuzz/dict/$target.dict"
  # request_head: past MAX_HEAD (8 KiB) + 1, where the server stops looking for the head's end
  [ "$target" = request_head ] && printf '%s\n' -max_len=9000
  return 0
}

mkdir -p fuzz/target/logs
failed=()
summary=()
for target in "${targets[@]}"; do
  log=fuzz/target/logs/$target.log
  mkdir -p "fuzz/corpus/$target" "fuzz/regressions/$target"
  mapfile -t opts < <(options "$target")
  echo "fuzz/run.sh: $target for $seconds s" >&2
  rc=0
  cargo fuzz run -a "$target" "fuzz/corpus/$target" "fuzz/regressions/$target" -- "${opts[@]}" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf '%-13s %12s executions in %s s, corpus %s inputs: ok' "$target" "${runs:-?}" "$seconds" "$corpus")")
  else
    failed+=("$target")
    summary+=("$(printf '%-13s %12s executions: FAILED (exit %s)' "$target" "${runs:-?}" "$rc")")
    # The panic (or sanitizer report), then cargo-fuzz's own account: the input's path, its
    # Debug form, how to reproduce and minimize it (with RUSTC_BOOTSTRAP=1 in front).
    echo "---- $target failed (whole output: $log)" >&2
    awk '/panicked at|==[0-9]+==ERROR: AddressSanitizer/ { n = 12 } n > 0 { print; n-- }' "$log" | head -n 40 >&2
    grep -E 'SUMMARY:|Test unit written to' "$log" >&2 || true
    sed -n '/^Failing input:/,$p' "$log" | head -n 80 >&2
  fi
done

echo "fuzz/run.sh: ${#targets[@]} targets, $seconds s each"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
