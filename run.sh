#!/usr/bin/env bash
# Runs the gateway on this machine: builds it (installing cmake, which the MQTT client's bundled
# C library needs, when it is missing) and its dashboard (with Node.js, when present), and starts
# essensys-backend with its in-memory store; the dashboard is at http://127.0.0.1:8080/.
# Usage: ./run.sh [essensys-backend options]   (default: --listen 127.0.0.1:8080)
# Every option is explained by: ./run.sh --help
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v cmake >/dev/null; then
  echo "run.sh: installing cmake (needed to build the MQTT client)" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq cmake >/dev/null
fi

# The dashboard (apps/dashboard, served at /): built with Node.js when it is here and the build
# is missing or older than its sources. Without Node the gateway runs all the same, and / says
# how to get the dashboard.
dashboard_build() {
  local dir=apps/dashboard
  if [ -f "$dir/dist/index.html" ] && [ -z "$(find "$dir/src" "$dir/index.html" "$dir/package-lock.json" "$dir/vite.config.ts" -newer "$dir/dist/index.html" -print -quit)" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    echo "run.sh: Node.js (>= 20.19) not found: the gateway runs without its dashboard (install Node.js, run again)" >&2
    return 0
  fi
  echo "run.sh: building the dashboard (apps/dashboard/dist)" >&2
  (
    cd "$dir"
    [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] ||
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
    npm run build --silent
  ) || echo "run.sh: the dashboard did not build (above); the gateway runs without it" >&2
}
dashboard_build

[ $# -gt 0 ] || set -- --listen 127.0.0.1:8080
exec cargo run --release --locked -p essensys-backend -- "$@"
