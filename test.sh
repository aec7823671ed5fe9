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
# the MCP tests drive the official Python client in a virtualenv
command -v python3 >/dev/null || need_packages+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_packages+=(python3-venv)
# the proxy tests run a private nginx with compose/nginx/box-api.conf; compose/check.sh runs it too
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_packages+=(nginx)
# the dashboard's browser tests drive Debian's Chromium (Playwright downloads no browser)
[ -x /usr/bin/chromium ] || need_packages+=(chromium)
apt_install() {
  [ ${#need_packages[@]} -eq 0 ] && return 0
  # shellcheck disable=SC2207
  need_packages=($(printf '%s\n' "${need_packages[@]}" | sort -u))
  echo "test.sh: installing ${need_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The packages' own services (redis on 6379, mosquitto on 1883, nginx on port 80) must not
  # start: the tests run private ones. A policy-rc.d that forbids every action, for this install.
  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
  fi
  apt-get update -qq && apt-get install -y -qq "${need_packages[@]}" >/dev/null || rc=$?
  [ "$made_policy" -eq 0 ] || rm -f "$policy"
  return "$rc"
}
apt_install

# The official MCP client (pinned) for the MCP tests, in a virtualenv kept under target/.
MCP_CLIENT="mcp==2.3.0"
venv=target/py
if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("mcp") != "2.3.0")' 2>/dev/null; then
  echo "test.sh: installing the Python MCP client ($MCP_CLIENT) in $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$MCP_CLIENT"
fi
export ESSENSYS_TEST_PYTHON="$PWD/$venv/bin/python"

# The compose stack's configuration, each file checked by its own tool (promtool, amtool, nginx,
# Compose v2, mosquitto); it installs promtool into target/tools/bin, which the metrics tests use.
compose/check.sh
export ESSENSYS_TEST_PROMTOOL="$PWD/target/tools/bin/promtool"
ESSENSYS_TEST_NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
export ESSENSYS_TEST_NGINX

for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
CI=true cargo test --workspace --locked

# --- the dashboard (apps/dashboard): its type check and build, the vitest unit tests, then
# Playwright in Debian's Chromium against the backend and bp-sim just built (e2e/gateway.ts).
# Node.js >= 20.19 is the machine's own (the gateway itself runs without it).
if ! command -v npm >/dev/null; then
  echo "test.sh: the dashboard's tests need Node.js >= 20.19 and npm; install them and run again" >&2
  exit 1
fi
cargo build --locked -p essensys-backend -p essensys-bp-sim
(
  cd apps/dashboard
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  npm run build
  npm test
  rm -rf screenshots test-results
  ESSENSYS_E2E_CHROMIUM=/usr/bin/chromium npm run e2e
  echo "test.sh: screenshots of each page in apps/dashboard/screenshots/ (not committed)"
)

# --- fuzzing (fuzz/, its own cargo project): each of the four targets (status parser, request
# head + the server's slicing, inject body through the router, Order::commands) for 15 s, ~60 s
# in all plus the build (~70 s cold); a crash fails the suite and its input is printed. Longer
# runs: README "Fuzzing".
fuzz/run.sh 15
# --- end of fuzzing
