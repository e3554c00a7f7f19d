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

/** A keyset position: the (txid, key) of the last row read. */
export interface Cursor {
  readonly txid: string;
  readonly key: string;
}

/** A table exported in (txid, key) order. */
export interface ExportSource<T> {
  /**
   * Rows after `after` in (txid, key) order with `txid < horizon`, at most `limit`. `snapshot`
   * is the export's start snapshot (text of `pg_snapshot`), for telling existing rows from new.
   */
  page(
    q: Queryable,
    after: Cursor | undefined,
    horizon: string,
    snapshot: string,
    limit: number,
  ): Promise<KeyedRow<T>[]>;
}

/** What the export loop needs to know of a page, whatever form its rows take. */
export interface PageInfo {
  /** Rows in the page. */
  readonly rows: number;
  readonly existing: number;
  readonly created: number;
  readonly updated: number;
  /** Keyset position of its last row (undefined when empty). */
  readonly last: Cursor | undefined;
}

/**
 * A table exported in (txid, key) order a page at a time, the page in any form `P` (rows as
 * objects, or a page of ready-made lines): same contract as {@link ExportSource.page}.
 */
export interface PagedSource<P> {
  /** With `until`: the rows after `after` up to `until` included (at most `limit`). */
  page(
    q: Queryable,
    after: Cursor | undefined,
    horizon: string,
    snapshot: string,
    limit: number,
    until?: Cursor,
  ): Promise<P>;
  info(page: P): PageInfo;
  /**
   * The position of the `limit`-th row after `after` with `txid < horizon`, or undefined when
   * there are fewer: where a page will end, known before the page is read, so that several
   * pages can be read at once (cheap: no rendering). Optional.
   */
  bound?(
    q: Queryable,
    after: Cursor | undefined,
    horizon: string,
    limit: number,
  ): Promise<Cursor | undefined>;
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
  /**
   * Pages read at once, on as many connections, when the source has `bound` (the database
   * renders them in parallel). Default 1: the next page is read while one is handed on.
   */
  readonly parallel?: number;
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
 * Runs a page query (or a page bound) so that it reads the export index in key order whatever
 * the table's statistics say. Right after a large load, before ANALYZE, the planner would
 * otherwise scan every row past the cursor and sort them, for each page: an export quadratic
 * in the table (1,100,000 fresh clicks: 66,000 rows/s, against 720,000 in key order).
 */
function inKeyOrder<T>(db: Database, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.exec('SET LOCAL enable_sort = off; SET LOCAL jit = off');
    return fn(tx);
  });
}

/**
 * Consistent export under continuous writes, on PostgreSQL's transaction-id horizon.
 *
 * 1. At start, take the snapshot S0 and its xmax X0: every row committed before the export
 *    began has `txid < X0`.
 * 2. Take the horizon H: the xmin of the current snapshot (leaving out transactions of other
 *    databases, see HORIZON_SQL). Every transaction below it that could write here has ended,
 *    so the set of rows with `txid < H` can only lose rows (an update gives a row a new txid,
 *    above H), never gain one. Page through that set in (txid, key) order: rows whose ids were
 *    assigned early but committed late are not skipped, and no row is read twice. The next
 *    page is asked for as soon as a page arrives, before the page is handed on, so the
 *    database reads and renders one page while the caller writes out the one before.
 * 3. Follow the tail: when a page comes back short, everything below H is out; take a new
 *    horizon and go on from the same cursor. Once the horizon has passed X0, every row that
 *    existed at the start has been exported. Then take the xmax X1 of that moment (with the
 *    next horizon, after the short page) and follow the tail once more until the horizon
 *    passes X1, so every change committed before the export caught up is in it too: done.
 *    While an older transaction holds the horizon back, wait and poll.
 *
 * Rows changed during the export carry a new txid and appear again at the tail with
 * `change: 'updated'`; rows that existed at the start come with `change: 'existing'` and rows
 * inserted since with `'created'`. `summary` holds the counts once the generator is done.
 * At most two pages are held at a time: the one handed on and the next one being read.
 *
 * @example
 * const exp = consistentPages(db, clickChunkSource({ workspaceId }, 'ndjson'));
 * for await (const page of exp.pages) write(page.text);
 * console.log(exp.summary());
 */
export function consistentPages<P>(
  db: Database,
  source: PagedSource<P>,
  options: ConsistentExportOptions = {},
): { pages: AsyncGenerator<P>; summary: () => ExportSummary | undefined } {
  const pageSize = options.pageSize ?? 2000;
  const pollMs = options.pollMs ?? 25;
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  const parallel = options.parallel ?? 1;
  let summary: ExportSummary | undefined;
  const cancelled = () => {
    if (options.signal?.aborted) throw new AppError('unavailable', 'The export was cancelled.');
  };

  async function* pages(): AsyncGenerator<P> {
    const startedAt = new Date().toISOString();
    const [start] = await db.query<{ snap: string; xmax: string }>(
      `SELECT pg_current_snapshot()::text AS snap, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`,
    );
    const snapshot = start!.snap;
    const startXmax = BigInt(start!.xmax);
    const counts = { rows: 0, existing: 0, created: 0, updated: 0 };
    let after: Cursor | undefined;
    let stalledSince: number | undefined;
    let horizon = '0';
    let target = startXmax;
    let tailTarget: bigint | undefined;
    let caughtUp = false;
    const fetch = (cursor: Cursor | undefined, h: string, until?: Cursor) => {
      const p = inKeyOrder(db, (tx) => source.page(tx, cursor, h, snapshot, pageSize, until));
      // Handled here too: a page read ahead may be dropped when the caller stops early.
      p.catch(() => undefined);
      return p;
    };
    for (;;) {
      cancelled();
      const [h] = await db.query<{ h: string; m: string }>(HORIZON_SQL);
      horizon = h!.h;
      if (caughtUp && tailTarget === undefined) {
        // Caught up with the start: follow the tail once more, up to everything committed by
        // now, so changes made while the export ran are in it too.
        tailTarget = BigInt(h!.m);
        target = tailTarget;
      }
      let progressed = false;
      if (parallel > 1 && source.bound !== undefined) {
        // Pages end where `bound` says, so the next `parallel` pages are read at once; they
        // are handed on in order. The round ends with the page that `bound` leaves open.
        const { bound } = source;
        const boundOf = (from: Cursor | undefined) =>
          inKeyOrder(db, (tx) => bound(tx, from, horizon, pageSize));
        const ahead: { page: Promise<P>; until: Cursor | undefined }[] = [];
        let from = after;
        let last = false;
        const refill = async () => {
          while (!last && ahead.length < parallel) {
            const until = await boundOf(from);
            ahead.push({ page: fetch(from, horizon, until), until });
            if (until === undefined) last = true;
            else from = until;
          }
        };
        await refill();
        for (let next = ahead.shift(); next !== undefined; next = ahead.shift()) {
          const page = await next.page;
          const info = source.info(page);
          // Every row up to `until` is out, even if some left the range meanwhile.
          after = next.until ?? info.last ?? after;
          if (next.until !== undefined) progressed = true;
          cancelled();
          await refill();
          counts.rows += info.rows;
          counts.existing += info.existing;
          counts.created += info.created;
          counts.updated += info.updated;
          if (info.rows > 0) yield page;
        }
      }
      let next: Promise<P> | undefined =
        parallel > 1 && source.bound !== undefined ? undefined : fetch(after, horizon);
      while (next !== undefined) {
        const page: P = await next;
        next = undefined;
        const info = source.info(page);
        if (info.last !== undefined) after = info.last;
        if (info.rows === pageSize) {
          // Read the next page (same horizon) while this one is handed on.
          cancelled();
          next = fetch(after, horizon);
          progressed = true;
        }
        counts.rows += info.rows;
        counts.existing += info.existing;
        counts.created += info.created;
        counts.updated += info.updated;
        if (info.rows > 0) yield page;
      }
      if (BigInt(horizon) >= target) {
        if (tailTarget !== undefined) break;
        caughtUp = true;
        continue;
      }
      if (progressed) stalledSince = undefined;
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

  return { pages: pages(), summary: () => summary };
}

/**
 * {@link consistentPages} row by row, for sources that return rows as objects.
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
  const exp = consistentPages(db, rowPages(source), options);
  async function* rows(): AsyncGenerator<KeyedRow<T>> {
    for await (const page of exp.pages) yield* page;
  }
  return { rows: rows(), summary: exp.summary };
}

function rowPages<T>(source: ExportSource<T>): PagedSource<KeyedRow<T>[]> {
  return {
    page: (q, after, horizon, snapshot, limit) => source.page(q, after, horizon, snapshot, limit),
    info(page) {
      const counts = { existing: 0, created: 0, updated: 0 };
      for (const row of page) counts[row.change]++;
      const last = page[page.length - 1];
      return {
        rows: page.length,
        ...counts,
        last: last === undefined ? undefined : { txid: last.txid, key: last.key },
      };
    },
  };
}
