#!/usr/bin/env bash
# Drops the tests' template database (unntak_template_<digest of the migrations>, made by
# tests/harness/lib.rs) on the server DATABASE_URL names, so a test run leaves nothing on
# a shared server. Run by scripts/test.sh once the tests are over. It takes the harness's
# template lock, so no test process copies the template while it goes, and keeps the
# template while any test database (unntak_test_*) is still there: another run, from
# another checkout, may be using it (or a crashed run left one; its name is printed).
set -euo pipefail

log() { echo "drop-test-template: $*" >&2; }
lock=$((0x756e6e74616b))   # "unntak": TEMPLATE_LOCK in tests/harness/lib.rs

if ! command -v psql >/dev/null 2>&1; then
    log "psql not found: the template database unntak_template_* stays on the server (drop it with DROP DATABASE)"
    exit 0
fi

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAt <<SQL
do \$\$ begin perform pg_advisory_lock($lock); end \$\$;
select 'drop-test-template: kept ' || datname || ': test databases are still there ('
       || (select string_agg(datname, ', ') from pg_database where datname like 'unntak\_test\_%') || ')'
  from pg_database
 where datname like 'unntak\_template\_%'
   and exists (select 1 from pg_database where datname like 'unntak\_test\_%');
select 'drop-test-template: dropped ' || datname
  from pg_database
 where datname like 'unntak\_template\_%'
   and not exists (select 1 from pg_database where datname like 'unntak\_test\_%');
select format('drop database if exists %I with (force)', datname)
  from pg_database
 where datname like 'unntak\_template\_%'
   and not exists (select 1 from pg_database where datname like 'unntak\_test\_%')
\gexec
do \$\$ begin perform pg_advisory_unlock($lock); end \$\$;
SQL
