import { randomBytes } from 'node:crypto';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  comparePositions,
  createEventStore,
  migrate,
  parsePosition,
  pgPoolDatabase,
  type EventStore,
  type SqlDatabase,
} from '../src/index.js';

const url = serviceUrl('DATABASE_URL');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!url)('global order under concurrent writers (PostgreSQL)', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let db: SqlDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(url!, 'lf_eventstore_order');
    pool = new pg.Pool({ connectionString: database.url, max: 16 });
    pool.on('error', () => undefined);
    db = pgPoolDatabase(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  async function freshStore(): Promise<EventStore> {
    const schema = `es_${randomBytes(5).toString('hex')}`;
    await migrate(db, { schema });
    return createEventStore({ db, schema });
  }

  it('pages one event at a time across a transaction whose id is lower but whose sequence is higher', async () => {
    const store = await freshStore();
    // A takes its transaction id first, B appends and commits, then A appends: A has the
    // lower transaction id but the higher sequence number. A checkpoint by sequence alone
    // would read A, remember its sequence and then skip B.
    const a = await pool.connect();
    try {
      await a.query('BEGIN');
      await a.query('SELECT pg_current_xact_id()');
      await store.append('b', [{ type: 'n', data: 'B' }]);
      expect((await store.readAll()).events).toEqual([]);
      await store.append('a', [{ type: 'n', data: 'A' }], { tx: a });
      await a.query('COMMIT');
    } finally {
      a.release();
    }
    const all = (
      await db.query(
        `SELECT position_tx::text AS t, sequence::text AS s FROM "${store.schema}".events`,
      )
    ).rows as Array<{ t: string; s: string }>;
    for (const r of all) await store.waitForVisibility(`${r.t}:${r.s}`);
    const first = await store.readAll({ limit: 1 });
    const second = await store.readAll({ after: first.position, limit: 1 });
    expect([...first.events, ...second.events].map((e) => e.data)).toEqual(['A', 'B']);
    const [ea, eb] = [first.events[0]!, second.events[0]!];
    expect(parsePosition(ea.position).sequence).toBeGreaterThan(
      parsePosition(eb.position).sequence,
    );
  });

  it('keeps a stream’s own order in the global order when its later event comes from a transaction with a lower id', async () => {
    const store = await freshStore();
    const x = await pool.connect();
    try {
      await x.query('BEGIN');
      await x.query('SELECT pg_current_xact_id()');
      await store.append('s', [{ type: 'n', data: 'v1' }]);
      await store.append('s', [{ type: 'n', data: 'v2' }], { tx: x, expectedVersion: 1 });
      await x.query('COMMIT');
    } finally {
      x.release();
    }
    const { events } = await store.readStream('s');
    await store.waitForVisibility(events[1]!.position);
    const all = await store.readAll();
    expect(all.events.map((e) => [e.data, e.streamVersion])).toEqual([
      ['v1', 1],
      ['v2', 2],
    ]);
  });

  it('waitForVisibility times out behind an open transaction and names it', async () => {
    const store = await freshStore();
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()');
      const { events } = await store.append('late', [{ type: 'n', data: 1 }]);
      const err = await store
        .waitForVisibility(events[0]!.position, { timeoutMs: 200 })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'HORIZON_TIMEOUT' });
      expect((err as Error).message).toMatch(/oldest: (prepared )?transaction/);
      await blocker.query('COMMIT');
      await store.waitForVisibility(events[0]!.position);
    } finally {
      blocker.release();
    }
  });

  it('an append in a prepared (two-phase) transaction is withheld while prepared and readable once committed', async () => {
    const store = await freshStore();
    const gid = `lf_eventstore_${randomBytes(6).toString('hex')}`;
    const participant = await pool.connect();
    let prepared = false;
    try {
      await participant.query('BEGIN');
      const { events } = await store.append('ledger', [{ type: 'debited', data: { amount: 1 } }], {
        tx: participant,
        expectedVersion: 0,
      });
      await participant.query(`PREPARE TRANSACTION '${gid}'`);
      prepared = true;
      const later = await store.append('other', [{ type: 'n', data: 2 }]);
      expect((await store.readAll()).events).toEqual([]);
      await expect(
        store.waitForVisibility(later.events[0]!.position, { timeoutMs: 100 }),
      ).rejects.toMatchObject({ code: 'HORIZON_TIMEOUT' });

      await participant.query(`COMMIT PREPARED '${gid}'`);
      prepared = false;
      await store.waitForVisibility(later.events[0]!.position);
      const all = await store.readAll();
      expect(all.events.map((e) => e.eventId)).toEqual([
        events[0]!.eventId,
        later.events[0]!.eventId,
      ]);
    } finally {
      if (prepared) await participant.query(`ROLLBACK PREPARED '${gid}'`);
      participant.release();
    }
  });

  it('a subscriber reading while many connections append (some committing late, some rolling back) sees every committed event exactly once, in order', async () => {
    const store = await freshStore();
    const writers = 8;
    const transactionsPerWriter = 30;
    const committed = new Set<string>();
    let lastCommitted = '0:0';
    const rolledBack = new Set<string>();
    // Commit order of transactions, by their first sequence number: to check the run really
    // produced late commits (a transaction with a lower sequence committing after a higher one).
    const commitOrder: bigint[] = [];

    // The subscriber records what it receives through its batch transaction, so a receipt
    // exists exactly when the batch (and its checkpoint) committed. A batch that fails is
    // redelivered (at least once) but leaves no receipt.
    const s = `"${store.schema}"`;
    await db.query(
      `CREATE TABLE ${s}.received (n bigserial PRIMARY KEY, event_id uuid NOT NULL, position text NOT NULL)`,
    );
    const errors: unknown[] = [];
    const subscription = store.subscribe(
      {
        name: 'checker',
        async handle(events, tx) {
          await tx.query(
            `INSERT INTO ${s}.received (event_id, position)
             SELECT (r->>'id')::uuid, r->>'position'
               FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(r, o) ORDER BY o`,
            [JSON.stringify(events.map((e) => ({ id: e.eventId, position: e.position })))],
          );
        },
      },
      { batchSize: 7, pollIntervalMs: 2, retryDelayMs: 5, onError: (e) => errors.push(e) },
    );

    async function writer(w: number): Promise<void> {
      for (let i = 0; i < transactionsPerWriter; i++) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          // Half the transactions take their id before appending, so transaction-id order
          // and sequence order disagree.
          if (Math.random() < 0.5) {
            await client.query('SELECT pg_current_xact_id()');
            await sleep(Math.random() * 3);
          }
          const stream = Math.random() < 0.3 ? 'shared' : `w${w}`;
          const count = 1 + Math.floor(Math.random() * 3);
          const result = await store.append(
            stream,
            Array.from({ length: count }, (_, k) => ({ type: 'n', data: { w, i, k } })),
            { tx: client },
          );
          await sleep(Math.random() * 8);
          const ids = result.events.map((e) => e.eventId);
          if (Math.random() < 0.1) {
            await client.query('ROLLBACK');
            for (const id of ids) rolledBack.add(id);
          } else {
            await client.query('COMMIT');
            for (const id of ids) committed.add(id);
            for (const e of result.events) {
              if (comparePositions(e.position, lastCommitted) > 0) lastCommitted = e.position;
            }
            commitOrder.push(parsePosition(result.events[0]!.position).sequence);
          }
        } finally {
          client.release();
        }
      }
    }

    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
    await subscription.catchUp({ until: lastCommitted });
    await subscription.stop();

    const receipts = (
      await db.query(`SELECT event_id::text AS id, position FROM ${s}.received ORDER BY n`)
    ).rows as Array<{ id: string; position: string }>;
    const ids = receipts.map((r) => r.id);
    const context = `batch errors: ${errors.map((e) => String(e)).join('; ') || 'none'}`;
    expect(new Set(ids).size, `no event delivered twice (${context})`).toBe(ids.length);
    expect(
      ids.filter((id) => rolledBack.has(id)),
      'no rolled-back event delivered',
    ).toEqual([]);
    expect(ids.length, context).toBe(committed.size);
    expect(new Set(ids)).toEqual(committed);
    for (let i = 1; i < receipts.length; i++) {
      expect(comparePositions(receipts[i - 1]!.position, receipts[i]!.position)).toBeLessThan(0);
    }
    const seen = (await store.readAll({ limit: 10_000 })).events;
    expect(seen.map((e) => e.eventId)).toEqual(ids);
    // Stream versions stay gapless and in order within each stream.
    const byStream = new Map<string, number[]>();
    for (const e of seen)
      byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.streamVersion]);
    for (const [, versions] of byStream) {
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
    }

    // The run exercised the hazard: some transaction with a lower sequence number committed
    // after one with a higher number (what a reader by sequence alone would skip).
    let lateCommits = 0;
    let highest = -1n;
    for (const sequence of commitOrder) {
      if (sequence < highest) lateCommits += 1;
      else highest = sequence;
    }
    expect(lateCommits).toBeGreaterThan(0);
  });
});
