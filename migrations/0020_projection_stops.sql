-- A projection that cannot apply an event stops there instead of retrying for ever, and
-- says so: `projection_stops` names the event (the API's /api/v1/projections, /readyz and
-- the metrics read it). An event passed over because a later event of its stream replaces
-- it (a new population import for the year) is recorded in `projection_passed_over`.
create table projection_stops (
    -- The checkpoint name: `cases`, `population`, or a rebuild's copy.
    projection     text primary key,
    position       bigint not null,
    transaction_id bigint not null,
    event_id       uuid not null,
    stream_id      text not null,
    event_type     text not null,
    -- Why it could not be applied, with every digit run masked.
    reason         text not null,
    stopped_at     timestamptz not null default now()
);

create table projection_passed_over (
    projection     text not null,
    event_id       uuid not null,
    superseded_by  uuid not null,
    reason         text not null,
    passed_over_at timestamptz not null default now(),
    primary key (projection, event_id)
);
