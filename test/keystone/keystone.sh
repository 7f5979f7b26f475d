#!/usr/bin/env bash
# A throwaway Keystone for the authentication tests: Debian's python3-keystone served by uWSGI
# (uwsgi-core + uwsgi-plugin-python3) on a loopback port, with SQLite, fernet tokens and its
# in-process cache, everything inside one directory. Never the `keystone` package, which
# installs and starts a system service.
#
#   keystone.sh start DIR PORT ADMIN_PASSWORD   prepare DIR, start Keystone, wait until it answers
#   keystone.sh stop DIR                        stop it (SIGTERM, then SIGKILL after 5 s)
#
# `start` bootstraps (bootstrap.py) the admin user (project admin, role admin, region
# RegionOne, the identity endpoint http://127.0.0.1:PORT/v3); test/helpers/keystone.ts creates
# everything else over the API. Output of every step is kept in DIR/*.log and shown when a step
# fails.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR PORT ADMIN_PASSWORD | stop DIR" >&2
  exit 2
}

# Waits for a background step and shows its log if it failed.
wait_step() {
  local pid=$1 name=$2
  if ! wait "$pid"; then
    echo "keystone.sh: $name failed; $DIR/$name.log:" >&2
    tail -n 40 "$DIR/$name.log" >&2
    return 1
  fi
}

stop() {
  local pidfile=$DIR/uwsgi.pid pid
  [[ -s $pidfile ]] || return 0
  pid=$(<"$pidfile")
  # uWSGI runs in its own session (setsid below): the negative pid reaches master and workers.
  kill -TERM -- "-$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
  for _ in $(seq 50); do
    kill -0 -- "-$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

start() {
  local port=$1 password=$2
  mkdir -p "$DIR/fernet-keys" "$DIR/credential-keys"
  cat >"$DIR/keystone.conf" <<CONF
[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///$DIR/keystone.sqlite
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $DIR/fernet-keys
[credential]
key_repository = $DIR/credential-keys
# Without its cache Keystone spends most of a second on every token validation.
[cache]
enabled = true
backend = dogpile.cache.memory
# Test passwords: the cheapest bcrypt cost keeps password authentication fast.
[identity]
password_hash_rounds = 4
CONF

  chmod 700 "$DIR/fernet-keys" "$DIR/credential-keys"
  /usr/bin/python3 "$HERE/bootstrap.py" "$DIR/keystone.conf" "$password" "http://127.0.0.1:$port/v3" \
    >"$DIR/bootstrap.log" 2>&1 &
  local bootstrap=$!
  # Keystone exits at start-up without its keys; bootstrap.py writes them first thing.
  until [[ -s $DIR/fernet-keys/0 && -s $DIR/credential-keys/0 ]]; do
    kill -0 $bootstrap 2>/dev/null || break
    sleep 0.05
  done

  # One process with one thread: Keystone's SQLite connections must not cross threads, and its
  # memory cache (revocations included) is per process. Requests queue; the tests are small.
  # uWSGI's http-socket closes each connection after one answer without saying so; the header
  # tells clients (python-requests would reuse it and get a reset).
  # Its start-up (imports, ~5 s) overlaps the rest of the bootstrap (db_sync, bootstrap);
  # readiness below is checked on GET /v3, which needs no database.
  OS_KEYSTONE_CONFIG_FILES=$DIR/keystone.conf setsid uwsgi \
    --plugin python3 \
    --http-socket "127.0.0.1:$port" \
    --wsgi-file /usr/bin/keystone-wsgi-public \
    --master --processes 1 --single-interpreter \
    --buffer-size 32768 \
    --add-header 'Connection: close' \
    --die-on-term --need-app \
    >"$DIR/uwsgi.log" 2>&1 </dev/null &
  # Without job control setsid does not fork: $! is uWSGI's master, leader of its own group.
  echo $! >"$DIR/uwsgi.pid"
  wait_step $bootstrap bootstrap || { stop; return 1; }

  # Ready when GET /v3 answers (python3 is there: Keystone runs on it; curl may not be).
  for _ in $(seq 600); do
    if /usr/bin/python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
      "http://127.0.0.1:$port/v3" 2>/dev/null; then
      return 0
    fi
    if [[ -s $DIR/uwsgi.pid ]] && ! kill -0 "$(<"$DIR/uwsgi.pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "keystone.sh: Keystone did not answer on port $port; $DIR/uwsgi.log:" >&2
  tail -n 60 "$DIR/uwsgi.log" >&2
  stop
  return 1
}

[[ $# -ge 2 ]] || usage
HERE=$(dirname "$(realpath "$0")")
DIR=$(realpath "$2")
case $1 in
  start) [[ $# -eq 4 ]] || usage; start "$3" "$4" ;;
  stop) stop ;;
  *) usage ;;
esac
