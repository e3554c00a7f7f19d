import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consistentExport } from '../src/exports/consistent-export.js';
import { linkSource } from '../src/exports/sources.js';
import type { Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrate.js';
import { openPostgres } from '../src/infra/db/postgres.js';

const url = serviceUrl('DATABASE_URL');
const WORKSPACE = 1;

/**
 * Inserts links from its own connection, one transaction at a time. Each transaction takes its
 * id from the sequence first and commits after a random pause, so ids commit out of order
 * across writers: the case an id-only keyset gets wrong.
 */
async function writer(
  connectionString: string,
  stop: { now: boolean },
  maxPauseMs: number,
  commits: bigint[],
): Promise<number> {
  const c = new pg.Client({ connectionString });
  await c.connect();
  let n = 0;
  try {
    while (!stop.now) {
      await c.query('BEGIN');
      const [tx] = (await c.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows;
      await c.query(
        `INSERT INTO links (id, workspace_id, code, is_alias, url)
         SELECT i, $1, 'w' || i, false, 'https://example.com/' || i
           FROM (SELECT nextval('link_ids') AS i FROM generate_series(1, 1 + floor(random() * 3)::int)) s`,
        [WORKSPACE],
      );
      await new Promise((r) => setTimeout(r, Math.random() * maxPauseMs));
      await c.query('COMMIT');
      commits.push(BigInt(tx!.x));
      n++;
    }
  } finally {
    await c.end();
  }
  return n;
}

describe.skipIf(!url)('consistent export under concurrent writes (PostgreSQL)', () => {
  let database: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    database = await createTestDatabase(url!);
    db = await openPostgres(database.url, 4);
    await migrate(db);
    await db.query(
      `INSERT INTO links (id, workspace_id, code, is_alias, url)
       SELECT i, $1, 'seed' || i, false, 'https://example.com/seed/' || i
         FROM (SELECT nextval('link_ids') AS i FROM generate_series(1, 3000)) s`,
      [WORKSPACE],
    );
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('exports every row that existed at the start exactly once, and every later row below the horizon once, while 4 connections insert with out-of-order commits', async () => {
    const stop = { now: false };
    const commits: bigint[] = [];
    const writers = [0, 1, 2, 3].map((i) =>
      writer(database.url, stop, i === 0 ? 300 : 30, commits),
    );
    await new Promise((r) => setTimeout(r, 200)); // writers are mid-transaction
    const before = new Set(
      (await db.query<{ id: string }>('SELECT id::text AS id FROM links')).map((r) => r.id),
    );

    const seen: string[] = [];
    const exp = consistentExport(db, linkSource(WORKSPACE), { pageSize: 97 });
    for await (const row of exp.rows) {
      seen.push(row.data.code);
      // Keep the export slow enough that writes land while it runs.
      if (seen.length % 500 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    stop.now = true;
    const transactions = await Promise.all(writers);
    const summary = exp.summary()!;

    expect(transactions.reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
    // No row twice.
    expect(new Set(seen).size).toBe(seen.length);
    const exported = new Set(seen);
    // Every row committed before the start is there.
    const codes = new Map(
      (await db.query<{ id: string; code: string }>('SELECT id::text AS id, code FROM links')).map(
        (r) => [r.id, r.code],
      ),
    );
    for (const id of before) expect(exported.has(codes.get(id)!)).toBe(true);
    // Exactly the rows below the final horizon: none skipped, none extra.
    const below = await db.query<{ code: string }>('SELECT code FROM links WHERE txid < $1::xid8', [
      summary.horizon,
    ]);
    expect(below.map((r) => r.code).sort()).toEqual([...exported].sort());
    // Rows written during the export are in it too, and ids did arrive out of order.
    expect(summary.created).toBeGreaterThan(0);
    expect(summary.existing).toBeGreaterThanOrEqual(before.size);
    // Transactions did commit out of order (a later xid committed before an earlier one).
    expect(commits.some((x, i) => i > 0 && x < commits[i - 1]!)).toBe(true);
    expect(BigInt(summary.horizon)).toBeGreaterThanOrEqual(BigInt(summary.startXmax));
  });

  it('reports rows updated during the export at the tail, marked updated', async () => {
    const codes = (
      await db.query<{ code: string }>(
        `SELECT code FROM links WHERE deleted_at IS NULL ORDER BY txid, id LIMIT 5`,
      )
    ).map((r) => r.code);
    const exp = consistentExport(db, linkSource(WORKSPACE), { pageSize: 100 });
    const rows: { code: string; change: string; title: string | null }[] = [];
    let updated = false;
    for await (const row of exp.rows) {
      rows.push({ code: row.data.code, change: row.change, title: row.data.title });
      if (!updated && rows.length >= 200) {
        updated = true;
        // Change five rows that were already exported.
        await db.query(
          `UPDATE links SET title = 'renamed', updated_at = now() WHERE code = ANY($1::text[])`,
          [codes],
        );
      }
    }
    const tail = rows.filter((r) => r.change === 'updated');
    expect(tail.map((r) => r.code).sort()).toEqual([...codes].sort());
    expect(tail.every((r) => r.title === 'renamed')).toBe(true);
    expect(exp.summary()!.updated).toBe(5);
    // Counting clicks leaves updated_at alone and does not move a link to the tail.
    const { rows: again } = await (async () => {
      const e = consistentExport(db, linkSource(WORKSPACE));
      const first: string[] = [];
      for await (const row of e.rows) {
        if (first.length === 0) {
          await db.query(`UPDATE links SET clicks = clicks + 1 WHERE code = $1`, [codes[0]]);
        }
        first.push(row.change);
      }
      return { rows: first };
    })();
    expect(again.filter((c) => c !== 'existing')).toEqual([]);
  });

  it('is not held back by a transaction open in another database, but is by one open in its own', async () => {
    const other = await createTestDatabase(url!);
    const elsewhere = new pg.Client({ connectionString: other.url });
    const here = new pg.Client({ connectionString: database.url });
    await elsewhere.connect();
    await here.connect();
    try {
      // A transaction of another database holding a transaction id, open throughout.
      // A later transaction that commits moves the snapshot's xmax past it, so that it sits
      // in the snapshots' running list below the horizon an export would otherwise take.
      await elsewhere.query('BEGIN');
      await elsewhere.query('SELECT pg_current_xact_id()');
      await db.query('SELECT pg_current_xact_id()');
      const exp = consistentExport(db, linkSource(WORKSPACE), { stallTimeoutMs: 1500 });
      let n = 0;
      for await (const _row of exp.rows) n++;
      expect(n).toBeGreaterThan(3000);
      expect(exp.summary()!.rows).toBe(n);

      // The same in this database: the export waits for it, then gives up.
      await here.query('BEGIN');
      await here.query('SELECT pg_current_xact_id()');
      await db.query('SELECT pg_current_xact_id()');
      const held = consistentExport(db, linkSource(WORKSPACE), { stallTimeoutMs: 1500 });
      await expect(
        (async () => {
          for await (const _row of held.rows);
        })(),
      ).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await here.query('ROLLBACK').catch(() => undefined);
      await elsewhere.query('ROLLBACK').catch(() => undefined);
      await here.end();
      await elsewhere.end();
      await other.drop();
    }
  });
});
