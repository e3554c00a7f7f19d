-- Transactional outbox: a change to a link and the domain event that describes it are written
-- in one transaction, so no event is lost (change committed, event not) or invented (event
-- committed, change rolled back). A relay reads pending rows, hands them to the in-process
-- event bus and marks them dispatched (at-least-once).
CREATE TABLE IF NOT EXISTS event_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  type text NOT NULL,
  payload jsonb NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  -- A relay claims rows for a while; a relay that dies lets its claim lapse and another retries.
  claimed_until timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  dispatched_at timestamptz
);
CREATE INDEX IF NOT EXISTS event_outbox_pending ON event_outbox (id) WHERE dispatched_at IS NULL;
CREATE INDEX IF NOT EXISTS event_outbox_dispatched ON event_outbox (dispatched_at) WHERE dispatched_at IS NOT NULL;
