import { randomUUID } from 'node:crypto';
import type { Queryable } from '../infra/db/database.js';
import type {
  DomainEvent,
  DomainEventMap,
  DomainEventType,
  LinkSnapshot,
} from './domain-events.js';

/** Builds an event envelope with a fresh id. */
export function domainEvent<K extends DomainEventType>(
  type: K,
  data: DomainEventMap[K],
  occurredAt: Date = new Date(),
): DomainEvent<K> {
  return { id: randomUUID(), type, occurredAt: occurredAt.toISOString(), data };
}

/**
 * Writes events into the outbox table on the caller's transaction, so they commit or roll back
 * together with the change they describe.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   const link = await insertLink(tx, row);
 *   await appendToOutbox(tx, [domainEvent('link.created', { link: snapshot(link) })]);
 * });
 */
export async function appendToOutbox(tx: Queryable, events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `INSERT INTO event_outbox (event_id, type, payload, occurred_at)
     SELECT e.id, e.type, e.data, e.occurred_at
     FROM json_to_recordset($1::json) AS e(id uuid, type text, data json, occurred_at timestamptz)`,
    [
      JSON.stringify(
        events.map((e) => ({ id: e.id, type: e.type, data: e.data, occurred_at: e.occurredAt })),
      ),
    ],
  );
}

/** An outbox row claimed by a relay: one event, or the link.created events of one statement. */
export interface OutboxRow {
  readonly id: number;
  readonly events: readonly DomainEvent[];
  readonly attempts: number;
}

interface RawRow {
  id: number;
  event_id: string;
  type: DomainEventType;
  payload: unknown;
  occurred_at: Date;
  attempts: number;
  batch: boolean;
}

/** An element of a batch row: a link snapshot with the id of its event (see migration 066). */
export type BatchedLink = LinkSnapshot & { readonly eventId: string };

/**
 * Claims pending rows, oldest first, for `leaseMs`: rows in id order until they hold `limit`
 * events (at least one row). Rows claimed by another relay whose lease has not lapsed are
 * skipped, so several instances can relay at once.
 */
export async function claimPending(
  q: Queryable,
  limit: number,
  leaseMs: number,
): Promise<OutboxRow[]> {
  // claim_outbox (migration 066) reads the pending index in id order whatever the table's
  // statistics say: a plan that sorts the whole backlog would slow the relay down just when it
  // has to catch up.
  const rows = await q.query<RawRow>(
    `SELECT out_id AS id, out_event_id AS event_id, out_type AS type, out_payload AS payload,
            out_occurred_at AS occurred_at, out_attempts AS attempts, out_batch AS batch
       FROM claim_outbox($1, $2)`,
    [limit, leaseMs],
  );
  return rows
    .sort((a, b) => a.id - b.id)
    .map((r) => {
      const occurredAt = r.occurred_at.toISOString();
      const events: DomainEvent[] = r.batch
        ? (r.payload as BatchedLink[]).map(
            ({ eventId, ...link }) =>
              ({
                id: eventId,
                type: r.type,
                occurredAt,
                data: { link },
              }) as DomainEvent,
          )
        : [{ id: r.event_id, type: r.type, occurredAt, data: r.payload } as DomainEvent];
      return { id: r.id, attempts: r.attempts, events };
    });
}

/**
 * Deletes rows whose events every handler has taken: the outbox is a queue, not a log (the
 * analytics stream and the handlers keep what they need). A delete is the cheapest way to take
 * a row off the queue: setting a `dispatched_at` would rewrite the row and its index entries.
 */
export async function removeDispatched(q: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await q.query(`DELETE FROM event_outbox WHERE id = ANY($1::bigint[])`, [ids]);
}

/**
 * Releases a failed row (all its events) for a later retry (after `retryMs`), keeping the
 * error for operators.
 */
export async function markFailed(
  q: Queryable,
  id: number,
  error: string,
  retryMs: number,
  giveUp: boolean,
): Promise<void> {
  await q.query(
    `UPDATE event_outbox
        SET last_error = $2,
            claimed_until = now() + make_interval(secs => $3::float8 / 1000),
            dispatched_at = CASE WHEN $4 THEN now() ELSE NULL END
      WHERE id = $1`,
    [id, error.slice(0, 2000), retryMs, giveUp],
  );
}

/** Deletes events set aside (given up on) more than `olderThanMs` ago. */
export async function pruneSetAside(q: Queryable, olderThanMs: number): Promise<number> {
  const rows = await q.query(
    `DELETE FROM event_outbox
      WHERE dispatched_at < now() - make_interval(secs => $1::float8 / 1000) RETURNING id`,
    [olderThanMs],
  );
  return rows.length;
}

/** Events not yet dispatched (a health figure: it should stay near zero). */
export async function countPending(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `SELECT coalesce(sum(event_count), 0)::int AS n FROM event_outbox WHERE dispatched_at IS NULL`,
  );
  return rows[0]?.n ?? 0;
}
