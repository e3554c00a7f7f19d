import { AppError } from '../errors.js';
import type { Database, Queryable } from '../infra/db/database.js';

/** How a row relates to the export's start. */
export type Change = 'existing' | 'created' | 'updated';

/** A row as a source returns it: its keyset position plus its data. */
export interface KeyedRow<T> {
  /** Transaction id (xid8, decimal text) of the row's last change. */
  readonly txid: string;
  /** Tie-breaker inside one transaction (decimal text). */
  readonly key: string;
  readonly change: Change;
  readonly data: T;
}

/** A table exported in (txid, key) order. */
export interface ExportSource<T> {
  /**
   * Rows after `after` in (txid, key) order with `txid < horizon`, at most `limit`. `snapshot`
   * is the export's start snapshot (text of `pg_snapshot`), for telling existing rows from new.
   */
  page(
    q: Queryable,
    after: { txid: string; key: string } | undefined,
    horizon: string,
    snapshot: string,
    limit: number,
  ): Promise<KeyedRow<T>[]>;
}

export interface ExportSummary {
  rows: number;
  existing: number;
  created: number;
  updated: number;
  startedAt: string;
  finishedAt: string;
  /** xid8 below which every transaction is included (the export's final horizon). */
  horizon: string;
  /** xmax of the start snapshot: every row committed before the export began lies below it. */
  startXmax: string;
}

export interface ConsistentExportOptions {
  /** Rows per page. Default 2,000. */
  readonly pageSize?: number;
  /** Wait between polls while an older transaction holds the horizon back. Default 25 ms. */
  readonly pollMs?: number;
  /**
   * Longest the horizon may stay below the start snapshot's xmax (a transaction that was
   * running when the export began and is still open) before the export fails. Default 60 s.
   */
  readonly stallTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * The horizon `h` and the xmax `m` of the current snapshot. `h` is the oldest transaction of
 * the snapshot still running that may write to this database: running transactions that
 * `pg_stat_activity` shows in another database are left out (they cannot add rows here), so a
 * long transaction elsewhere in the cluster does not hold the export back. A running one not
 * found there (it has just ended, or is a prepared transaction) counts, which is safe. With no
 * such transaction the horizon is the xmax. (Transaction ids of `pg_stat_activity` are 32-bit:
 * they are compared modulo 2^32, unambiguous among transactions running together.)
 */
const HORIZON_SQL = `
  WITH s AS (SELECT pg_current_snapshot() AS snap)
  SELECT coalesce(
           (SELECT min(x) FROM s, pg_snapshot_xip(s.snap) AS x
             WHERE NOT EXISTS (
               SELECT 1 FROM pg_stat_activity a
                WHERE a.backend_xid IS NOT NULL AND a.datid IS NOT NULL
                  AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND a.backend_xid::text::bigint = (x::text::numeric % 4294967296)::bigint)),
           (SELECT pg_snapshot_xmax(snap) FROM s))::text AS h,
         (SELECT pg_snapshot_xmax(snap) FROM s)::text AS m`;

/**
 * Consistent export under continuous writes, on PostgreSQL's transaction-id horizon.
 *
 * 1. At start, take the snapshot S0 and its xmax X0: every row committed before the export
 *    began has `txid < X0`.
 * 2. Page in (txid, key) order, reading only rows with `txid < horizon`, where horizon is the
 *    xmin of the current snapshot (leaving out transactions of other databases, see
 *    HORIZON_SQL): every transaction below it that could write here has ended, so no row can
 *    appear below it later — rows whose ids were assigned early but committed late are not
 *    skipped, and no row is read twice.
 * 3. Follow the tail: when a page comes back short, everything below the horizon is out. Once
 *    the horizon has passed X0, every row that existed at the start has been exported. Then
 *    take the xmax X1 of that moment and follow the tail once more until the horizon passes
 *    X1, so every change committed before the export caught up is in it too: done. While an
 *    older transaction holds the horizon back, wait and poll.
 *
 * Rows changed during the export carry a new txid and appear again at the tail with
 * `change: 'updated'`; rows that existed at the start come with `change: 'existing'` and rows
 * inserted since with `'created'`. `summary` holds the counts once the generator is done.
 *
 * @example
 * const exp = consistentExport(db, linkSource(workspaceId));
 * for await (const row of exp.rows) write(row);
 * console.log(exp.summary());
 */
export function consistentExport<T>(
  db: Database,
  source: ExportSource<T>,
  options: ConsistentExportOptions = {},
): { rows: AsyncGenerator<KeyedRow<T>>; summary: () => ExportSummary | undefined } {
  const pageSize = options.pageSize ?? 2000;
  const pollMs = options.pollMs ?? 25;
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  let summary: ExportSummary | undefined;

  async function* rows(): AsyncGenerator<KeyedRow<T>> {
    const startedAt = new Date().toISOString();
    const [start] = await db.query<{ snap: string; xmax: string }>(
      `SELECT pg_current_snapshot()::text AS snap, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`,
    );
    const snapshot = start!.snap;
    const startXmax = BigInt(start!.xmax);
    const counts = { rows: 0, existing: 0, created: 0, updated: 0 };
    let after: { txid: string; key: string } | undefined;
    let stalledSince: number | undefined;
    let horizon = '0';
    let target = startXmax;
    let tailTarget: bigint | undefined;
    for (;;) {
      if (options.signal?.aborted) throw new AppError('unavailable', 'The export was cancelled.');
      const [h] = await db.query<{ h: string; m: string }>(HORIZON_SQL);
      horizon = h!.h;
      const page = await source.page(db, after, horizon, snapshot, pageSize);
      for (const row of page) {
        counts.rows++;
        counts[row.change]++;
        yield row;
      }
      const last = page[page.length - 1];
      if (last !== undefined) after = { txid: last.txid, key: last.key };
      if (page.length === pageSize) {
        stalledSince = undefined;
        continue;
      }
      if (BigInt(horizon) >= target) {
        // Caught up with the start. Follow the tail once more, up to everything committed
        // by now, so changes made while the export ran are in it too; then stop.
        if (tailTarget !== undefined) break;
        tailTarget = BigInt(h!.m);
        target = tailTarget;
        if (BigInt(horizon) >= target) break;
      }
      stalledSince ??= Date.now();
      if (Date.now() - stalledSince > stallTimeoutMs) {
        throw new AppError(
          'unavailable',
          'The export is waiting on a database transaction that stays open; try again later.',
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    summary = {
      ...counts,
      startedAt,
      finishedAt: new Date().toISOString(),
      horizon,
      startXmax: startXmax.toString(),
    };
  }

  return { rows: rows(), summary: () => summary };
}
