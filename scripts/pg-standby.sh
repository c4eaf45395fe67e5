#!/usr/bin/env bash
# A streaming hot standby of the local PostgreSQL (127.0.0.1:5432) for the replica tests:
# a second cluster on port 5433, cloned with `pg_basebackup -R`, run as the postgres user.
#
#   scripts/pg-standby.sh start    # idempotent: a running standby is left alone, a stale
#                                  # or broken data directory is rebuilt
#   scripts/pg-standby.sh stop
#   scripts/pg-standby.sh status   # exit 0 when it answers and is in recovery
#
# Settings (environment): PRIMARY_HOST/PRIMARY_PORT (127.0.0.1:5432), STANDBY_PORT (5433),
# STANDBY_DIR (/var/tmp/orm-pg-standby). The primary's pg_hba.conf gets a
# `host replication all 127.0.0.1/32 trust` line (and a reload) when it has none.
set -euo pipefail

PRIMARY_HOST="${PRIMARY_HOST:-127.0.0.1}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
STANDBY_PORT="${STANDBY_PORT:-5433}"
STANDBY_DIR="${STANDBY_DIR:-/var/tmp/orm-pg-standby}"
DATA="$STANDBY_DIR/data"
LOG="$STANDBY_DIR/server.log"

bin_dir() {
  local pg_config
  pg_config="$(command -v pg_config || true)"
  if [ -n "$pg_config" ] && [ -x "$("$pg_config" --bindir)/pg_ctl" ]; then
    "$pg_config" --bindir
  else
    # Debian keeps the server binaries out of PATH.
    ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1
  fi
}
BIN="$(bin_dir)"

# Runs a command as the postgres user (the server refuses to run as root).
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

psql_at() { # port, sql
  as_postgres "$BIN/psql" -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atc "$2" 2>/dev/null
}

standby_ok() { [ "$(psql_at "$STANDBY_PORT" 'SELECT pg_is_in_recovery()')" = t ]; }

allow_replication() {
  local hba
  hba="$(psql_at "$PRIMARY_PORT" 'SHOW hba_file')"
  if [ -z "$hba" ]; then
    echo "pg-standby: the primary at $PRIMARY_HOST:$PRIMARY_PORT does not answer" >&2
    exit 1
  fi
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    echo "pg-standby: allowing local replication in $hba"
    printf '\n# Added by scripts/pg-standby.sh: local streaming replication for the replica tests.\nhost replication all 127.0.0.1/32 trust\n' >>"$hba"
    psql_at "$PRIMARY_PORT" 'SELECT pg_reload_conf()' >/dev/null
  fi
}

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then
    as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

start() {
  if standby_ok; then
    echo "pg-standby: already running on port $STANDBY_PORT"
    return 0
  fi
  allow_replication
  # Something answers on the port but is not our standby, or the directory is stale
  # (never finished, or from an older primary): rebuild from scratch.
  stop
  if [ -d "$DATA" ] && ! try_start; then
    echo "pg-standby: $DATA is stale: rebuilding it"
    stop
    rm -rf "$DATA"
  fi
  if [ ! -d "$DATA" ]; then
    mkdir -p "$STANDBY_DIR"
    chown postgres:postgres "$STANDBY_DIR" 2>/dev/null || true
    echo "pg-standby: cloning $PRIMARY_HOST:$PRIMARY_PORT into $DATA"
    as_postgres "$BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres \
      -D "$DATA" -R -X stream -c fast
    # The clone carries the primary's settings; the standby only needs its own port and
    # a socket directory it may write to.
    cat >>"$DATA/postgresql.auto.conf" <<CONF
port = $STANDBY_PORT
hot_standby = on
listen_addresses = '127.0.0.1'
unix_socket_directories = '$STANDBY_DIR'
CONF
    if ! try_start; then
      echo "pg-standby: the standby did not come up; its log:" >&2
      tail -n 30 "$LOG" >&2 || true
      exit 1
    fi
  fi
  echo "pg-standby: hot standby of $PRIMARY_HOST:$PRIMARY_PORT running on port $STANDBY_PORT"
}

# Starts the server in $DATA and waits until it answers in recovery (30 s).
try_start() {
  # Debian's clusters keep postgresql.conf and pg_hba.conf in /etc: a copied data
  # directory has neither. The standby is a local test server: trust local clients.
  if [ ! -f "$DATA/postgresql.conf" ]; then
    as_postgres touch "$DATA/postgresql.conf"
  fi
  if [ ! -f "$DATA/pg_hba.conf" ]; then
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_postgres tee "$DATA/pg_hba.conf" >/dev/null
  fi
  if [ ! -f "$DATA/pg_ident.conf" ]; then
    as_postgres touch "$DATA/pg_ident.conf"
  fi
  [ -f "$DATA/standby.signal" ] || return 1
  as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $STANDBY_PORT" -w -t 30 start >/dev/null 2>&1 || return 1
  for _ in $(seq 1 30); do
    standby_ok && return 0
    sleep 1
  done
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop; echo "pg-standby: stopped" ;;
  status)
    if standby_ok; then
      echo "pg-standby: running on port $STANDBY_PORT (in recovery)"
    else
      echo "pg-standby: not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
