-- Cheaper link creation.
--
-- The outbox is a queue: the relay deletes an event once every handler took it, and only
-- events set aside after repeated failures keep a row (with dispatched_at and last_error).
-- Free room in each page lets the relay's claim (claimed_until, attempts: no indexed column)
-- be a HOT update that writes no index entry.
ALTER TABLE event_outbox SET (fillfactor = 50);
-- Event ids are random UUIDs made by the writer and never looked up: a unique index on them
-- cost a random-page index insert per event for nothing.
ALTER TABLE event_outbox DROP CONSTRAINT IF EXISTS event_outbox_event_id_key;

-- Most links have no tags: index only those that do (the tag filter adds tags <> '{}').
DROP INDEX IF EXISTS links_tags;
CREATE INDEX IF NOT EXISTS links_tags ON links USING gin (tags) WHERE tags <> '{}';

-- A queue table: rows come and go by the thousand. Vacuum and analyze it after every few
-- thousand changes rather than after a fifth of the table, so that dead rows do not pile up in
-- the pending index the relay reads.
ALTER TABLE event_outbox SET (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000
);
