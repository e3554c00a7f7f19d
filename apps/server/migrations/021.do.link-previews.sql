-- What a link looks like when shared: metadata fetched from its target (asynchronously, after
-- link.created) and the owner's overrides. The effective value is the override when set.
CREATE TABLE IF NOT EXISTS link_previews (
  link_id bigint PRIMARY KEY REFERENCES links (id),
  -- Fetching: `pending` rows are claimed by a worker for a lease (claimed_until).
  fetch_status text NOT NULL DEFAULT 'none'
    CHECK (fetch_status IN ('none', 'pending', 'done', 'failed', 'skipped')),
  fetch_url text,
  fetch_attempts integer NOT NULL DEFAULT 0,
  claimed_until timestamptz,
  fetch_error text,
  fetched_at timestamptz,
  fetched_title text,
  fetched_description text,
  fetched_image text,
  fetched_site_name text,
  -- Overrides (the title override is the link's own title).
  description text,
  image text,
  image_upload_id text REFERENCES uploads (id),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS link_previews_pending ON link_previews (link_id)
  WHERE fetch_status = 'pending';

-- File links: short links whose target is an uploaded file.
CREATE TABLE IF NOT EXISTS link_files (
  link_id bigint PRIMARY KEY REFERENCES links (id),
  upload_id text NOT NULL REFERENCES uploads (id)
);
CREATE INDEX IF NOT EXISTS link_files_upload ON link_files (upload_id);
