#!/usr/bin/env bash
# cargo deny check (advisories, licences, duplicate versions, sources; see deny.toml), with
# cargo-deny installed first when it is missing or another version (into ~/.cargo/bin,
# which stays on the machine: later runs find it).
#
# The advisory database is fetched from its upstream repository when it can be. Where it
# cannot (this project's machines and CI reach no code host, only package registries), the
# advisories are checked against the snapshot of the database shipped in scripts/deny/,
# and its age is printed; past 90 days (cargo-deny's own limit for a database not fetched)
# a warning says to refresh it:
#
#   bash scripts/deny.sh --refresh-snapshot PATH   # PATH: a clone of rustsec/advisory-db
set -euo pipefail

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_root"

version=0.20.2
snapshot="$project_root/scripts/deny/advisory-db.tar.gz"
snapshot_info="$project_root/scripts/deny/advisory-db.snapshot"   # "COMMIT COMMIT-DATE"

log() { echo "deny: $*" >&2; }

if [ "${1:-}" = "--refresh-snapshot" ]; then
    source_repo=$2
    commit=$(git -C "$source_repo" rev-parse HEAD)
    date=$(git -C "$source_repo" show -s --format=%cI HEAD)
    # The advisories of crates (the database's crates/ directory, all cargo-deny reads) and
    # the database's licence (CC0-1.0).
    git -C "$source_repo" archive --format=tar HEAD crates LICENSE.txt | gzip -n -9 >"$snapshot"
    echo "$commit $date" >"$snapshot_info"
    log "snapshot of $commit ($date) written to $snapshot"
    exit 0
fi

if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $version"; then
    log "installing cargo-deny $version"
    cargo install --locked --quiet cargo-deny --version "$version"
fi

# Every crate of the lock file, for every target, so the checks below can run offline.
cargo fetch --locked --quiet

if timeout 300 cargo deny --color never fetch db >/dev/null 2>&1; then
    log "advisories: the database as just fetched"
    exec cargo deny --color never --offline check
fi

read -r commit date <"$snapshot_info"
age_days=$(( ($(date +%s) - $(date -d "$date" +%s)) / 86400 ))
log "advisories: the database cannot be fetched from this machine; checking against the"
log "  snapshot in scripts/deny/ of $date (commit ${commit:0:12}), $age_days days old"
if [ "$age_days" -gt 90 ]; then
    log "WARNING: the advisory snapshot is $age_days days old: advisories published since"
    log "  are not checked. Refresh it: bash scripts/deny.sh --refresh-snapshot PATH"
fi

# cargo-deny keeps each database under db-path in a directory named after the hash of its
# URL, and with --offline opens it there without fetching. The name below is the one it
# gives the default URL (cargo-deny 0.20, helpers/db.rs url_to_db_path); if a new version
# names it otherwise, it says which directory it looked for.
db_root="$project_root/target/deny/advisory-dbs"
db="$db_root/advisory-db-3157b0e258782691"
if [ "$(cat "$db/.snapshot" 2>/dev/null)" != "$commit" ]; then
    rm -rf "$db"
    mkdir -p "$db"
    tar -xzf "$snapshot" -C "$db"
    # cargo-deny reads the database's time from git.
    git -C "$db" init -q -b main
    git -C "$db" add -A
    GIT_COMMITTER_DATE="$date" git -C "$db" -c user.name=snapshot -c user.email=snapshot@invalid \
        commit -q --date "$date" -m "advisory-db $commit"
    echo "$commit" >"$db/.snapshot"
fi
config="$project_root/target/deny/deny.toml"
sed "s|^\[advisories\]\$|[advisories]\ndb-path = \"$db_root\"|" deny.toml >"$config"
grep -q "^db-path = " "$config" || { log "deny.toml has no [advisories] line to extend"; exit 1; }
exec cargo deny --color never --offline --config "$config" check
