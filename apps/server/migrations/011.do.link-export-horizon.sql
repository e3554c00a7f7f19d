-- Consistent exports under continuous writes. Every link row carries the id of the transaction
-- that last changed it (`txid`) and of the one that created it (`created_txid`). An export
-- pages in (txid, id) order and reads only rows whose txid is below the xmin of the current
-- snapshot: every transaction below that horizon has ended, so no row can still appear there
-- later, whatever order transactions commit in (a sequence value taken early and committed
-- late is the classic way an id-only keyset skips rows).
ALTER TABLE links ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE links ADD COLUMN IF NOT EXISTS created_txid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- A change is what moves updated_at: click counting (which leaves updated_at alone) does not
-- move a link to the tail of running exports.
CREATE OR REPLACE FUNCTION links_touch_txid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.txid := pg_current_xact_id();
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS links_touch_txid ON links;
CREATE TRIGGER links_touch_txid BEFORE UPDATE ON links FOR EACH ROW
  WHEN (NEW.updated_at IS DISTINCT FROM OLD.updated_at)
  EXECUTE FUNCTION links_touch_txid();

CREATE INDEX IF NOT EXISTS links_export ON links (workspace_id, txid, id);
