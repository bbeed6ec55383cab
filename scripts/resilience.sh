#!/usr/bin/env bash
# Resilience under load (issue 12): N concurrent reporters post decisions with report ids
# of their own choosing, retrying the same body on connection errors, timeouts and 5xx,
# while the script, mid-load,
#   1. kills `unntak serve` with SIGKILL and starts it again,
#   2. stops the PostgreSQL cluster at once (`pg_ctl stop -m immediate`) and starts it,
#   3. stops `unntak serve` with SIGTERM (it drains) and starts it again.
# Then the load stops and the script checks that every acknowledged report is stored
# exactly once and whole, that no case is partial (an application without its decision,
# a gap in a stream), that `unntak verify` passes against the last checkpoint exported
# during the load, and that `unntak project --rebuild all` leaves every statistic as it
# was. It prints its figures and exits 1 if any check fails.
#
#   bash scripts/resilience.sh                 # the short form (the test command runs it)
#   bash scripts/resilience.sh --soak 10       # faults repeated for 10 minutes
#   options: --reporters N (default 8), --phase SECONDS (load between faults)
#
# It runs its own PostgreSQL cluster (it must stop it) under target/resilience on a free
# port, and the debug binary target/debug/unntak (UNNTAK_BIN to use another one). All
# traffic is on 127.0.0.1. Bounded: a watchdog ends the run after the short form's 240 s,
# or the soak's minutes plus 5.
set -euo pipefail

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_root"

soak_minutes=0
reporters=8
phase=""
while [ $# -gt 0 ]; do
    case "$1" in
        --soak) soak_minutes=$2; shift 2 ;;
        --reporters) reporters=$2; shift 2 ;;
        --phase) phase=$2; shift 2 ;;
        *) echo "usage: $0 [--soak MINUTES] [--reporters N] [--phase SECONDS]" >&2; exit 2 ;;
    esac
done
if [ -z "$phase" ]; then
    if [ "$soak_minutes" -gt 0 ]; then phase=15; else phase=4; fi
fi

log() { echo "resilience: $*" >&2; }
# server_answers, postgres_bin_dir_or_install, as_cluster_owner, init_cluster, start_cluster.
source "$project_root/scripts/lib/postgres.sh"

work="$project_root/target/resilience"
unntak="${UNNTAK_BIN:-$project_root/target/debug/unntak}"
load_py=(python3 "$project_root/scripts/resilience_load.py")
if [ -z "${UNNTAK_BIN:-}" ]; then
    cargo build -q -p unntak    # nothing to do when the test command has just built it
fi

run_started=$(date +%s)
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server_pid=""
load_pid=""
watchdog_pid=""
pg_bin=""
pg_dir="$work/pgdata"

cleanup() {
    local status=$?
    trap - EXIT
    [ -n "$load_pid" ] && kill -KILL "$load_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
    [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null || true
    if [ -n "$pg_bin" ] && [ -f "$pg_dir/PG_VERSION" ]; then
        as_cluster_owner "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ "$status" -eq 0 ]; then
        rm -rf "$pg_dir"
    else
        log "FAILED (exit $status); logs and the cluster's data are in $work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# The bound on the whole run: the watchdog sends SIGTERM to this script when it is reached.
if [ "$soak_minutes" -gt 0 ]; then limit=$((soak_minutes * 60 + 300)); else limit=240; fi
(
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$limit" &
    sleeper=$!
    wait "$sleeper"
    log "over the time limit of $limit s"
    kill -TERM $$
) &
watchdog_pid=$!

# --- a private cluster -------------------------------------------------------------------
rm -rf "$work"
mkdir -p "$work"
pg_bin=$(postgres_bin_dir_or_install)
pg_port=$(free_port)
http_port=$(free_port)
init_cluster "$pg_bin" "$pg_dir"
start_cluster "$pg_bin" "$pg_dir" "$pg_port"
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
base="http://127.0.0.1:$http_port"
psql=("$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres)

# --- the service's configuration --------------------------------------------------------
export UNNTAK_PSEUDONYM_KEY="resilience-only-pseudonym-key-not-for-any-real-use"
export UNNTAK_DRAIN_DELAY=1 UNNTAK_SHUTDOWN_TIMEOUT=10 UNNTAK_SEAL_INTERVAL=1
export UNNTAK_LOG_FORMAT=text UNNTAK_BIND="127.0.0.1:$http_port"
unset UNNTAK_METRICS_TOKEN || true
key="$work/seal.pem"
# Signed checkpoints (`seal --generate-key`, `seal --checkpoint-out`, `verify --checkpoint`)
# arrived with the store's Merkle tree. With a binary from before them, the script seals
# and verifies plainly: drop this fallback once every binary it may run has them.
if "$unntak" seal --help | grep -q -- '--checkpoint-out'; then
    signed_checkpoints=1
    "$unntak" seal --generate-key "$key" >/dev/null
    export UNNTAK_SEAL_SIGNING_KEY_FILE="$key"
else
    signed_checkpoints=0
    log "this unntak has no 'seal --checkpoint-out': sealing and verifying without checkpoints"
fi

"$unntak" migrate >"$work/migrate.log" 2>&1
orgs=(993467049 983974724 883974832 983974899)
token_files=()
for org in "${orgs[@]}"; do
    echo "$org $("$unntak" token create --role reporter --org "$org" --label "resilience $org")" \
        >"$work/token-$org"
    token_files+=("$work/token-$org")
done
admin=$("$unntak" token create --role admin --label "resilience admin")
supervisor=$("$unntak" token create --role supervisor --label "resilience supervisor")

serve_count=0
start_server() {
    serve_count=$((serve_count + 1))
    "$unntak" serve >>"$work/serve.log" 2>&1 &
    server_pid=$!
    "${load_py[@]}" ready "$base" 60
}

start_server
"${load_py[@]}" setup "$base" "$admin"

# --- the load ------------------------------------------------------------------------------
"${load_py[@]}" load "$base" "$work" "${token_files[@]}" --reporters "$reporters" \
    --stop-file "$work/stop" >"$work/load.log" 2>&1 &
load_pid=$!
load_started=$(now)

acknowledged() {
    python3 -c 'import json, sys
try: print(json.load(open(sys.argv[1]))["acknowledged"])
except Exception: print(0)' "$work/progress.json"
}

# Waits until at least $1 more reports are acknowledged than now (at most $2 seconds):
# proof that the load goes on (after a fault: that it recovered).
wait_for_acks() {
    local more=$1 seconds=$2 from waited=0
    from=$(acknowledged)
    while [ "$(acknowledged)" -lt $((from + more)) ]; do
        if ! kill -0 "$load_pid" 2>/dev/null; then log "the load generator died"; cat "$work/load.log" >&2; exit 1; fi
        sleep 0.2
        waited=$((waited + 1))
        if [ "$waited" -gt $((seconds * 5)) ]; then
            log "no $more acknowledgements in $seconds s (from $from)"; exit 1
        fi
    done
}

# Loads for the phase, and proves acknowledgements keep coming.
load_phase() {
    sleep "$phase"
    wait_for_acks 20 60
}

checkpoints=0
# Exports a signed checkpoint mid-load, as an operator keeps one outside the database.
export_checkpoint() {
    [ "$signed_checkpoints" -eq 1 ] || return 0
    local out="$work/checkpoint-$((checkpoints + 1)).txt"
    if "$unntak" seal --signing-key "$key" --checkpoint-out "$out" >>"$work/seal.log" 2>&1 \
        && [ -s "$out" ]; then
        checkpoints=$((checkpoints + 1))
    else
        log "exporting a checkpoint failed (see $work/seal.log)"; exit 1
    fi
}

faults_kill9=0 faults_pg=0 faults_term=0
outages=()      # "fault: seconds until acknowledgements resumed"
term_exits=()   # exit codes of `unntak serve` after SIGTERM

fault_kill9() {
    local started
    started=$(now)
    kill -KILL "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    sleep 0.5
    start_server
    wait_for_acks 1 60
    faults_kill9=$((faults_kill9 + 1))
    outages+=("kill -9 of serve: $(since "$started") s")
}

fault_postgres() {
    local started
    started=$(now)
    as_cluster_owner "$pg_bin/pg_ctl" -D "$pg_dir" -m immediate -w stop >/dev/null
    sleep 2
    start_cluster "$pg_bin" "$pg_dir" "$pg_port" 2>/dev/null
    wait_for_acks 1 60
    faults_pg=$((faults_pg + 1))
    outages+=("immediate stop of PostgreSQL: $(since "$started") s")
}

fault_term() {
    local started status=0
    started=$(now)
    kill -TERM "$server_pid"
    wait "$server_pid" || status=$?
    term_exits+=("$status")
    start_server
    wait_for_acks 1 60
    faults_term=$((faults_term + 1))
    outages+=("SIGTERM of serve: $(since "$started") s")
}

log "load: $reporters reporters; phases of $phase s; soak ${soak_minutes} min"
load_phase
cycles=0
while :; do
    cycles=$((cycles + 1))
    fault_kill9; load_phase; export_checkpoint
    fault_postgres; load_phase; export_checkpoint
    fault_term; load_phase; export_checkpoint
    log "cycle $cycles done: $(acknowledged) acknowledged"
    if [ "$soak_minutes" -eq 0 ]; then break; fi
    if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' \
        "$(since "$load_started")" "$((soak_minutes * 60 - 4 * phase))"; then break; fi
done

touch "$work/stop"
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""
load_seconds=$(since "$load_started")

# --- the checks -------------------------------------------------------------------------
failed=()
[ "$load_status" -eq 0 ] || failed+=("the load generator exited $load_status (refused or given-up reports)")
for status in "${term_exits[@]}"; do
    [ "$status" -eq 0 ] || failed+=("unntak serve exited $status after SIGTERM")
done

# Every report id the load sent or had acknowledged, against the stored case events.
"${psql[@]}" -c "\\copy (select stream_id, stream_version, event_id, event_type, metadata->>'correlation_id' from events where stream_id like 'case-%' order by position) to '$work/events.csv' csv"
check_status=0
stored=$("${load_py[@]}" check "$work" "$work/events.csv") || check_status=$?
[ "$check_status" -eq 0 ] || failed+=("stored reports: $stored")

"${load_py[@]}" wait-projected "$base" "$admin" 60 >/dev/null
"${load_py[@]}" stats "$base" "$supervisor" "$work/stats-before.json"

verify_started=$(now)
if [ "$signed_checkpoints" -eq 1 ]; then
    "$unntak" seal --signing-key "$key" >>"$work/seal.log" 2>&1
    last_checkpoint="$work/checkpoint-$checkpoints.txt"
    if ! "$unntak" verify --public-key "$key.pub" --checkpoint "$last_checkpoint" >"$work/verify.log" 2>&1; then
        failed+=("unntak verify --checkpoint $last_checkpoint failed: $(tail -n 3 "$work/verify.log")")
    fi
else
    "$unntak" seal >>"$work/seal.log" 2>&1
    if ! "$unntak" verify >"$work/verify.log" 2>&1; then
        failed+=("unntak verify failed: $(tail -n 3 "$work/verify.log")")
    fi
fi
verify_seconds=$(since "$verify_started")

rebuild_started=$(now)
if ! "$unntak" project --rebuild all >"$work/rebuild.log" 2>&1; then
    failed+=("unntak project --rebuild all failed: $(tail -n 3 "$work/rebuild.log")")
fi
rebuild_seconds=$(since "$rebuild_started")
"${load_py[@]}" wait-projected "$base" "$admin" 60 >/dev/null
"${load_py[@]}" stats "$base" "$supervisor" "$work/stats-after.json"
if ! cmp -s "$work/stats-before.json" "$work/stats-after.json"; then
    failed+=("the statistics differ after the rebuild: diff $work/stats-before.json $work/stats-after.json")
fi
stats_compared=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$work/stats-before.json")

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""

# --- the figures --------------------------------------------------------------------------
python3 -c '
import json, sys
load = json.load(open(sys.argv[1]))
stored = json.loads(sys.argv[2])
rows = [
    ("reporters", load["reporters"]),
    ("load, seconds", load["seconds"]),
    ("reports sent", load["reports_started"]),
    ("acknowledged", "%d (%d with 201, %d with 200: stored by an attempt whose answer was lost)"
        % (load["acknowledged"], load["acknowledged_201"], load["acknowledged_200"])),
    ("acknowledged per second", load["acknowledged_per_second"]),
    ("attempts", load["attempts"]),
    ("retries", load["retries"]),
    ("connection errors", load["connection_errors"]),
    ("timeouts", load["timeouts"]),
    ("5xx answers", "%d (%d of them 503)" % (load["http_5xx"], load["http_503"])),
    ("408/429 answers", load["http_408_429"]),
    ("refused (other 4xx)", load["refused_4xx"]),
    ("given up", load["given_up"]),
    ("answers by status", " ".join("%s:%d" % kv for kv in sorted(load["statuses"].items()))),
    ("acknowledgement latency p50/p99/max, ms (retries included)",
        "%s / %s / %s" % (load["ack_latency_ms_p50"], load["ack_latency_ms_p99"], load["ack_latency_ms_max"])),
    ("acknowledged and stored exactly once", "%d of %d" % (stored["acknowledged_stored_exactly_once"], stored["acknowledged"])),
    ("acknowledged but missing", stored["acknowledged_missing"]),
    ("stored without an acknowledgement", stored["stored_without_acknowledgement"]),
    ("case streams / events", "%d / %d" % (stored["case_streams"], stored["case_events"])),
    ("partial cases", stored["partial_cases"]),
]
for name, value in rows:
    print("  %-58s %s" % (name, value))
for refusal in load["refusals"]:
    print("  refused: " + refusal)
' "$work/figures.json" "$stored" >"$work/figures.txt"

{
    echo "resilience figures ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(basename "$unntak") $( [ "$soak_minutes" -gt 0 ] && echo "soak of $soak_minutes min" || echo "short form"))"
    cat "$work/figures.txt"
    printf '  %-58s %s\n' "faults injected" "$((faults_kill9 + faults_pg + faults_term)) (kill -9 of serve $faults_kill9, immediate stop of PostgreSQL $faults_pg, SIGTERM of serve $faults_term; $cycles cycles)"
    for outage in "${outages[@]}"; do
        printf '  %-58s %s\n' "  until acknowledgements resumed after" "$outage"
    done
    printf '  %-58s %s\n' "serve exit codes after SIGTERM" "${term_exits[*]}"
    printf '  %-58s %s\n' "checkpoints exported mid-load" "$checkpoints"
    printf '  %-58s %s\n' "seal and verify, seconds" "$verify_seconds$( [ "$signed_checkpoints" -eq 1 ] && echo " (against checkpoint $checkpoints)")"
    printf '  %-58s %s\n' "project --rebuild all, seconds" "$rebuild_seconds"
    printf '  %-58s %s\n' "statistics compared before and after the rebuild" "$stats_compared answers"
    printf '  %-58s %s\n' "wall time, seconds" "$(( $(date +%s) - run_started ))"
} | tee "$work/summary.txt"

if [ "${#failed[@]}" -gt 0 ]; then
    for failure in "${failed[@]}"; do log "FAILED: $failure"; done
    exit 1
fi
log "passed"
