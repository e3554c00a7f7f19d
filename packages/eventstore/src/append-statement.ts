import { randomUUID } from 'node:crypto';
import { EventStoreValidationError } from './errors.js';
import type { ExpectedVersion, NewEvent } from './types.js';
import type { Upcasters } from './upcasting.js';
import {
  checkEventType,
  checkPlainObject,
  checkUuid,
  checkVersionNumber,
  toJson,
} from './validate.js';

/** Validated events, serialised as the one JSON parameter the append statement expands. */
export interface PreparedEvents {
  readonly count: number;
  readonly json: string;
  /** Per event, in order: what the append stores (data and metadata as JSON text). */
  readonly items: readonly PreparedEvent[];
}

export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly v: number;
  readonly data: string;
  readonly meta: string;
}

/** What the append statement returns per inserted event, in stream-version order. */
export interface AppendedRow {
  position_tx: string;
  sequence: string;
  version: string;
  created_at: Date | string;
}

/**
 * Validates and serialises the events of one append. Everything that can be wrong with the
 * input is found here, before any SQL runs.
 */
export function prepareEvents(
  streamId: string,
  events: readonly NewEvent[],
  upcasters: Upcasters,
): PreparedEvents {
  if (!Array.isArray(events)) {
    throw new EventStoreValidationError(`events for stream "${streamId}" must be an array`);
  }
  const ids = new Set<string>();
  const items: PreparedEvent[] = events.map((e, i) => {
    const where = `events[${i}]`;
    if (e === null || typeof e !== 'object') {
      throw new EventStoreValidationError(`${where} must be an object`);
    }
    checkEventType(e.type, where);
    if (e.data === undefined) throw new EventStoreValidationError(`${where}.data is required`);
    const metadata = e.metadata ?? {};
    checkPlainObject(metadata, `${where}.metadata`);
    const id = e.eventId ?? randomUUID();
    checkUuid(id, where);
    const lower = id.toLowerCase();
    if (ids.has(lower))
      throw new EventStoreValidationError(`${where}: eventId ${id} appears twice`);
    ids.add(lower);
    const schemaVersion =
      e.schemaVersion === undefined
        ? upcasters.latestVersion(e.type)
        : checkVersionNumber(e.schemaVersion, `${where}.schemaVersion`, 1);
    // Serialise each part once here so a bad value is refused before any SQL runs.
    const data = toJson(e.data, `${where}.data`);
    const meta = toJson(metadata, `${where}.metadata`);
    return { id: lower, type: e.type, v: schemaVersion, data, meta };
  });
  const json = `[${items
    .map(
      (x) =>
        `{"id":${JSON.stringify(x.id)},"type":${JSON.stringify(x.type)},"v":${x.v},"data":${x.data},"metadata":${x.meta}}`,
    )
    .join(',')}]`;
  return { count: items.length, json, items };
}

/**
 * The single statement of an append: bump the stream row (or find the expectation unmet and
 * return no row), then insert every event with the stream's new `last_tx` as its global-order
 * component. Returns the inserted events, or nothing on a version conflict.
 */
export function appendStatement(
  s: string,
  streamId: string,
  expected: ExpectedVersion,
  payload: PreparedEvents,
): { sql: string; params: unknown[] } {
  const { streamSql, params } = streamUpdate(s, streamId, expected, payload.count);
  const sql = `WITH st AS (${streamSql}),
    ins AS (
      INSERT INTO ${s}.events
             (position_tx, event_id, stream_id, version, type, schema_version, data, metadata)
      SELECT st.last_tx, (t.e->>'id')::uuid, $1, st.version - $2::bigint + t.o, t.e->>'type',
             (t.e->>'v')::int, t.e->'data', t.e->'metadata'
        FROM st, jsonb_array_elements($${params.length + 1}::jsonb) WITH ORDINALITY AS t(e, o)
       ORDER BY t.o
      RETURNING position_tx::text AS position_tx, sequence::text AS sequence, version, created_at
    )
    SELECT position_tx, sequence, version::text AS version, created_at FROM ins ORDER BY ins.version`;
  return { sql, params: [...params, payload.json] };
}

/**
 * The statement that bumps the stream's version and returns it, or returns no row when the
 * expectation fails. Its row lock serialises concurrent appends to the same stream; under
 * READ COMMITTED a waiting `UPDATE … WHERE version = $n` re-checks the committed version.
 */
function streamUpdate(
  s: string,
  streamId: string,
  expected: ExpectedVersion,
  count: number,
): { streamSql: string; params: unknown[] } {
  const t = `${s}.streams`;
  // last_tx only ever grows: an appender whose transaction id is lower than the previous
  // appender's (it took its id earlier but reached the stream later) sorts after it anyway.
  const bump = `version = x.version + $2::bigint,
    last_tx = greatest(x.last_tx, pg_current_xact_id()), updated_at = now()`;
  if (expected === 'any') {
    return {
      streamSql: `INSERT INTO ${t} AS x (stream_id, version, last_tx)
        VALUES ($1, $2::bigint, pg_current_xact_id())
        ON CONFLICT (stream_id) DO UPDATE SET ${bump}
        RETURNING x.version, x.last_tx`,
      params: [streamId, count],
    };
  }
  if (expected === 'no_stream' || expected === 0) {
    return {
      streamSql: `INSERT INTO ${t} AS x (stream_id, version, last_tx)
        VALUES ($1, $2::bigint, pg_current_xact_id())
        ON CONFLICT (stream_id) DO NOTHING RETURNING x.version, x.last_tx`,
      params: [streamId, count],
    };
  }
  if (expected === 'stream_exists') {
    return {
      streamSql: `UPDATE ${t} AS x SET ${bump}
        WHERE x.stream_id = $1 RETURNING x.version, x.last_tx`,
      params: [streamId, count],
    };
  }
  return {
    streamSql: `UPDATE ${t} AS x SET ${bump}
      WHERE x.stream_id = $1 AND x.version = $3::bigint RETURNING x.version, x.last_tx`,
    params: [streamId, count, expected],
  };
}
