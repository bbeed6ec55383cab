#!/usr/bin/env bash
# Runs the registry with demo data on this machine: finds or starts PostgreSQL, then
# `unntak demo` creates the database `unntak_demo` afresh, migrates, seeds, reports
# decisions, seals, verifies and serves on UNNTAK_BIND (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x target/debug/unntak ]; then
    echo "demo: building unntak first; a cold build takes about 8 minutes on 2 cores (cargo shows its progress)" >&2
fi
cargo build -p unntak
exec bash scripts/with-postgres.sh target/debug/unntak demo "$@"
