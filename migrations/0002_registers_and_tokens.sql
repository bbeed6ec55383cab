-- The organisation and methods registers are event sourced, one stream per organisation or
-- method. These partial indexes let the API list a register without scanning case events.
create index ix_events_method_streams on events (stream_id, stream_version)
    where stream_id like 'method-%';
create index ix_events_organisation_streams on events (stream_id, stream_version)
    where stream_id like 'organisation-%';

-- API tokens. Only a hash of each token is stored: the token itself is shown once, when it
-- is created. Tokens are credentials, not registry facts, so they live outside `events`;
-- every event records the id of the token that wrote it.
create table api_tokens (
    token_id     uuid primary key,
    -- sha256 of the whole token string; looked up on every request (through a cache).
    token_hash   bytea not null unique,
    label        text not null check (length(label) between 1 and 200),
    role         text not null check (role in ('reporter', 'reviewer', 'supervisor', 'researcher', 'admin')),
    -- The organisation a reporter reports for; reporters must have one.
    org_number   text check (org_number ~ '^[0-9]{9}$'),
    -- The approved research project a researcher's extracts are for.
    project      text,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    constraint ck_reporter_has_org check (role <> 'reporter' or org_number is not null)
);
