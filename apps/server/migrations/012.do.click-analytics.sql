-- Click analytics. Raw clicks go to a table partitioned by month (partitions are created
-- ahead by the workers); the read side answers from the rollup tables below, never from raw
-- clicks. Times are UTC; days and hours are UTC buckets.
CREATE SEQUENCE IF NOT EXISTS click_seq AS bigint;
CREATE TABLE IF NOT EXISTS clicks (
  clicked_at timestamptz NOT NULL,
  -- The producer's event id: a redelivered event conflicts here and is not counted twice.
  event_id text NOT NULL,
  seq bigint NOT NULL DEFAULT nextval('click_seq'),
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  link_id bigint NOT NULL,
  workspace_id bigint NOT NULL,
  code text NOT NULL,
  -- Daily-salted hash of ip + user agent; the IP itself is never stored.
  visitor bigint NOT NULL,
  referrer text,
  referrer_host text NOT NULL,
  country text NOT NULL,
  device text NOT NULL,
  browser text NOT NULL,
  os text NOT NULL,
  is_bot boolean NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (clicked_at, event_id)
) PARTITION BY RANGE (clicked_at);
CREATE INDEX IF NOT EXISTS clicks_export ON clicks (txid, seq);
CREATE INDEX IF NOT EXISTS clicks_link_time ON clicks (link_id, clicked_at);

-- Per link, per UTC hour: the hourly series.
CREATE TABLE IF NOT EXISTS click_hourly (
  link_id bigint NOT NULL,
  hour timestamptz NOT NULL,
  is_bot boolean NOT NULL,
  workspace_id bigint NOT NULL,
  clicks bigint NOT NULL,
  PRIMARY KEY (link_id, hour, is_bot)
);
CREATE INDEX IF NOT EXISTS click_hourly_workspace ON click_hourly (workspace_id, hour);

-- Per link, per UTC day: totals, daily series, daily unique visitors.
CREATE TABLE IF NOT EXISTS click_daily (
  link_id bigint NOT NULL,
  day date NOT NULL,
  is_bot boolean NOT NULL,
  workspace_id bigint NOT NULL,
  clicks bigint NOT NULL,
  visitors bigint NOT NULL,
  PRIMARY KEY (link_id, day, is_bot)
);
CREATE INDEX IF NOT EXISTS click_daily_workspace ON click_daily (workspace_id, day);

-- Per link, per UTC day, per dimension value (referrer host, country, device, browser, os).
CREATE TABLE IF NOT EXISTS click_dims (
  link_id bigint NOT NULL,
  day date NOT NULL,
  dim text NOT NULL,
  value text NOT NULL,
  is_bot boolean NOT NULL,
  workspace_id bigint NOT NULL,
  clicks bigint NOT NULL,
  PRIMARY KEY (link_id, day, dim, value, is_bot)
);
CREATE INDEX IF NOT EXISTS click_dims_workspace ON click_dims (workspace_id, day, dim);

-- Distinct visitor hashes seen per link and per workspace each day. A hash newly added here
-- adds one to the matching visitors counter; the sets of past days can be pruned, the
-- counters stay.
CREATE TABLE IF NOT EXISTS link_day_visitors (
  link_id bigint NOT NULL,
  day date NOT NULL,
  visitor bigint NOT NULL,
  PRIMARY KEY (link_id, day, visitor)
);
CREATE TABLE IF NOT EXISTS workspace_day_visitors (
  workspace_id bigint NOT NULL,
  day date NOT NULL,
  visitor bigint NOT NULL,
  PRIMARY KEY (workspace_id, day, visitor)
);
CREATE TABLE IF NOT EXISTS workspace_daily (
  workspace_id bigint NOT NULL,
  day date NOT NULL,
  is_bot boolean NOT NULL,
  visitors bigint NOT NULL,
  PRIMARY KEY (workspace_id, day, is_bot)
);

-- One random salt per UTC day for visitor hashes; salts of past days are deleted so that old
-- hashes cannot be linked back to an IP.
CREATE TABLE IF NOT EXISTS analytics_salts (
  day date PRIMARY KEY,
  salt bytea NOT NULL
);
