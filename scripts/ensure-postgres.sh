# Sourced: makes sure a PostgreSQL server is reachable for the tests and exports
# BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING. Uses the one on
# 127.0.0.1:5432 when it answers; otherwise starts a throwaway cluster (Debian's
# `postgresql` package, installed when missing) under .tools/pg on port 54329.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BACKSTAGE_TEST_DISABLE_DOCKER=1

pg_answers() { # host port
  node -e '
    const s = require("net").connect({ host: process.argv[1], port: +process.argv[2] });
    s.on("connect", () => process.exit(0)); s.on("error", () => process.exit(1));
    setTimeout(() => process.exit(1), 1000);' "$1" "$2"
}

if [ -z "${DMIG_PG_THROWAWAY:-}" ] && pg_answers 127.0.0.1 5432; then
  export BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING="${BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING:-postgresql://postgres@127.0.0.1:5432}"
else
  PGPORT_LOCAL=54329
  if ! pg_answers 127.0.0.1 $PGPORT_LOCAL; then
    pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$pgbin" ]; then
      echo "==> installing PostgreSQL (Debian package postgresql)"
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
      $SUDO apt-get update -qq >/dev/null && \
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends postgresql >/dev/null || exit 1
      pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    # PostgreSQL refuses to run as root: run the throwaway cluster as `postgres`.
    RUN=""; PGDATA_DIR="$ROOT/.tools/pg/data"
    if [ "$(id -u)" = 0 ]; then
      RUN="runuser -u postgres --"; PGDATA_DIR="/tmp/dataset-migration-pg-$PGPORT_LOCAL"
    fi
    echo "==> starting a throwaway PostgreSQL on 127.0.0.1:$PGPORT_LOCAL ($PGDATA_DIR)"
    rm -rf "$PGDATA_DIR"; mkdir -p "$PGDATA_DIR"
    [ -n "$RUN" ] && chown postgres "$PGDATA_DIR"
    $RUN "$pgbin/initdb" -A trust -U postgres -D "$PGDATA_DIR" >/dev/null || exit 1
    $RUN "$pgbin/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/log" -w \
      -o "-p $PGPORT_LOCAL -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null || exit 1
  fi
  export BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING="postgresql://postgres@127.0.0.1:$PGPORT_LOCAL"
fi
