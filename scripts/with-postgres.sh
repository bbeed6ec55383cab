#!/usr/bin/env bash
# Runs a command with DATABASE_URL naming a PostgreSQL server, so the demo and the tests
# work on a fresh machine:
#   1. DATABASE_URL, when set, wins.
#   2. Otherwise a server answering on 127.0.0.1:5432 is used (user postgres, trust auth).
#   3. Otherwise a private cluster is started under target/pgdata from the installed
#      PostgreSQL binaries, installing Debian's postgresql package first if there are none.
# UNNTAK_PRIVATE_POSTGRES=1 skips step 2 (to test step 3 on a machine that has a server).
set -euo pipefail

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
private_dir="$project_root/target/pgdata"
private_port="${UNNTAK_PRIVATE_PG_PORT:-55432}"

log() { echo "with-postgres: $*" >&2; }

server_answers() {
    local host=$1 port=$2
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 3
    else
        timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
    fi
}

postgres_bin_dir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ] && command -v initdb >/dev/null 2>&1; then
        found=$(dirname "$(command -v initdb)")
    fi
    echo "$found"
}

install_postgres() {
    log "no PostgreSQL binaries found; installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

# Runs a PostgreSQL tool as the postgres user when we are root: initdb refuses root.
as_cluster_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_private_cluster() {
    local bin
    bin=$(postgres_bin_dir)
    if [ -z "$bin" ]; then
        install_postgres
        bin=$(postgres_bin_dir)
    fi
    [ -n "$bin" ] || { log "PostgreSQL binaries still missing after install"; exit 1; }
    mkdir -p "$private_dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$private_dir"
    fi
    if [ ! -f "$private_dir/PG_VERSION" ]; then
        log "initialising a private cluster in $private_dir"
        as_cluster_owner "$bin/initdb" -D "$private_dir" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_cluster_owner "$bin/pg_ctl" -D "$private_dir" status >/dev/null 2>&1; then
        log "starting the private cluster on 127.0.0.1:$private_port"
        as_cluster_owner "$bin/pg_ctl" -D "$private_dir" -w -t 60 -l "$private_dir/server.log" \
            -o "-p $private_port -k $private_dir -c listen_addresses=127.0.0.1 -c max_connections=300" \
            start >/dev/null
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:$private_port/postgres"
}

if [ -n "${DATABASE_URL:-}" ]; then
    log "using DATABASE_URL from the environment"
elif [ "${UNNTAK_PRIVATE_POSTGRES:-0}" != "1" ] && server_answers 127.0.0.1 5432; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    log "using the server on 127.0.0.1:5432"
else
    start_private_cluster
fi

exec "$@"
