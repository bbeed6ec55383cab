# Shared by scripts/with-postgres.sh and scripts/resilience.sh (sourced, not run): finding
# PostgreSQL's binaries (installing Debian's package when there are none) and running a
# private cluster in a directory of its own. The caller defines `log`.

# Whether a server answers on host:port.
server_answers() {
    local host=$1 port=$2
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 3
    else
        timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
    fi
}

# The directory of the newest installed PostgreSQL's binaries, or nothing.
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

# The binaries' directory, installing them first if there are none; exits when it cannot.
postgres_bin_dir_or_install() {
    local bin
    bin=$(postgres_bin_dir)
    if [ -z "$bin" ]; then
        install_postgres >&2
        bin=$(postgres_bin_dir)
    fi
    [ -n "$bin" ] || { log "PostgreSQL binaries still missing after install"; exit 1; }
    echo "$bin"
}

# Runs a PostgreSQL tool as the postgres user when we are root: initdb refuses root.
as_cluster_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Creates a cluster in $2 with the binaries of $1 unless one is there (trust, user postgres).
init_cluster() {
    local bin=$1 dir=$2
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$dir"
    fi
    if [ ! -f "$dir/PG_VERSION" ]; then
        log "initialising a private cluster in $dir"
        as_cluster_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
}

# Starts the cluster in $2 on 127.0.0.1:$3 (only there, socket in $2) unless it runs.
start_cluster() {
    local bin=$1 dir=$2 port=$3
    if ! as_cluster_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        log "starting the private cluster on 127.0.0.1:$port"
        as_cluster_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" \
            start >/dev/null
    fi
}
