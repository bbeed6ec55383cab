#!/usr/bin/env bash
# Runs every test of the workspace against a real PostgreSQL (found or started by
# with-postgres.sh). Each integration test creates and drops its own database. Then the
# short resilience run (faults under load) and schemathesis against the API's description
# with each role's token, each of which starts a PostgreSQL cluster of its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/with-postgres.sh cargo test --workspace --all-targets "$@"
bash scripts/resilience.sh
bash scripts/schemathesis.sh
bash scripts/browser-test.sh
