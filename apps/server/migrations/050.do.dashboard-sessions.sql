-- Dashboard sign-in sessions. A session is opened with an API key and acts with that key's
-- workspace and role; it ends when it expires, when it is signed out, or when its key is
-- revoked. Only a SHA-256 hash of the session token is stored (the token has 256 bits of
-- entropy), so a leaked table opens no session.
CREATE TABLE IF NOT EXISTS dashboard_sessions (
  id bigserial PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE,
  key_id bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dashboard_sessions_expires ON dashboard_sessions (expires_at);
CREATE INDEX IF NOT EXISTS dashboard_sessions_key ON dashboard_sessions (key_id);
