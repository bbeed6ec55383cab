-- The counts the signals are computed from (analysis::signals::case_keys): each case counted
-- under a few keys, by kind and period (a year, quarter, month or day, as the kind says),
-- kept by the cases projection as cases arrive and change. A year's signals read some
-- thousands of these rows instead of hundreds of thousands of cases.
create table signal_counts (
    kind   text not null,
    period bigint not null,
    key    text not null,
    cases  bigint not null,
    primary key (kind, period, key)
);

-- The keys are defined in Rust, so the cases projection fills this table by projecting
-- again from the first event: read models can always be rebuilt from the events.
truncate projected_organisations, case_facts, decision_counts, decision_counts_by_region,
         appeal_facts;
delete from projection_checkpoints where projection = 'cases';
