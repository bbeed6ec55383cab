-- Read models, built by the projector (crate `projections`) from the event stream alone.
-- Each can be dropped and rebuilt from events: `unntak project --rebuild <name>` builds
-- copies named *_rebuild from position 0 and swaps them in, in one transaction.

-- Where each projection has read to, in the store's global order. Written in the same
-- transaction as the read-model change it covers, so a crash neither loses nor repeats.
create table projection_checkpoints (
    projection     text primary key,
    transaction_id bigint not null default 0,
    position       bigint not null default 0,
    updated_at     timestamptz not null default now()
);

-- The organisation register as the `cases` projection last saw it: regions of trusts.
create table projected_organisations (
    org_number        text primary key,
    name              text not null,
    kind              text not null,
    region_org_number text
);

-- One row per case, as corrected. The source of every case statistic.
create table case_facts (
    case_id              uuid primary key,
    scheme               text not null,
    method_id            text not null,
    atc                  text,
    icd10                text not null,
    icd10_category       text not null,
    icd10_chapter        text not null,
    deciding_org         text not null,
    deciding_region      text,
    applying_org         text not null,
    applying_region      text,
    residence_county     text,
    residence_region     text,
    birth_year           integer,
    age_at_application   integer,
    age_band             text,
    sex                  text,
    expected_patients    integer,
    received_date        date not null,
    decided_date         date,
    outcome              text,
    criteria             jsonb,
    criteria_complete    boolean,
    refusal_reasons      text[] not null default '{}',
    processing_days      integer,
    appeals_lodged       integer not null default 0,
    appeals_decided      integer not null default 0,
    appeals_overturned   integer not null default 0,
    corrections          integer not null default 0,
    retracted            boolean not null default false,
    -- When the registry first heard of the case and of its decision: reporting delay.
    reported_at          timestamptz not null,
    decision_reported_at timestamptz
);
create index ix_case_facts_decided on case_facts (decided_date) where not retracted;
create index ix_case_facts_received on case_facts (received_date) where not retracted;

-- Decisions counted by every dimension the statistics API groups on most: the fast path
-- for GET /api/v1/stats/decisions. Kept in step with case_facts by count deltas.
create table decision_counts (
    year             integer not null,
    quarter          integer not null,
    deciding_region  text not null,
    deciding_org     text not null,
    residence_region text not null,
    scheme           text not null,
    method_id        text not null,
    icd10_category   text not null,
    outcome          text not null,
    decisions        bigint not null,
    primary key (year, quarter, deciding_region, deciding_org, residence_region, scheme,
                 method_id, icd10_category, outcome)
);

-- Appeals, one row each, with what statistics need of their case.
create table appeal_facts (
    appeal_id       uuid primary key,
    case_id         uuid not null,
    lodged_date     date not null,
    decided_date    date,
    outcome         text,
    duration_days   integer
);
create index ix_appeal_facts_case on appeal_facts (case_id);

-- Residents by year and county, from the population import.
create table population (
    year          integer not null,
    county_number text not null,
    population    bigint not null check (population >= 0),
    primary key (year, county_number)
);
