-- Issue 12: the writer computes each event's content digest, SQL chains only digests, and
-- the seals become a Merkle tree over the global order with signed checkpoints.

-- How an event's hash was made (crates/store/src/hash.rs). Scheme 1: `event_hash` of 0001
-- over the whole stored content, in the database. Scheme 2: the writer's content digest
-- chained here. Every event stored before this migration keeps scheme 1 and its hash; only
-- append_events below writes scheme 2, so `verify` reports a scheme 1 event written after
-- the first scheme 2 one as written by hand.
alter table events add column hash_scheme smallint not null default 1
    constraint events_hash_scheme check (hash_scheme in (1, 2));

-- The old writer and its hash function go: nothing may append without a digest, and the
-- database no longer offers a ready-made function to re-hash a chain with.
drop function append_events(text, text, bigint, uuid[], text[], integer[], jsonb[], jsonb[]);
drop function event_hash(bytea, uuid, text, bigint, text, integer, jsonb, jsonb, timestamptz);

-- As the function of 0001 (same checks, errors and idempotency), but each event comes with
-- its content digest (p_content_digests, 32 bytes each, computed by the store crate), and
-- its hash is sha256(int4(length of previous) || previous || digest || int8(version) ||
-- int8(recorded_at in microseconds)): some 90 bytes, where scheme 1 hashed the whole
-- payload as text in PL/pgSQL.
create function append_events(
    p_stream_id text, p_expected_kind text, p_expected_version bigint,
    p_event_ids uuid[], p_event_types text[], p_schema_versions integer[],
    p_payloads jsonb[], p_metadata jsonb[], p_content_digests bytea[]
) returns table (event_position bigint, event_version bigint, event_transaction_id bigint)
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    head_version bigint := 0;
    head_hash bytea := null;
    recorded timestamptz := now();
    recorded_micros bytea := int8send((extract(epoch from recorded) * 1000000)::bigint);
    hashes bytea[] := '{}';
    chain bytea;
    written integer;
begin
    if cardinality(p_content_digests) is distinct from cardinality(p_event_ids) then
        raise exception 'one content digest per event';
    end if;
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
        if octet_length(p_content_digests[i]) is distinct from 32 then
            raise exception 'a content digest is 32 bytes';
        end if;
        chain := sha256(int4send(coalesce(octet_length(chain), 0)) || coalesce(chain, ''::bytea)
                        || p_content_digests[i] || int8send(head_version + i) || recorded_micros);
        hashes := hashes || chain;
    end loop;

    return query
    with inserted as (
        insert into events (stream_id, stream_version, event_id, event_type, schema_version,
                            payload, metadata, recorded_at, hash, hash_scheme)
        select p_stream_id, head_version + n.i, n.id, p_event_types[n.i],
               p_schema_versions[n.i], p_payloads[n.i], p_metadata[n.i], recorded, hashes[n.i], 2
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

-- Signed checkpoints of the Merkle tree over the global order (crates/store/src/seal.rs):
-- the tree over the first tree_size final events, in (transaction_id, position) order,
-- has this root. Written by the sealer only once those events are below the visibility
-- horizon, so the range can never change. `verify` trusts a row only as far as its
-- signature verifies with the public key; the operator keeps the latest notes outside.
create table tree_checkpoints (
    -- A second sealer that computed the same checkpoint loses on this key.
    tree_size           bigint primary key check (tree_size >= 1),
    root                bytea not null check (octet_length(root) = 32),
    -- The last event covered, inclusive: where the next seal starts.
    last_transaction_id bigint not null,
    last_position       bigint not null,
    -- The roots of the perfect subtrees that make up the tree (one per bit of tree_size,
    -- largest first): what the sealer needs to extend the tree without its leaves.
    frontier            bytea not null,
    -- The signed note (C2SP tlog-checkpoint) exactly as the sealer signed it.
    note                text not null,
    sealed_at           timestamptz not null default now()
);

create trigger tree_checkpoints_immutable before update or delete on tree_checkpoints
    for each row execute function reject_change();
create trigger tree_checkpoints_no_truncate before truncate on tree_checkpoints
    for each statement execute function reject_change();
