import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../infra/db/database.js';
import type { DomainEvent, DomainEventMap, DomainEventType } from './domain-events.js';

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
     FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, type text, data jsonb, occurred_at timestamptz)`,
    [
      JSON.stringify(
        events.map((e) => ({ id: e.id, type: e.type, data: e.data, occurred_at: e.occurredAt })),
      ),
    ],
  );
}

export interface OutboxRow {
  readonly id: number;
  readonly event: DomainEvent;
  readonly attempts: number;
}

interface RawRow {
  id: number;
  event_id: string;
  type: DomainEventType;
  payload: unknown;
  occurred_at: Date;
  attempts: number;
}

/**
 * Claims up to `limit` pending events, oldest first, for `leaseMs`. Rows claimed by another
 * relay whose lease has not lapsed are skipped, so several instances can relay at once.
 */
export async function claimPending(
  db: Database,
  limit: number,
  leaseMs: number,
): Promise<OutboxRow[]> {
  const rows = await db.transaction(async (q) => {
    // The oldest pending rows come from the pending index in id order, stopping at `limit`.
    // Statistics of a queue table are stale by nature (empty at the last analyze, 50,000 rows
    // in a burst): the planner would then read every pending row and sort them, a cost that
    // grows with the backlog just when the relay must catch up. No sort, no such plan.
    await q.exec('SET LOCAL enable_sort = off');
    return q.query<RawRow>(
      `UPDATE event_outbox o
        SET claimed_until = now() + make_interval(secs => $2::float8 / 1000),
            attempts = o.attempts + 1
      WHERE o.id IN (
        SELECT id FROM event_outbox
         WHERE dispatched_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
         ORDER BY id LIMIT $1
         FOR UPDATE SKIP LOCKED)
      RETURNING o.id, o.event_id, o.type, o.payload, o.occurred_at, o.attempts`,
      [limit, leaseMs],
    );
  });
  return rows
    .sort((a, b) => a.id - b.id)
    .map((r) => ({
      id: r.id,
      attempts: r.attempts,
      event: {
        id: r.event_id,
        type: r.type,
        occurredAt: r.occurred_at.toISOString(),
        data: r.payload,
      } as DomainEvent,
    }));
}

/**
 * Deletes events every handler has taken: the outbox is a queue, not a log (the analytics
 * stream and the handlers keep what they need). One delete per event is the cheapest way to
 * take it off the queue: setting a `dispatched_at` would rewrite the row and its index entries.
 */
export async function removeDispatched(q: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await q.query(`DELETE FROM event_outbox WHERE id = ANY($1::bigint[])`, [ids]);
}

/** Releases a failed event for a later retry (after `retryMs`), keeping the error for operators. */
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
    `SELECT count(*)::int AS n FROM event_outbox WHERE dispatched_at IS NULL`,
  );
  return rows[0]?.n ?? 0;
}
