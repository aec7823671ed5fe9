#!/usr/bin/env bash
# Runs the gateway on this machine: builds it (installing cmake, which the MQTT client's bundled
# C library needs, when it is missing) and starts essensys-backend with its in-memory store.
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

[ $# -gt 0 ] || set -- --listen 127.0.0.1:8080
exec cargo run --release --locked -p essensys-backend -- "$@"
