-- The applications and processing-time statistics read a year of cases by the date they
-- were received and group them by a few columns. With those columns carried in the index
-- (INCLUDE), PostgreSQL answers them from the index alone, an index-only scan of the
-- year's entries, instead of reading every page of the table the year's cases lie on.
-- The dimensions of `projections::queries::grouping` over the received date, and the
-- decision date for processing times.
--
-- A rebuild swaps in a copy of the table whose indexes PostgreSQL named itself, so the
-- index on the received date is found by what it indexes, not by its name.
do $$
declare
    found record;
begin
    for found in
        select i.indexname from pg_indexes i
         where i.schemaname = current_schema() and i.tablename = 'case_facts'
           and i.indexdef like '%(received_date) WHERE (NOT retracted)'
    loop
        execute format('drop index %I', found.indexname);
    end loop;
end
$$;
create index ix_case_facts_received on case_facts (received_date)
    include (scheme, method_id, deciding_org, deciding_region, applying_org,
             residence_region, icd10_category, age_band, sex, decided_date)
    where not retracted;
