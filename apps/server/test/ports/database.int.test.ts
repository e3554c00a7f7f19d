import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/infra/db/database.js';
import { migrate } from '../../src/infra/db/migrate.js';
import { openPglite } from '../../src/infra/db/pglite.js';
import { openPostgres } from '../../src/infra/db/postgres.js';

const pgUrl = serviceUrl('DATABASE_URL');

interface Adapter {
  name: string;
  open(): Promise<{ db: Database; reopen(): Promise<Database>; cleanup(): Promise<void> }>;
}

const adapters: Adapter[] = [
  {
    name: 'PGlite',
    async open() {
      const db = await openPglite(undefined);
      return { db, reopen: async () => db, cleanup: () => db.close() };
    },
  },
];
if (pgUrl !== undefined) {
  adapters.push({
    name: 'PostgreSQL',
    async open() {
      const tdb: TestDatabase = await createTestDatabase(pgUrl);
      const db = await openPostgres(tdb.url);
      const others: Database[] = [];
      return {
        db,
        reopen: async () => {
          const d = await openPostgres(tdb.url);
          others.push(d);
          return d;
        },
        cleanup: async () => {
          await db.close();
          for (const o of others) await o.close();
          await tdb.drop();
        },
      };
    },
  });
}

describe.each(adapters)('Database port contract ($name)', (adapter) => {
  let ctx: Awaited<ReturnType<Adapter['open']>>;
  beforeAll(async () => {
    ctx = await adapter.open();
  });
  afterAll(async () => ctx?.cleanup());

  it('runs parameterised queries and returns int8 as numbers', async () => {
    const rows = await ctx.db.query<{ n: number; s: string }>(
      'SELECT $1::bigint AS n, $2::text AS s',
      [9_007_199_254_740_991, "it's"],
    );
    expect(rows).toEqual([{ n: 9_007_199_254_740_991, s: "it's" }]);
  });

  it('refuses an int8 beyond 2^53 rather than rounding it', async () => {
    await expect(ctx.db.query(`SELECT 9007199254740993::bigint AS n`)).rejects.toThrow(/2\^53/);
  });

  it('commits a transaction, and rolls back all of it when the function throws', async () => {
    await ctx.db.exec('CREATE TABLE t_tx (v int)');
    await ctx.db.transaction(async (tx) => {
      await tx.query('INSERT INTO t_tx VALUES (1)');
    });
    await expect(
      ctx.db.transaction(async (tx) => {
        await tx.query('INSERT INTO t_tx VALUES (2)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await ctx.db.query('SELECT v FROM t_tx')).toEqual([{ v: 1 }]);
  });

  it('migrates to the latest version, and a second run applies nothing', async () => {
    const first = await migrate(ctx.db);
    expect(first.version).toBeGreaterThanOrEqual(1);
    const second = await migrate(ctx.db);
    expect(second.applied).toEqual([]);
    expect(second.version).toBe(first.version);
    const ws = await ctx.db.query<{ slug: string }>('SELECT slug FROM workspaces');
    expect(ws).toEqual([{ slug: 'default' }]);
  });

  it('lets two instances migrate at the same time without applying anything twice', async () => {
    const other = await ctx.reopen();
    const [a, b] = await Promise.all([migrate(ctx.db), migrate(other)]);
    expect(a.version).toBe(b.version);
    const twice = await ctx.db.query(
      'SELECT version FROM schema_migrations GROUP BY version HAVING count(*) > 1',
    );
    expect(twice).toEqual([]);
  });
});
