-- Workspaces own links and API keys. The default workspace holds anonymous links and the
-- bootstrap key.
CREATE TABLE IF NOT EXISTS workspaces (
  id bigserial PRIMARY KEY,
  slug text NOT NULL UNIQUE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO workspaces (slug, name) VALUES ('default', 'Default workspace') ON CONFLICT (slug) DO NOTHING;

-- API keys are stored only as SHA-256 hashes of their secret (the secret has 256 bits of
-- entropy, so a slow hash adds nothing). `prefix` is shown in lists to tell keys apart.
CREATE TABLE IF NOT EXISTS api_keys (
  id bigserial PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES workspaces (id),
  name text NOT NULL,
  prefix text NOT NULL,
  secret_hash bytea NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_workspace ON api_keys (workspace_id, id);

-- Secrets generated once per installation and shared by every instance (code permutation key).
CREATE TABLE IF NOT EXISTS app_secrets (
  name text PRIMARY KEY,
  value bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Link ids come from one sequence; generated codes are a keyed permutation of the id.
-- Aliases draw an id too, so every row has one. Codes and aliases share one namespace.
CREATE SEQUENCE IF NOT EXISTS link_ids AS bigint START 1;
CREATE TABLE IF NOT EXISTS links (
  id bigint PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES workspaces (id),
  code text COLLATE "C" NOT NULL UNIQUE,
  is_alias boolean NOT NULL,
  url text NOT NULL,
  redirect_type smallint NOT NULL DEFAULT 302 CHECK (redirect_type IN (301, 302, 307, 308)),
  title text,
  tags text[] NOT NULL DEFAULT '{}',
  expires_at timestamptz,
  max_clicks bigint CHECK (max_clicks > 0),
  clicks bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
-- Keyset pagination of a workspace's live links, newest first.
CREATE INDEX IF NOT EXISTS links_workspace_id ON links (workspace_id, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS links_tags ON links USING gin (tags);
