-- The relay's claim, as one statement that always reads the pending index in id order and
-- stops at the limit. A queue table's statistics are stale by nature (empty at the last
-- analyze, tens of thousands of rows in a burst); with them the planner would read every
-- pending row and sort the lot, a cost that grows with the backlog just when the relay has to
-- catch up. The function's own setting forbids the sort, and nothing else.
CREATE OR REPLACE FUNCTION claim_outbox_events(p_limit integer, p_lease_ms float8)
RETURNS TABLE (out_id bigint, out_event_id uuid, out_type text, out_payload jsonb,
               out_occurred_at timestamptz, out_attempts integer)
LANGUAGE sql
SET enable_sort = off
AS $$
  UPDATE event_outbox o
     SET claimed_until = now() + make_interval(secs => p_lease_ms / 1000),
         attempts = o.attempts + 1
   WHERE o.id IN (
     SELECT p.id FROM event_outbox p
      WHERE p.dispatched_at IS NULL AND (p.claimed_until IS NULL OR p.claimed_until < now())
      ORDER BY p.id LIMIT p_limit
      FOR UPDATE SKIP LOCKED)
  RETURNING o.id, o.event_id, o.type, o.payload, o.occurred_at, o.attempts
$$;
