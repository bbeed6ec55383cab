-- Decisions per quarter by region, scheme, method and outcome: a roll-up of decision_counts
-- without the organisation and diagnosis columns, small enough to answer the most asked
-- grouping (region and method) in milliseconds at any volume. Each decided case counts
-- twice, once under the deciding organisation's region and once under the region that
-- serves the patient's county (`region_basis`). Kept in step by the same count deltas.
create table decision_counts_by_region (
    region_basis text not null check (region_basis in ('deciding', 'residence')),
    year         integer not null,
    quarter      integer not null,
    region       text not null,
    scheme       text not null,
    method_id    text not null,
    outcome      text not null,
    decisions    bigint not null,
    primary key (region_basis, year, quarter, region, scheme, method_id, outcome)
);

insert into decision_counts_by_region
select 'deciding', year, quarter, deciding_region, scheme, method_id, outcome, sum(decisions)
  from decision_counts group by year, quarter, deciding_region, scheme, method_id, outcome
union all
select 'residence', year, quarter, residence_region, scheme, method_id, outcome, sum(decisions)
  from decision_counts group by year, quarter, residence_region, scheme, method_id, outcome;
