#!/usr/bin/env bash
# Runs a command with DATABASE_URL naming a PostgreSQL server, so the demo and the tests
# work on a fresh machine:
#   1. DATABASE_URL, when set, wins.
#   2. Otherwise a server answering on 127.0.0.1:5432 is used (user postgres, trust auth).
#   3. Otherwise a private cluster is started under target/pgdata from the installed
#      PostgreSQL binaries, installing Debian's postgresql package first if there are none.
# UNNTAK_PRIVATE_POSTGRES=1 skips step 2 (to test step 3 on a machine that has a server).
# The private cluster keeps running after the command, so the next one starts at once
# (it listens on 127.0.0.1 only); it says so each time. To stop it:
#   bash scripts/with-postgres.sh stop
set -euo pipefail

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
private_dir="$project_root/target/pgdata"
private_port="${UNNTAK_PRIVATE_PG_PORT:-55432}"

log() { echo "with-postgres: $*" >&2; }

# server_answers, postgres_bin_dir_or_install, init_cluster, start_cluster.
source "$project_root/scripts/lib/postgres.sh"

start_private_cluster() {
    local bin
    bin=$(postgres_bin_dir_or_install)
    init_cluster "$bin" "$private_dir"
    start_cluster "$bin" "$private_dir" "$private_port"
    export DATABASE_URL="postgres://postgres@127.0.0.1:$private_port/postgres"
    log "the private cluster on 127.0.0.1:$private_port (data in $private_dir) keeps running after this command; stop it with: bash scripts/with-postgres.sh stop"
}

stop_private_cluster() {
    local bin
    bin=$(postgres_bin_dir)
    if [ -z "$bin" ] || [ ! -f "$private_dir/PG_VERSION" ] \
        || ! as_cluster_owner "$bin/pg_ctl" -D "$private_dir" status >/dev/null 2>&1; then
        log "no private cluster is running in $private_dir"
        return 0
    fi
    as_cluster_owner "$bin/pg_ctl" -D "$private_dir" -m fast -w stop >/dev/null
    log "stopped the private cluster in $private_dir (its data stays; delete the directory to remove it)"
}

if [ "${1:-}" = "stop" ] && [ "$#" -eq 1 ]; then
    stop_private_cluster
    exit 0
fi

if [ -n "${DATABASE_URL:-}" ]; then
    log "using DATABASE_URL from the environment"
elif [ "${UNNTAK_PRIVATE_POSTGRES:-0}" != "1" ] && server_answers 127.0.0.1 5432; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    log "using the server on 127.0.0.1:5432"
else
    start_private_cluster
fi

exec "$@"
