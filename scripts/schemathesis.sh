#!/usr/bin/env bash
# Schemathesis against the API (issue 12): the API's own description, /api/v1/openapi.json,
# drives generated requests (valid and invalid bodies, paths and query strings) to every
# operation, once with a token of each role (admin, reporter, reviewer, supervisor,
# researcher), and every answer must be
#   - no server error (not_a_server_error),
#   - of a status the operation documents (status_code_conformance),
#   - of a content type documented for that status (content_type_conformance),
#   - shaped as the description says for that status (response_schema_conformance).
# It exits 1 if any run finds a failure, and prints per role the cases generated and the
# failures found; each run's full output is kept in target/schemathesis/.
#
#   bash scripts/schemathesis.sh                     # the short form (the test command runs it)
#   SCHEMATHESIS_EXAMPLES=200 bash scripts/schemathesis.sh     # longer
#   SCHEMATHESIS_SEED=123 bash scripts/schemathesis.sh         # repeat a run
#   SCHEMATHESIS_CHECKS=all bash scripts/schemathesis.sh       # other checks (comma list)
#
# Schemathesis (a pinned version) is installed with pip into a virtual environment under
# target/venv-schemathesis on the first run. The registry runs with the demo's data
# (`unntak demo --no-serve`) in a PostgreSQL cluster of its own under target/schemathesis,
# on free ports, and `unntak serve` (target/debug/unntak, UNNTAK_BIN for another) serves
# it on 127.0.0.1; every request goes there. It takes about 90 s on 2 idle cores (a
# minute more the first time, for pip); a watchdog ends it after 420 s.
set -euo pipefail

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_root"

schemathesis_version=4.32.5
examples="${SCHEMATHESIS_EXAMPLES:-15}"
seed="${SCHEMATHESIS_SEED:-$((RANDOM * 32768 + RANDOM))}"
roles=(admin reporter reviewer supervisor researcher)
checks="${SCHEMATHESIS_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}"
venv="$project_root/target/venv-schemathesis"
work="$project_root/target/schemathesis"
unntak="${UNNTAK_BIN:-$project_root/target/debug/unntak}"

log() { echo "schemathesis: $*" >&2; }
# server_answers, postgres_bin_dir_or_install, as_cluster_owner, init_cluster, start_cluster.
source "$project_root/scripts/lib/postgres.sh"

run_started=$(date +%s)

# --- schemathesis, installed once -----------------------------------------------------
schemathesis="$venv/bin/schemathesis"
if ! "$schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $schemathesis_version"; then
    log "installing schemathesis $schemathesis_version into $venv"
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi
if [ -z "${UNNTAK_BIN:-}" ]; then
    cargo build -q -p unntak    # nothing to do when the test command has just built it
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server_pid=""
watchdog_pid=""
run_pids=()
pg_bin=""
pg_dir="$work/pgdata"

cleanup() {
    local status=$?
    trap - EXIT
    for pid in "${run_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null || true
    if [ -n "$pg_bin" ] && [ -f "$pg_dir/PG_VERSION" ]; then
        as_cluster_owner "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ "$status" -eq 0 ]; then
        rm -rf "$pg_dir"
    else
        log "FAILED (exit $status); the runs' output and the server's log are in $work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

limit=420
(
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$limit" &
    sleeper=$!
    wait "$sleeper"
    log "over the time limit of $limit s"
    kill -TERM $$
) &
watchdog_pid=$!

# --- the registry with the demo's data, on a private cluster ------------------------------
rm -rf "$work"
mkdir -p "$work"
pg_bin=$(postgres_bin_dir_or_install)
pg_port=$(free_port)
http_port=$(free_port)
init_cluster "$pg_bin" "$pg_dir"
start_cluster "$pg_bin" "$pg_dir" "$pg_port"
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
log "demo data"
"$unntak" demo --no-serve --database-name unntak_schemathesis --bind 127.0.0.1:0 \
    >"$work/demo.log" 2>&1 || { tail -n 20 "$work/demo.log" >&2; exit 1; }
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/unntak_schemathesis"

token() {
    "$unntak" token create --label "schemathesis $1" --role "$@" 2>>"$work/tokens.log"
}
declare -A tokens
tokens[admin]=$(token admin)
tokens[reporter]=$(token reporter --org 993467049)   # Oslo universitetssykehus
tokens[reviewer]=$(token reviewer)
tokens[supervisor]=$(token supervisor)

"$unntak" seal --generate-key "$work/seal.pem" >/dev/null
export UNNTAK_PSEUDONYM_KEY="schemathesis-only-pseudonym-key-not-for-any-real-use"
export UNNTAK_SEAL_SIGNING_KEY_FILE="$work/seal.pem"
export UNNTAK_BIND="127.0.0.1:$http_port" UNNTAK_LOG_FORMAT=text UNNTAK_DRAIN_DELAY=0
# Generated requests without a valid token are many and all from one address: they are
# not to lock the address out.
export UNNTAK_FAILED_AUTHENTICATIONS_PER_MINUTE=1000000
unset UNNTAK_METRICS_TOKEN || true
"$unntak" serve >"$work/serve.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$http_port"
for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$base/readyz" && break
    kill -0 "$server_pid" 2>/dev/null || { tail -n 20 "$work/serve.log" >&2; exit 1; }
    sleep 0.2
done
curl -sf -o /dev/null "$base/readyz" || { log "serve did not become ready"; exit 1; }
# A researcher's token is for an approved project only: approve one, then make the token.
curl -sf -o /dev/null -X POST "$base/api/v1/research-projects" \
    -H "Authorization: Bearer ${tokens[admin]}" -H 'Content-Type: application/json' \
    -d '{"project_id": "schemathesis", "title": "Schemathesis", "institution": "unntak",
         "approval_ref": "REK 2025/1", "valid_from": "2024-01-01", "valid_until": "2099-12-31",
         "variables": ["scheme", "outcome"], "period_from": "2024-01-01",
         "period_until": "2025-12-31", "schemes": ["individual_exemption"]}' \
    || { log "could not approve the research project"; exit 1; }
tokens[researcher]=$(token researcher --project schemathesis)

# --- one run per role, side by side (each in one worker: the runs are separate processes).
# The phases: the description's examples, its boundaries (coverage: each parameter's
# edges, wrong types, missing and extra fields), and random cases (fuzzing). The stateful
# phase is left out: the description has no links for it to follow.
log "schemathesis $schemathesis_version: $examples examples per operation, seed $seed, roles ${roles[*]}"
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
for role in "${roles[@]}"; do
    (
        cd "$work"
        exec "$schemathesis" run "$base/api/v1/openapi.json" --url "$base" \
            -H "Authorization: Bearer ${tokens[$role]}" \
            --checks "$checks" --max-examples "$examples" --seed "$seed" --workers 1 \
            --phases examples,coverage,fuzzing \
            --generation-database none --request-timeout 30 --no-color \
            --output-sanitize true
    ) >"$work/run-$role.txt" 2>&1 &
    run_pids+=($!)
done
failed=()
for index in "${!roles[@]}"; do
    status=0
    wait "${run_pids[$index]}" || status=$?
    [ "$status" -eq 0 ] || failed+=("${roles[$index]}")
done
run_pids=()

# --- the figures --------------------------------------------------------------------------
{
    echo "schemathesis figures ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, schemathesis $schemathesis_version, seed $seed, $examples examples per operation)"
    for role in "${roles[@]}"; do
        python3 - "$work/run-$role.txt" "$role" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
tested = re.search(r"Tested: (\d+)", text)
cases = re.search(r"(\d+) generated", text)
final = re.findall(r"^=+ (.+?) =+$", text, re.M)
print("  %-11s operations %s, test cases %s: %s" % (
    sys.argv[2],
    tested.group(1) if tested else "?",
    cases.group(1) if cases else "?",
    final[-1] if final else "no summary (see the run's output)"))
EOF
    done
    grep -h -E "^(_{3,} .* _{3,}|- [A-Z]{2}[0-9]+ .*|    (Received|Documented): .*)$" \
        "$work"/run-*.txt | sed 's/^/  /' | head -n 60 || true
    echo "  wall time, seconds: $(( $(date +%s) - run_started ))"
} | tee "$work/summary.txt"

if [ "${#failed[@]}" -gt 0 ]; then
    log "FAILED for ${failed[*]}: see $work/run-<role>.txt (replay with SCHEMATHESIS_SEED=$seed)"
    exit 1
fi
log "passed"
