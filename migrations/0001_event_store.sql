-- The event store: every fact the registry knows is one immutable row in `events`.
-- Corrections are new events; nothing is ever updated or deleted (see the triggers below).

create table events (
    -- Taken from a sequence at insert. Unique and stable, but NOT commit order: a transaction
    -- that took position 101 may commit after one that took 102.
    position        bigint generated always as identity primary key,
    -- The writing transaction's id (pg_current_xact_id, as bigint). Readers only read events of
    -- transactions older than the oldest one still running and order by
    -- (transaction_id, position), so an event that commits late is never skipped.
    transaction_id  bigint not null default (pg_current_xact_id()::text::bigint),
    stream_id       text not null check (length(stream_id) between 1 and 200),
    stream_version  bigint not null check (stream_version >= 1),
    -- Chosen by the writer; the idempotency key that makes a retried append write nothing.
    event_id        uuid not null,
    event_type      text not null,
    schema_version  integer not null check (schema_version >= 1),
    payload         jsonb not null,
    -- Who wrote it and why: actor, token id, request id, correlation and causation ids.
    metadata        jsonb not null,
    recorded_at     timestamptz not null,
    -- sha256 over the previous event's hash in this stream and this event's content
    -- (event_hash below); `unntak verify` recomputes the chain.
    hash            bytea not null,
    constraint uq_events_event_id unique (event_id),
    -- Settles races between writers of one stream: exactly one can take each version.
    constraint uq_events_stream_version unique (stream_id, stream_version)
);

-- The global read order (see read_all in the store crate).
create index ix_events_global_order on events (transaction_id, position);

-- Canonical hash input: every field length-prefixed, so no two events share an input.
-- The store crate's `hash` module computes the same bytes in Rust for verification.
create function event_hash(
    previous bytea, event_id uuid, stream_id text, stream_version bigint, event_type text,
    schema_version integer, payload jsonb, metadata jsonb, recorded_at timestamptz
) returns bytea language sql immutable parallel safe as $$
    select sha256(
        int4send(coalesce(octet_length(previous), 0)) || coalesce(previous, ''::bytea)
        || uuid_send(event_id)
        || int4send(octet_length(stream_id)) || convert_to(stream_id, 'UTF8')
        || int8send(stream_version)
        || int4send(octet_length(event_type)) || convert_to(event_type, 'UTF8')
        || int4send(schema_version)
        || int4send(octet_length(payload::text)) || convert_to(payload::text, 'UTF8')
        || int4send(octet_length(metadata::text)) || convert_to(metadata::text, 'UTF8')
        || int8send((extract(epoch from recorded_at) * 1000000)::bigint)
    )
$$;

-- Appends events to one stream in a single round trip.
-- expected_kind: 'any', 'no_stream', 'stream_exists' or 'exact' (with expected_version).
-- A new stream needs no head lookup: it starts at version 1 and uq_events_stream_version
-- settles any race. Raises SQLSTATE UX001 (detail: actual version) on a version mismatch
-- and UX002 when an event id is already stored, so the caller can tell an idempotent retry
-- from a conflict; either way nothing is written.
create function append_events(
    p_stream_id text, p_expected_kind text, p_expected_version bigint,
    p_event_ids uuid[], p_event_types text[], p_schema_versions integer[],
    p_payloads jsonb[], p_metadata jsonb[]
) returns table (event_position bigint, event_version bigint, event_transaction_id bigint)
language plpgsql as $$
declare
    head_version bigint := 0;
    head_hash bytea := null;
    recorded timestamptz := now();
    hashes bytea[] := '{}';
    chain bytea;
    written integer;
begin
    if p_expected_kind = 'exact' and p_expected_version > 0 then
        select e.hash into head_hash from events e
         where e.stream_id = p_stream_id and e.stream_version = p_expected_version;
        if not found then
            select coalesce(max(e.stream_version), 0) into head_version
              from events e where e.stream_id = p_stream_id;
            raise exception using errcode = 'UX001', message = 'wrong expected version',
                detail = head_version::text;
        end if;
        head_version := p_expected_version;
    elsif p_expected_kind in ('any', 'stream_exists') then
        select e.stream_version, e.hash into head_version, head_hash from events e
         where e.stream_id = p_stream_id order by e.stream_version desc limit 1;
        if not found then
            if p_expected_kind = 'stream_exists' then
                raise exception using errcode = 'UX001', message = 'wrong expected version',
                    detail = '0';
            end if;
            head_version := 0;
        end if;
    end if;

    chain := head_hash;
    for i in 1 .. cardinality(p_event_ids) loop
        chain := event_hash(chain, p_event_ids[i], p_stream_id, head_version + i,
                            p_event_types[i], p_schema_versions[i], p_payloads[i],
                            p_metadata[i], recorded);
        hashes := hashes || chain;
    end loop;

    return query
    with inserted as (
        insert into events (stream_id, stream_version, event_id, event_type, schema_version,
                            payload, metadata, recorded_at, hash)
        select p_stream_id, head_version + n.i, n.id, p_event_types[n.i],
               p_schema_versions[n.i], p_payloads[n.i], p_metadata[n.i], recorded, hashes[n.i]
          from unnest(p_event_ids) with ordinality as n(id, i)
        on conflict (event_id) do nothing
        returning position, stream_version, transaction_id
    )
    select * from inserted order by stream_version;

    get diagnostics written = row_count;
    if written < cardinality(p_event_ids) then
        raise exception using errcode = 'UX002', message = 'event id already stored';
    end if;
end
$$;

-- Nothing in the store may change once written. Production grants (docs/operations.md)
-- give the service role only INSERT and SELECT; these triggers also stop the table owner.
create function reject_change() returns trigger language plpgsql as $$
begin
    raise exception using errcode = 'UX003',
        message = format('%s is append-only: %s is not allowed', tg_table_name, tg_op);
end
$$;

create trigger events_immutable before update or delete on events
    for each row execute function reject_change();
create trigger events_no_truncate before truncate on events
    for each statement execute function reject_change();

-- Seals: a hash over each contiguous range of the global order, chained to the previous
-- seal. Written by the sealer once a range is below the visibility horizon, so it can
-- never change; deleting, inserting or altering an event in a sealed range breaks a seal.
create table seals (
    -- Contiguous from 1; a second sealer racing for the same number loses on this key.
    seal_no             bigint primary key check (seal_no >= 1),
    -- The last event covered, inclusive, in (transaction_id, position) order. The range
    -- starts right after the previous seal's last event.
    last_transaction_id bigint not null,
    last_position       bigint not null,
    event_count         bigint not null check (event_count >= 1),
    hash                bytea not null,
    sealed_at           timestamptz not null default now()
);

create trigger seals_immutable before update or delete on seals
    for each row execute function reject_change();
create trigger seals_no_truncate before truncate on seals
    for each statement execute function reject_change();
