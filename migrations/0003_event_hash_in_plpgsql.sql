-- event_hash as a PL/pgSQL function. The SQL version could not be inlined (convert_to is
-- only stable), so PostgreSQL planned it afresh on every call: about 50 µs per event,
-- more than the insert itself. PL/pgSQL keeps its plans, and each jsonb value is turned
-- into text once. The bytes hashed are exactly those of the first version, so every stored
-- hash stays valid and `unntak verify` is unchanged.
create or replace function event_hash(
    previous bytea, event_id uuid, stream_id text, stream_version bigint, event_type text,
    schema_version integer, payload jsonb, metadata jsonb, recorded_at timestamptz
) returns bytea language plpgsql immutable parallel safe as $$
declare
    payload_bytes bytea := convert_to(payload::text, 'UTF8');
    metadata_bytes bytea := convert_to(metadata::text, 'UTF8');
    stream_bytes bytea := convert_to(stream_id, 'UTF8');
    type_bytes bytea := convert_to(event_type, 'UTF8');
begin
    return sha256(
        int4send(coalesce(octet_length(previous), 0)) || coalesce(previous, ''::bytea)
        || uuid_send(event_id)
        || int4send(octet_length(stream_bytes)) || stream_bytes
        || int8send(stream_version)
        || int4send(octet_length(type_bytes)) || type_bytes
        || int4send(schema_version)
        || int4send(octet_length(payload_bytes)) || payload_bytes
        || int4send(octet_length(metadata_bytes)) || metadata_bytes
        || int8send((extract(epoch from recorded_at) * 1000000)::bigint)
    );
end
$$;
