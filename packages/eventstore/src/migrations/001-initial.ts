import type { Migration } from './migration.js';

/**
 * Streams, events, subscription checkpoints and snapshots.
 *
 * The global order is `(position_tx, sequence)`, also the primary key so `readAll` walks the
 * index. `position_tx` is the appending transaction's id (`pg_current_xact_id()`), raised to
 * the stream's previous `position_tx` when that is higher (`streams.last_tx`), so the global
 * order never contradicts a stream's own order. `streams.version` is the per-stream counter
 * optimistic concurrency compares against; its row lock serialises appends to one stream and
 * nothing else.
 */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  statements: (s) => [
    `CREATE TABLE ${s}.streams (
       stream_id  text PRIMARY KEY,
       version    bigint NOT NULL CHECK (version >= 0),
       last_tx    xid8 NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE ${s}.events (
       position_tx    xid8 NOT NULL,
       sequence       bigint GENERATED ALWAYS AS IDENTITY,
       event_id       uuid NOT NULL,
       stream_id      text NOT NULL,
       version        bigint NOT NULL CHECK (version >= 1),
       type           text NOT NULL,
       schema_version integer NOT NULL CHECK (schema_version >= 1),
       data           jsonb NOT NULL,
       metadata       jsonb NOT NULL,
       created_at     timestamptz NOT NULL DEFAULT now(),
       CONSTRAINT events_pkey PRIMARY KEY (position_tx, sequence),
       CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
       CONSTRAINT events_event_id_key UNIQUE (event_id)
     )`,
    `CREATE TABLE ${s}.subscriptions (
       name           text PRIMARY KEY,
       position_tx    xid8 NOT NULL,
       sequence       bigint NOT NULL,
       updated_at     timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE ${s}.snapshots (
       stream_id      text NOT NULL,
       name           text NOT NULL,
       version        bigint NOT NULL CHECK (version >= 0),
       schema_version integer NOT NULL CHECK (schema_version >= 1),
       state          jsonb NOT NULL,
       created_at     timestamptz NOT NULL DEFAULT now(),
       CONSTRAINT snapshots_pkey PRIMARY KEY (stream_id, name)
     )`,
  ],
};
