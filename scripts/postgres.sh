#!/bin/sh
# A throw-away PostgreSQL 15 cluster on loopback, for tests and benchmarks. Everything lives in
# <dir>: the data folder, the socket, the log. It runs as the `postgres` user (PostgreSQL
# refuses root), trusts every loopback connection (it is a throw-away), and keeps fsync on, so
# tests that claim durability claim it on a real one.
#
#   scripts/postgres.sh start <dir>    creates the cluster, starts it on 127.0.0.1 and a free
#                                      port; prints DATABASE_URL=… (also written to <dir>/env)
#   scripts/postgres.sh pause <dir>    stops the server, keeps the data (a database restart)
#   scripts/postgres.sh resume <dir>   starts it again on the same port
#   scripts/postgres.sh stop <dir>     stops it and removes <dir>
#
# Needs Debian's postgresql-15 (scripts/install-test-deps.sh) and root. The facts behind each
# step are in ../../shared/SCALE-OUT.md.
set -eu

BIN=/usr/lib/postgresql/15/bin
USER_NAME=spore
TIMEOUT=${POSTGRES_TIMEOUT:-60} # seconds for pg_ctl to start or stop; the machine may be busy
# A test file runs dozens of registries at once, each with a pool of up to DATABASE_POOL_SIZE
# connections and two of its own: PostgreSQL's default of 100 refuses them ("too many clients").
MAX_CONNECTIONS=${POSTGRES_MAX_CONNECTIONS:-500}

fail() {
  echo "postgres: $*" >&2
  exit 1
}

[ $# -eq 2 ] || { echo "usage: $0 start|pause|resume|stop <dir>" >&2; exit 2; }
command=$1
dir=$2

as_postgres() {
  runuser -u postgres -- "$@"
}

# pg_ctl start on the port recorded in <dir>/port; the log goes to <dir>/log.
start_server() {
  port=$(cat "$dir/port")
  as_postgres "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -t "$TIMEOUT" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=$MAX_CONNECTIONS" start >/dev/null
}

# A free TCP port on 127.0.0.1. Another program may take it before PostgreSQL binds it:
# `start` then tries again with another one.
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

case "$command" in
  start)
    [ -x "$BIN/initdb" ] || fail "PostgreSQL 15 is not installed ($BIN/initdb); apt-get install postgresql-15"
    mkdir -p "$dir"
    chown postgres: "$dir"
    chmod 700 "$dir"
    as_postgres "$BIN/initdb" -D "$dir/data" -A trust -U "$USER_NAME" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      fail "initdb failed; see $dir/initdb.log"
    for attempt in 1 2 3 4 5; do
      free_port >"$dir/port"
      if start_server; then
        url="postgres://$USER_NAME@127.0.0.1:$(cat "$dir/port")/postgres"
        echo "DATABASE_URL=$url" >"$dir/env"
        echo "DATABASE_URL=$url"
        exit 0
      fi
      echo "postgres: start attempt $attempt failed (port taken?); trying another port" >&2
    done
    fail "could not start; see $dir/log"
    ;;
  pause)
    as_postgres "$BIN/pg_ctl" -D "$dir/data" -m fast -t "$TIMEOUT" -w stop >/dev/null
    ;;
  resume)
    start_server || fail "could not start again; see $dir/log"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$BIN/pg_ctl" -D "$dir/data" -m fast -t "$TIMEOUT" -w stop >/dev/null ||
        echo "postgres: pg_ctl stop failed; removing $dir anyway" >&2
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|pause|resume|stop <dir>" >&2
    exit 2
    ;;
esac
