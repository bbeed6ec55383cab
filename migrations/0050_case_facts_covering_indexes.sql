-- The statistics read a period of cases by the date they were received (applications,
-- processing times, reporting quality) or decided (decisions, when the counts tables
-- cannot answer) and group them by a few columns. With those columns carried in the
-- indexes (INCLUDE), PostgreSQL answers them from an index alone, an index-only scan of
-- the period's entries, instead of reading every page of the table the period's cases lie
-- on. The columns are the single-valued dimensions of `projections::queries::grouping`,
-- and what each statistic counts; grouping by refusal reason or criterion (one row per
-- value) still reads the table, except for decisions, whose index carries both.
-- Run it with no rebuild under way: a rebuild copies the indexes as they were when it
-- began and would swap the old ones back in.
--
-- A rebuild swaps in a copy of the table whose indexes PostgreSQL named itself, so the
-- indexes on the two dates are found by what they index, not by their names.
do $$
declare
    found record;
begin
    for found in
        select i.indexname from pg_indexes i
         where i.schemaname = current_schema() and i.tablename = 'case_facts'
           and (i.indexdef like '%(received_date) WHERE (NOT retracted)'
                or i.indexdef like '%(decided_date) WHERE (NOT retracted)')
    loop
        execute format('drop index %I', found.indexname);
    end loop;
end
$$;

-- Every case, retracted ones too: reporting quality counts retractions.
create index ix_case_facts_received on case_facts (received_date)
    include (retracted, scheme, method_id, deciding_org, deciding_region, applying_org,
             residence_region, icd10_category, age_band, sex, decided_date,
             decision_reported_at, corrections, criteria_complete);

create index ix_case_facts_decided on case_facts (decided_date)
    include (scheme, method_id, deciding_org, deciding_region, applying_org,
             residence_region, icd10_category, age_band, sex, outcome, refusal_reasons,
             criteria)
    where not retracted;
