#!/usr/bin/env bash
# The whole test suite, as CI runs it, on a fresh machine: installs what it needs, then checks
# formatting and lints and runs every test. Usage: ./test.sh
set -euo pipefail
cd "$(dirname "$0")"

# System packages the integration tests start privately (each on its own free port).
need_packages=()
command -v redis-server >/dev/null || need_packages+=(redis-server)
command -v redis-cli >/dev/null || need_packages+=(redis-tools)
command -v mosquitto >/dev/null || need_packages+=(mosquitto)
command -v mosquitto_passwd >/dev/null || need_packages+=(mosquitto)
# paho-mqtt builds its bundled C library with cmake
command -v cmake >/dev/null || need_packages+=(cmake)
apt_install() {
  [ ${#need_packages[@]} -eq 0 ] && return 0
  # shellcheck disable=SC2207
  need_packages=($(printf '%s\n' "${need_packages[@]}" | sort -u))
  echo "test.sh: installing ${need_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_packages[@]}" >/dev/null
}
apt_install

for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
CI=true cargo test --workspace --locked
