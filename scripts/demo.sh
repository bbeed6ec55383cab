#!/usr/bin/env bash
# Runs the registry with demo data on this machine: finds or starts PostgreSQL, then
# `unntak demo` creates the database `unntak_demo` if missing, migrates, seeds, reports
# decisions over HTTP, seals, verifies and serves on UNNTAK_BIND (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec bash scripts/with-postgres.sh cargo run --quiet -p unntak -- demo "$@"
