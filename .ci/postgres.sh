#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: a cluster in a temp dir, on 127.0.0.1 and a free port, with
# one database; exports CLICKBAIT_TEST_POSTGRES_URL and removes everything when the shell exits.
#
#   source .ci/postgres.sh                      # .ci/run does this; the cluster lives until the shell exits
#   .ci/postgres.sh python3 -m pytest -q tests/service/test_label_store.py   # run one command against it
#
# Debian's packages are installed if no PostgreSQL is found. initdb refuses to run as root, so as root
# the cluster belongs to the 'postgres' user (made if missing). It runs with fsync off: it is thrown
# away, and the tests exercise concurrency and SQL, not PostgreSQL's own crash safety.

_pg_bin_dir() {
  local found
  if found=$(command -v initdb 2>/dev/null) && command -v pg_ctl >/dev/null; then
    dirname "$(readlink -f "$found")"
    return
  fi
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$found" ]] && echo "$found"
}

_pg_start() {
  local bin owner port fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  bin=$(_pg_bin_dir) || true
  if [[ -z "$bin" ]]; then
    echo "postgres.sh: installing PostgreSQL (Debian packages)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(_pg_bin_dir)
  fi
  CLICKBAIT_PG_DIR=$(mktemp -d -t clickbait-pg.XXXXXX)
  owner=()
  if [[ $(id -u) == 0 ]]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$CLICKBAIT_PG_DIR"
    owner=(runuser -u postgres --)
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${owner[@]}" "$bin/initdb" -D "$CLICKBAIT_PG_DIR/data" -U clickbait --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$CLICKBAIT_PG_DIR/initdb.log" 2>&1 || { cat "$CLICKBAIT_PG_DIR/initdb.log" >&2; return 1; }
  "${owner[@]}" "$bin/pg_ctl" -D "$CLICKBAIT_PG_DIR/data" -l "$CLICKBAIT_PG_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $CLICKBAIT_PG_DIR -c max_connections=300 $fast" >/dev/null \
    || { cat "$CLICKBAIT_PG_DIR/server.log" >&2; return 1; }
  CLICKBAIT_PG_STOP=("${owner[@]}" "$bin/pg_ctl" -D "$CLICKBAIT_PG_DIR/data" -m immediate -w stop)
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U clickbait clickbait_test
  export CLICKBAIT_TEST_POSTGRES_URL="postgresql+psycopg://clickbait@127.0.0.1:$port/clickbait_test"
  echo "postgres.sh: CLICKBAIT_TEST_POSTGRES_URL=$CLICKBAIT_TEST_POSTGRES_URL" >&2
}

postgres_stop() {
  [[ -n "${CLICKBAIT_PG_DIR:-}" ]] || return 0
  "${CLICKBAIT_PG_STOP[@]}" >/dev/null 2>&1 || true
  rm -rf "$CLICKBAIT_PG_DIR"
  unset CLICKBAIT_PG_DIR CLICKBAIT_PG_STOP CLICKBAIT_TEST_POSTGRES_URL
}

trap postgres_stop EXIT
_pg_start || { postgres_stop; return 1 2>/dev/null || exit 1; }

if [[ "${BASH_SOURCE[0]}" == "$0" && $# -gt 0 ]]; then  # executed with a command: run it against the cluster
  "$@"
fi
