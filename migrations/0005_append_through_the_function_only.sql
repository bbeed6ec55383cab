-- Writers append only through append_events: it runs with its owner's rights, so the
-- service role needs no INSERT on `events` at all (docs/operations.md). Without that, a
-- holder of the INSERT grant could write an old transaction_id by hand and place an event
-- behind readers' checkpoints, where only the next seal would notice it.
-- search_path is pinned, as for every SECURITY DEFINER function.
alter function append_events(text, text, bigint, uuid[], text[], integer[], jsonb[], jsonb[])
    security definer
    set search_path = public, pg_temp;
