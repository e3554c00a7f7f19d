import type { RecordedEvent } from './types.js';
import type { Upcasters } from './upcasting.js';

/**
 * Columns every event read selects, with 64-bit numbers as text (drivers differ on int8).
 * The aliases shadow the real columns in ORDER BY, so queries must order by qualified names
 * (`e.version`), or they would sort the text.
 */
export const EVENT_COLUMNS = `position_tx::text AS position_tx, sequence::text AS sequence,
  event_id::text AS event_id, stream_id, version::text AS version, type, schema_version,
  data, metadata, created_at`;

export interface EventRow {
  position_tx: string;
  sequence: string;
  event_id: string;
  stream_id: string;
  version: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  created_at: Date | string;
}

export function toRecordedEvent(row: EventRow, upcasters: Upcasters): RecordedEvent {
  const metadata = row.metadata ?? {};
  let type = row.type;
  let schemaVersion = Number(row.schema_version);
  let data = row.data;
  // Reading all is hot: skip the upcasting call entirely when no upcaster is registered.
  if (!upcasters.isEmpty) {
    const upcast = upcasters.apply({
      type,
      schemaVersion,
      data,
      metadata,
      streamId: row.stream_id,
    });
    type = upcast.type;
    schemaVersion = upcast.schemaVersion;
    data = upcast.data;
  }
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    streamVersion: Number(row.version),
    // PostgreSQL prints both numbers in canonical decimal already.
    position: `${row.position_tx}:${row.sequence}`,
    type,
    data,
    metadata,
    schemaVersion,
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
  };
}
