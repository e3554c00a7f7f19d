-- Uploads through pre-signed URLs. The bytes live in the object store under `object_key`
-- (made by the server, never from the client's file name); this table keeps the metadata.
-- A row is `pending` from the moment a signed URL is handed out until `complete` verified the
-- object, or `rejected` when verification failed (the object is then deleted). `expired`
-- marks a pending upload the sweeper has claimed and is deleting.
CREATE TABLE IF NOT EXISTS uploads (
  id text COLLATE "C" PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES workspaces (id),
  object_key text COLLATE "C" NOT NULL UNIQUE,
  file_name text NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL CHECK (size >= 0),
  status text NOT NULL CHECK (status IN ('pending', 'complete', 'rejected', 'expired')),
  -- Multipart uploads: the store's upload id and the part size the parts were signed for.
  multipart_id text,
  part_size bigint,
  sniffed_type text,
  reject_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A pending upload not completed by then is swept.
  pending_until timestamptz NOT NULL,
  completed_at timestamptz
);
CREATE INDEX IF NOT EXISTS uploads_sweep ON uploads (pending_until)
  WHERE status IN ('pending', 'expired', 'rejected');
CREATE INDEX IF NOT EXISTS uploads_workspace ON uploads (workspace_id, created_at DESC);
