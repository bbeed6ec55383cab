-- Research extracts (issue 15).

-- The registry's patient pseudonym on each case's facts: research extracts hash it again
-- under the project's own key, so that one project's rows link one patient's cases and
-- two projects' files cannot be linked. No statistic reads it.
alter table case_facts add column patient_pseudonym text;

-- Cases that were projected before this column: their latest application's pseudonym,
-- from the events (the case's last CaseReceived or CaseCorrected carries the whole
-- application). A rebuild of the cases projection gives the same.
update case_facts f
   set patient_pseudonym = latest.pseudonym
  from (select distinct on (payload->>'case_id')
               (payload->>'case_id')::uuid as case_id,
               payload->'application'->'patient'->>'pseudonym' as pseudonym
          from events
         where event_type in ('CaseReceived', 'CaseCorrected')
         order by payload->>'case_id', transaction_id desc, position desc) latest
 where latest.case_id = f.case_id;

-- Each research project's pseudonym key: 32 random bytes, kept outside the event stream
-- (which can never forget) so that ending the project can destroy it, after which the
-- project's pseudonyms can never be computed again. Rows are deleted, never updated.
create table research_project_keys (
    project_id text primary key,
    secret     bytea not null check (length(secret) = 32),
    created_at timestamptz not null default now()
);
