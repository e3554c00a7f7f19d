-- One outbox row for the link.created events of one creation statement.
--
-- A bulk creation of 1,000 links wrote 1,000 outbox rows, each a JSON document the database
-- built field by field, then claimed, read and deleted one by one: half of what PostgreSQL spent
-- on a created link. Now the statement stores the links it inserted as one row: `payload` is
-- the array of their snapshots exactly as the server sent them (each with its `eventId`), and
-- the relay turns the row back into one `link.created` event per element. Other events keep a
-- row each (`event_count` 1, `batch` false, `payload` the event's data).
--
-- The payload becomes `json`: the database never looks inside it, only stores it and hands it
-- back, and `json` keeps the text as sent where `jsonb` parses it into a tree first (10 ms of
-- the 32 a bulk statement of 1,000 links took, measured).
ALTER TABLE event_outbox ALTER COLUMN payload TYPE json USING payload::json;
ALTER TABLE event_outbox ADD COLUMN IF NOT EXISTS batch boolean NOT NULL DEFAULT false;
ALTER TABLE event_outbox ADD COLUMN IF NOT EXISTS event_count integer NOT NULL DEFAULT 1
  CHECK (event_count > 0);

-- The claim counts events, not rows: rows in id order until `p_limit` events are taken (at
-- least one row, however large). Like the function it replaces, it reads the pending index in
-- id order and never sorts the backlog (see 065).
DROP FUNCTION IF EXISTS claim_outbox_events(integer, float8);
CREATE OR REPLACE FUNCTION claim_outbox(p_limit integer, p_lease_ms float8)
RETURNS TABLE (out_id bigint, out_event_id uuid, out_type text, out_payload json,
               out_occurred_at timestamptz, out_attempts integer, out_batch boolean)
LANGUAGE plpgsql
SET enable_sort = off
AS $$
DECLARE
  ids bigint[] := '{}';
  total integer := 0;
  r record;
BEGIN
  FOR r IN
    SELECT p.id, p.event_count FROM event_outbox p
     WHERE p.dispatched_at IS NULL AND (p.claimed_until IS NULL OR p.claimed_until < now())
     ORDER BY p.id
     FOR UPDATE SKIP LOCKED
  LOOP
    ids := ids || r.id;
    total := total + r.event_count;
    EXIT WHEN total >= p_limit;
  END LOOP;
  RETURN QUERY
    UPDATE event_outbox o
       SET claimed_until = now() + make_interval(secs => p_lease_ms / 1000),
           attempts = o.attempts + 1
     WHERE o.id = ANY (ids)
    RETURNING o.id, o.event_id, o.type, o.payload, o.occurred_at, o.attempts, o.batch;
END;
$$;
