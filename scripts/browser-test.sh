#!/usr/bin/env bash
# The browser test of the pages for people (issue 14): headless Chromium signs in, loads
# the dashboard, changes a filter, opens the report and prints it to PDF, with axe-core
# at WCAG 2.1 AA on every page, and the API reference renders with the network off
# (tests/browser/e2e.mjs says what it checks).
#
#   bash scripts/browser-test.sh
#
# Installs what it needs, idempotently: Debian's chromium when /usr/bin/chromium is
# missing (apt-get; as root, or with sudo), and the pinned npm packages of
# tests/browser (playwright-core, axe-core) with `npm ci`. Nothing downloads a browser:
# playwright-core drives /usr/bin/chromium. Then `unntak demo` fills a fresh database of
# its own (dropped afterwards) and serves it on a free port of 127.0.0.1, and the test
# runs against it. Screenshots, the PDF and the server's log go to target/browser.
# Needs Node.js 20 or later. UNNTAK_BIN names another binary than target/debug/unntak.
set -euo pipefail

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_root"

# A PostgreSQL server to create the demo database on (found or started as for the tests).
if [ -z "${DATABASE_URL:-}" ]; then
    exec bash scripts/with-postgres.sh bash "$0" "$@"
fi

log() { echo "browser-test: $*" >&2; }
started=$(date +%s)
out="$project_root/target/browser"
mkdir -p "$out"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian's chromium"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    log "needs Node.js 20 or later (playwright-core does), with npm"
    exit 1
fi

# npm ci only when the lock file changed since the last install.
browser_dir="$project_root/tests/browser"
stamp="$browser_dir/node_modules/.installed-lock.json"
if ! cmp -s "$browser_dir/package-lock.json" "$stamp" 2>/dev/null; then
    log "installing playwright-core and axe-core (npm ci)"
    (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    cp "$browser_dir/package-lock.json" "$stamp"
fi

unntak="${UNNTAK_BIN:-$project_root/target/debug/unntak}"
if [ -z "${UNNTAK_BIN:-}" ]; then
    cargo build -q -p unntak    # nothing to do when the test command has just built it
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
database="unntak_browser_$$"
database_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$DATABASE_URL" "$database")
year="${YEAR:-2025}"    # the demo's synthetic registry covers 2020 to 2025

server_pid=""
cleanup() {
    local status=$?
    trap - EXIT
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if command -v psql >/dev/null 2>&1; then
        psql "$DATABASE_URL" -qc "drop database if exists \"$database\" with (force)" >/dev/null 2>&1 || true
    fi
    [ "$status" -eq 0 ] || log "FAILED (exit $status); the server's log is $out/server.log"
    exit "$status"
}
trap cleanup EXIT

log "starting unntak demo on $base (database $database)"
UNNTAK_BIND="127.0.0.1:$port" "$unntak" demo --database-name "$database" >"$out/server.log" 2>&1 &
server_pid=$!
# Ready once the demo's data is in and the projections have caught up with it.
for _ in $(seq 1 300); do
    if curl -sf -o /dev/null "$base/readyz"; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        log "unntak demo stopped:"; tail -n 20 "$out/server.log" >&2; exit 1
    fi
    sleep 1
done
curl -sf -o /dev/null "$base/readyz" || { log "the server was not ready within 300 s"; exit 1; }
log "server ready after $(( $(date +%s) - started )) s"

token() { "$unntak" token create --database-url "$database_url" --label "browser test $1" --role "$@"; }
reviewer=$(token reviewer)
reporter=$(token reporter --org 993467049)

(cd "$browser_dir" && BASE_URL="$base" REVIEWER_TOKEN="$reviewer" REPORTER_TOKEN="$reporter" \
    OUT_DIR="$out" YEAR="$year" node e2e.mjs)
log "done in $(( $(date +%s) - started )) s"
