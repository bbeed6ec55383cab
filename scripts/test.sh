#!/usr/bin/env bash
# Runs every test of the workspace against a real PostgreSQL (found or started by
# with-postgres.sh). Each integration test creates and drops its own database, copied from
# a template database that is dropped when the tests are over. Then the
# short resilience run (faults under load) and schemathesis against the API's description
# with each role's token, each of which starts a PostgreSQL cluster of its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The tests' template database goes when they are over (scripts/lib/drop-test-template.sh).
bash scripts/with-postgres.sh bash -c '
    status=0
    cargo test --workspace --all-targets "$@" || status=$?
    bash scripts/lib/drop-test-template.sh
    exit "$status"' test.sh "$@"
bash scripts/resilience.sh
bash scripts/schemathesis.sh
bash scripts/browser-test.sh
