import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  createEventStore,
  DuplicateEventError,
  EventStoreValidationError,
  migrate,
  START,
  comparePositions,
  UpcastError,
  type EventStoreOptions,
  type Projection,
  type RecordedEvent,
  type SqlDatabase,
  type SqlExecutor,
} from '../src/index.js';

/** What each adapter's suite provides to the shared contract. */
export interface ContractTarget {
  /** Opens the database; called once per suite. */
  open(): Promise<SqlDatabase>;
  close(): Promise<void>;
  /** True when two transactions can be open at once (not PGlite: one connection). */
  readonly concurrentTransactions: boolean;
}

const uniqueSchema = (): string => `es_${randomBytes(5).toString('hex')}`;

/**
 * The behaviour every SqlDatabase adapter must give the event store. Runs over real
 * PostgreSQL (`pg`) and over PGlite.
 */
export function eventStoreContract(label: string, target: ContractTarget): void {
  describe(`event store contract (${label})`, () => {
    let db: SqlDatabase;

    beforeAll(async () => {
      db = await target.open();
    });
    afterAll(async () => {
      await target.close();
    });

    /** A store in its own fresh schema, so readAll sees only this test's events. */
    async function freshStore(options: Omit<EventStoreOptions, 'db' | 'schema'> = {}) {
      const schema = uniqueSchema();
      await migrate(db, { schema });
      return createEventStore({ db, schema, ...options });
    }

    async function count(sql: string): Promise<number> {
      const r = await db.query(sql);
      return Number((r.rows[0] as { n: string | number }).n);
    }

    describe('migrate', () => {
      it('creates the tables once; running it again applies nothing', async () => {
        const schema = uniqueSchema();
        const first = await migrate(db, { schema });
        const second = await migrate(db, { schema });
        expect(first.applied).toEqual([1]);
        expect(second.applied).toEqual([]);
        expect(second.version).toBe(1);
        expect(await count(`SELECT count(*) AS n FROM "${schema}".schema_migrations`)).toBe(1);
      });

      it('when called concurrently, applies each migration exactly once', async () => {
        const schema = uniqueSchema();
        const results = await Promise.all([1, 2, 3].map(() => migrate(db, { schema })));
        expect(results.flatMap((r) => r.applied)).toEqual([1]);
      });

      it('refuses a schema name that is not a plain identifier', async () => {
        await expect(migrate(db, { schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(
          EventStoreValidationError,
        );
      });
    });

    describe('append and readStream', () => {
      it('numbers a new stream 1..n and reads it back in order', async () => {
        const store = await freshStore();
        const result = await store.append('acc-1', [
          { type: 'opened', data: { owner: 'ana' }, metadata: { by: 'test' } },
          { type: 'deposited', data: { amount: 100 } },
        ]);
        expect(result.nextExpectedVersion).toBe(2);
        expect(result.events.map((e) => e.streamVersion)).toEqual([1, 2]);

        const read = await store.readStream('acc-1');
        expect(read.exists).toBe(true);
        expect(read.version).toBe(2);
        expect(read.events.map((e) => [e.type, e.data, e.streamVersion])).toEqual([
          ['opened', { owner: 'ana' }, 1],
          ['deposited', { amount: 100 }, 2],
        ]);
        expect(read.events[0]!.metadata).toEqual({ by: 'test' });
        expect(read.events[1]!.metadata).toEqual({});
        expect(read.events[0]!.createdAt).toBeInstanceOf(Date);
        expect(read.events[0]!.eventId).toBe(result.events[0]!.eventId);
      });

      it('reads a missing stream as not existing, version 0', async () => {
        const store = await freshStore();
        expect(await store.readStream('nobody')).toEqual({ exists: false, version: 0, events: [] });
      });

      it('reads a slice by fromVersion, toVersion and limit', async () => {
        const store = await freshStore();
        await store.append(
          's',
          Array.from({ length: 10 }, (_, i) => ({ type: 'n', data: i + 1 })),
        );
        const slice = await store.readStream('s', { fromVersion: 3, toVersion: 8, limit: 4 });
        expect(slice.events.map((e) => e.data)).toEqual([3, 4, 5, 6]);
        expect(slice.version).toBe(10);
        const tail = await store.readStream('s', { fromVersion: 11 });
        expect(tail.events).toEqual([]);
      });

      it('with the right expectedVersion appends; with a stale one throws ConcurrencyError naming stream, expected and actual, and writes nothing', async () => {
        const store = await freshStore();
        await store.append('acc', [{ type: 'a', data: 1 }], { expectedVersion: 'no_stream' });
        await store.append('acc', [{ type: 'b', data: 2 }], { expectedVersion: 1 });

        const err = await store
          .append('acc', [{ type: 'c', data: 3 }], { expectedVersion: 1 })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConcurrencyError);
        const ce = err as ConcurrencyError;
        expect(ce.streamId).toBe('acc');
        expect(ce.expectedVersion).toBe(1);
        expect(ce.actualVersion).toBe(2);
        expect(ce.code).toBe('CONCURRENCY_CONFLICT');
        expect(ce.message).toContain('"acc"');
        expect(ce.message).toContain('expected version 1');
        expect(ce.message).toContain('version 2');
        expect((await store.readStream('acc')).version).toBe(2);
      });

      it('enforces no_stream, stream_exists and 0; "any" always appends', async () => {
        const store = await freshStore();
        await expect(
          store.append('x', [{ type: 't', data: 1 }], { expectedVersion: 'stream_exists' }),
        ).rejects.toMatchObject({ actualVersion: 0, expectedVersion: 'stream_exists' });
        await expect(
          store.append('x', [{ type: 't', data: 1 }], { expectedVersion: 3 }),
        ).rejects.toBeInstanceOf(ConcurrencyError);
        expect(await store.readStream('x')).toMatchObject({ exists: false });

        await store.append('x', [{ type: 't', data: 1 }], { expectedVersion: 0 });
        await expect(
          store.append('x', [{ type: 't', data: 2 }], { expectedVersion: 'no_stream' }),
        ).rejects.toMatchObject({ actualVersion: 1 });
        await store.append('x', [{ type: 't', data: 2 }], { expectedVersion: 'stream_exists' });
        const r = await store.append('x', [{ type: 't', data: 3 }], { expectedVersion: 'any' });
        expect(r.nextExpectedVersion).toBe(3);
      });

      it('an empty append writes nothing but still checks the expected version', async () => {
        const store = await freshStore();
        expect(await store.append('e', [], { expectedVersion: 0 })).toEqual({
          nextExpectedVersion: 0,
          events: [],
        });
        await expect(store.append('e', [], { expectedVersion: 2 })).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
        expect((await store.readStream('e')).exists).toBe(false);
      });

      it('of many appends racing on one expected version, exactly one wins', async () => {
        const store = await freshStore();
        await store.append('race', [{ type: 'start', data: 0 }]);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            store.append('race', [{ type: 'try', data: i }], { expectedVersion: 1 }),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o) => o.status === 'rejected');
        expect(won).toHaveLength(1);
        for (const l of lost)
          expect((l as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
        const read = await store.readStream('race');
        expect(read.version).toBe(2);
        expect(read.events).toHaveLength(2);
      });

      it('appends with "any" from many callers at once keep versions gapless', async () => {
        const store = await freshStore();
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.append('busy', [{ type: 'n', data: i }])),
        );
        const read = await store.readStream('busy');
        expect(read.events.map((e) => e.streamVersion)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        expect(new Set(read.events.map((e) => e.data)).size).toBe(20);
      });

      it('refuses invalid input with EventStoreValidationError and writes nothing', async () => {
        const store = await freshStore();
        const cyclic: Record<string, unknown> = {};
        cyclic['self'] = cyclic;
        const bad: Array<[string, () => Promise<unknown>]> = [
          ['empty stream id', () => store.append('', [{ type: 't', data: 1 }])],
          ['non-string stream id', () => store.append(42 as unknown as string, [])],
          ['events not an array', () => store.append('v', {} as never)],
          ['empty type', () => store.append('v', [{ type: '', data: 1 }])],
          ['missing data', () => store.append('v', [{ type: 't' } as never])],
          ['BigInt data', () => store.append('v', [{ type: 't', data: 1n }])],
          ['cyclic data', () => store.append('v', [{ type: 't', data: cyclic }])],
          ['NUL in data', () => store.append('v', [{ type: 't', data: 'a\u0000b' }])],
          [
            'array metadata',
            () => store.append('v', [{ type: 't', data: 1, metadata: [] as never }]),
          ],
          ['bad eventId', () => store.append('v', [{ type: 't', data: 1, eventId: 'nope' }])],
          [
            'negative expected',
            () => store.append('v', [{ type: 't', data: 1 }], { expectedVersion: -1 }),
          ],
          [
            'fractional expected',
            () => store.append('v', [{ type: 't', data: 1 }], { expectedVersion: 1.5 }),
          ],
          [
            'bad schemaVersion',
            () => store.append('v', [{ type: 't', data: 1, schemaVersion: 0 }]),
          ],
          [
            'same eventId twice in one append',
            () => {
              const id = randomUUID();
              return store.append('v', [
                { type: 't', data: 1, eventId: id },
                { type: 't', data: 2, eventId: id },
              ]);
            },
          ],
          ['bad fromVersion', () => store.readStream('v', { fromVersion: 0 })],
          ['bad position', () => store.readAll({ after: 'end' })],
          ['readAll limit too large', () => store.readAll({ limit: 1_000_000 })],
        ];
        for (const [what, run] of bad) {
          await expect(run(), what).rejects.toBeInstanceOf(EventStoreValidationError);
        }
        // A valid first event does not get written when a later one in the batch is invalid.
        await expect(
          store.append('v', [
            { type: 'ok', data: 1 },
            { type: 'bad', data: undefined },
          ]),
        ).rejects.toBeInstanceOf(EventStoreValidationError);
        expect((await store.readAll()).events).toEqual([]);
      });

      it('an eventId already stored makes the append fail with DuplicateEventError and write nothing', async () => {
        const store = await freshStore();
        const id = randomUUID();
        await store.append('d1', [{ type: 't', data: 1, eventId: id }]);
        await expect(
          store.append('d2', [
            { type: 't', data: 2 },
            { type: 't', data: 3, eventId: id },
          ]),
        ).rejects.toBeInstanceOf(DuplicateEventError);
        expect((await store.readStream('d2')).exists).toBe(false);
      });
    });

    describe('readAll', () => {
      it('returns every stream’s events in one global order, page by page, from any position', async () => {
        const store = await freshStore();
        let last = START;
        for (let i = 0; i < 5; i++) {
          const r = await store.append(`s-${i % 2}`, [
            { type: 'n', data: i * 2 },
            { type: 'n', data: i * 2 + 1 },
          ]);
          last = r.events[1]!.position;
        }
        // Other transactions on a shared server may hold the horizon back for a moment.
        await store.waitForVisibility(last);
        const all: RecordedEvent[] = [];
        let position = START;
        let pages = 0;
        for (;;) {
          const page = await store.readAll({ after: position, limit: 3 });
          all.push(...page.events);
          position = page.position;
          pages += 1;
          if (page.caughtUp) break;
        }
        expect(pages).toBe(4);
        expect(all.map((e) => e.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for (let i = 1; i < all.length; i++) {
          expect(comparePositions(all[i - 1]!.position, all[i]!.position)).toBeLessThan(0);
        }
        const fromMiddle = await store.readAll({ after: all[4]!.position });
        expect(fromMiddle.events.map((e) => e.data)).toEqual([5, 6, 7, 8, 9]);
        expect(fromMiddle.caughtUp).toBe(true);
        const atEnd = await store.readAll({ after: position });
        expect(atEnd).toEqual({ events: [], position, caughtUp: true });
        expect(await store.headPosition()).toBe(all[9]!.position);
      });

      it('an append’s recorded positions match what readAll later returns', async () => {
        const store = await freshStore();
        const a = await store.append('p', [
          { type: 'x', data: 1 },
          { type: 'x', data: 2 },
        ]);
        await store.waitForVisibility(a.events[1]!.position);
        const read = await store.readAll();
        expect(read.events.map((e) => e.position)).toEqual(a.events.map((e) => e.position));
      });
    });

    describe('caller-owned transactions', () => {
      it('an append inside a transaction that rolls back leaves no event and no stream', async () => {
        const store = await freshStore();
        await expect(
          store.transaction(async (tx) => {
            await store.append('t', [{ type: 'x', data: 1 }], { tx, expectedVersion: 0 });
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(await store.readStream('t')).toMatchObject({ exists: false });
        expect((await store.readAll()).events).toEqual([]);
      });

      it('an append and the caller’s own write commit together', async () => {
        const store = await freshStore();
        const s = `"${store.schema}"`;
        await db.query(`CREATE TABLE ${s}.orders (id text PRIMARY KEY)`);
        await store.transaction(async (tx) => {
          await store.append('order-1', [{ type: 'placed', data: {} }], { tx, expectedVersion: 0 });
          await tx.query(`INSERT INTO ${s}.orders (id) VALUES ($1)`, ['order-1']);
        });
        expect(await count(`SELECT count(*) AS n FROM ${s}.orders`)).toBe(1);
        expect((await store.readStream('order-1')).version).toBe(1);
      });

      it('a ConcurrencyError inside a transaction leaves it usable, so the caller can retry', async () => {
        const store = await freshStore();
        await store.append('r', [{ type: 'x', data: 1 }]);
        const result = await store.transaction(async (tx) => {
          await expect(
            store.append('r', [{ type: 'x', data: 2 }], { tx, expectedVersion: 0 }),
          ).rejects.toBeInstanceOf(ConcurrencyError);
          return store.append('r', [{ type: 'x', data: 2 }], { tx, expectedVersion: 1 });
        });
        expect(result.nextExpectedVersion).toBe(2);
      });
    });

    describe('inline projections', () => {
      function balanceProjection(schema: string): Projection {
        return {
          name: 'balances',
          eventTypes: ['deposited'],
          async handle(events, tx) {
            for (const e of events) {
              const { amount } = e.data as { amount: number };
              if (amount < 0) throw new Error('projection refuses negative amounts');
              await tx.query(
                `INSERT INTO "${schema}".balances (account, balance) VALUES ($1, $2)
                 ON CONFLICT (account) DO UPDATE SET balance = "${schema}".balances.balance + $2`,
                [e.streamId, amount],
              );
            }
          },
        };
      }

      it('update their read model in the appending transaction, only for their event types', async () => {
        const schema = uniqueSchema();
        await migrate(db, { schema });
        await db.query(`CREATE TABLE "${schema}".balances (account text PRIMARY KEY, balance int)`);
        const store = createEventStore({
          db,
          schema,
          inlineProjections: [balanceProjection(schema)],
        });
        await store.append('a', [
          { type: 'deposited', data: { amount: 5 } },
          { type: 'noted', data: { amount: 1000 } },
          { type: 'deposited', data: { amount: 7 } },
        ]);
        const r = await db.query(`SELECT balance FROM "${schema}".balances WHERE account = 'a'`);
        expect(r.rows).toEqual([{ balance: 12 }]);
      });

      it('when the projection throws, the append fails and neither events nor read model change', async () => {
        const schema = uniqueSchema();
        await migrate(db, { schema });
        await db.query(`CREATE TABLE "${schema}".balances (account text PRIMARY KEY, balance int)`);
        const store = createEventStore({
          db,
          schema,
          inlineProjections: [balanceProjection(schema)],
        });
        await store.append('a', [{ type: 'deposited', data: { amount: 5 } }]);
        await expect(
          store.append('a', [
            { type: 'deposited', data: { amount: 1 } },
            { type: 'deposited', data: { amount: -1 } },
          ]),
        ).rejects.toThrow('negative');
        expect((await store.readStream('a')).version).toBe(1);
        const r = await db.query(`SELECT balance FROM "${schema}".balances`);
        expect(r.rows).toEqual([{ balance: 5 }]);
      });
    });

    describe('subscriptions', () => {
      function collector(name: string, fail?: { times: number }) {
        const seen: RecordedEvent[] = [];
        let failures = 0;
        const projection: Projection = {
          name,
          async handle(events) {
            if (fail && failures < fail.times) {
              failures += 1;
              throw new Error('handler down');
            }
            seen.push(...events);
          },
        };
        return { seen, projection, failures: () => failures };
      }

      it('catchUp delivers every event once in global order and stores the checkpoint', async () => {
        const store = await freshStore();
        let until = START;
        for (let i = 0; i < 7; i++) {
          until = (await store.append(`s${i % 3}`, [{ type: 'n', data: i }])).events[0]!.position;
        }
        const c = collector('all');
        const sub = store.subscribe(c.projection, { autoStart: false, batchSize: 2 });
        expect(await sub.catchUp({ until })).toBe(7);
        expect(c.seen.map((e) => e.data)).toEqual([0, 1, 2, 3, 4, 5, 6]);
        expect(await sub.checkpoint()).toBe(c.seen[6]!.position);
        expect(await sub.catchUp()).toBe(0);
        await sub.stop();
      });

      it('a restarted subscription resumes after its checkpoint instead of replaying', async () => {
        const store = await freshStore();
        const one = await store.append('a', [{ type: 'n', data: 1 }]);
        const first = collector('resume');
        const s1 = store.subscribe(first.projection, { autoStart: false });
        await s1.catchUp({ until: one.events[0]!.position });
        await s1.stop();

        const two = await store.append('a', [{ type: 'n', data: 2 }]);
        const second = collector('resume');
        const s2 = store.subscribe(second.projection, { autoStart: false });
        await s2.catchUp({ until: two.events[0]!.position });
        expect(second.seen.map((e) => e.data)).toEqual([2]);
        await s2.stop();
      });

      it('a failing batch is rolled back and redelivered (at least once); the checkpoint does not move past it', async () => {
        const store = await freshStore();
        const { events } = await store.append('a', [
          { type: 'n', data: 1 },
          { type: 'n', data: 2 },
        ]);
        const until = events[1]!.position;
        const c = collector('flaky', { times: 1 });
        const sub = store.subscribe(c.projection, { autoStart: false });
        await expect(sub.catchUp({ until })).rejects.toThrow('handler down');
        const checkpoint = (await sub.checkpoint()) ?? START;
        expect(comparePositions(checkpoint, events[0]!.position)).toBeLessThan(0);
        await sub.catchUp({ until });
        expect(c.seen.map((e) => e.data)).toEqual([1, 2]);
        await sub.stop();
      });

      it('writes made through the batch transaction commit exactly once with the checkpoint', async () => {
        const store = await freshStore();
        const s = `"${store.schema}"`;
        await db.query(`CREATE TABLE ${s}.seen (event_id uuid PRIMARY KEY)`);
        let fail = true;
        const projection: Projection = {
          name: 'writer',
          async handle(events, tx: SqlExecutor) {
            for (const e of events) {
              await tx.query(`INSERT INTO ${s}.seen (event_id) VALUES ($1)`, [e.eventId]);
            }
            if (fail) {
              fail = false;
              throw new Error('crash after writing');
            }
          },
        };
        const { events } = await store.append('a', [
          { type: 'n', data: 1 },
          { type: 'n', data: 2 },
        ]);
        const until = events[1]!.position;
        const sub = store.subscribe(projection, { autoStart: false });
        await expect(sub.catchUp({ until })).rejects.toThrow('crash');
        expect(await count(`SELECT count(*) AS n FROM ${s}.seen`)).toBe(0);
        await sub.catchUp({ until });
        expect(await count(`SELECT count(*) AS n FROM ${s}.seen`)).toBe(2);
        await sub.stop();
      });

      it('two instances of one subscription share the work: each event is handled once', async () => {
        const store = await freshStore();
        let until = START;
        for (let i = 0; i < 30; i++) {
          until = (await store.append(`s${i % 4}`, [{ type: 'n', data: i }])).events[0]!.position;
        }
        const handled: number[] = [];
        const projection: Projection = {
          name: 'shared',
          async handle(events) {
            await new Promise((r) => setTimeout(r, 2));
            handled.push(...events.map((e) => e.data as number));
          },
        };
        const a = store.subscribe(projection, { autoStart: false, batchSize: 3 });
        const b = store.subscribe(projection, { autoStart: false, batchSize: 3 });
        await Promise.all([a.catchUp({ until }), b.catchUp({ until })]);
        expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => i));
        await Promise.all([a.stop(), b.stop()]);
      });

      it('filters by eventTypes but still advances past other events', async () => {
        const store = await freshStore();
        const { events } = await store.append('a', [
          { type: 'keep', data: 1 },
          { type: 'skip', data: 2 },
          { type: 'keep', data: 3 },
        ]);
        const seen: unknown[] = [];
        const sub = store.subscribe(
          {
            name: 'filtered',
            eventTypes: ['keep'],
            handle: async (es) => void seen.push(...es.map((e) => e.data)),
          },
          { autoStart: false },
        );
        expect(await sub.catchUp({ until: events[2]!.position })).toBe(3);
        expect(seen).toEqual([1, 3]);
        await sub.stop();
      });

      it('from "end" skips history and delivers only later events', async () => {
        const store = await freshStore();
        const old = await store.append('a', [{ type: 'old', data: 1 }]);
        await store.waitForVisibility(old.events[0]!.position);
        const c = collector('tail');
        const sub = store.subscribe(c.projection, { autoStart: false, from: 'end' });
        await sub.catchUp();
        const next = await store.append('a', [{ type: 'new', data: 2 }]);
        await sub.catchUp({ until: next.events[0]!.position });
        expect(c.seen.map((e) => e.type)).toEqual(['new']);
        await sub.stop();
      });

      it('the polling loop delivers new events and retries a failed batch by itself', async () => {
        const store = await freshStore();
        const c = collector('live', { times: 2 });
        const errors: unknown[] = [];
        const sub = store.subscribe(c.projection, {
          pollIntervalMs: 10,
          retryDelayMs: 5,
          onError: (e) => errors.push(e),
        });
        await store.append('a', [{ type: 'n', data: 1 }]);
        await store.append('b', [{ type: 'n', data: 2 }]);
        await waitFor(() => c.seen.length >= 2);
        await sub.stop();
        expect(c.seen.map((e) => e.data)).toEqual([1, 2]);
        expect(errors).toHaveLength(2);
      });

      it('an append through the same store wakes a running subscription long before its poll interval', async () => {
        const store = await freshStore();
        const c = collector('woken');
        const sub = store.subscribe(c.projection, { pollIntervalMs: 3_600_000 });
        // Let the first (empty) poll finish, so the loop is asleep for an hour.
        await new Promise((r) => setTimeout(r, 100));
        await store.append('a', [{ type: 'n', data: 1 }]);
        // Without the wake-up this would wait an hour; waitFor gives up after 25 s.
        await waitFor(() => c.seen.length === 1);
        await sub.stop();
      });

      it('refuses bad options', async () => {
        const store = await freshStore();
        const p: Projection = { name: 'x', handle: async () => undefined };
        expect(() => store.subscribe(p, { batchSize: 0, autoStart: false })).toThrow(
          EventStoreValidationError,
        );
        expect(() => store.subscribe({ ...p, name: '' }, { autoStart: false })).toThrow(
          EventStoreValidationError,
        );
      });
    });

    describe('snapshots and aggregates', () => {
      interface Account {
        balance: number;
        folded: number;
      }
      const account = (snapshot?: { every?: number; schemaVersion?: number }) => ({
        initialState: (): Account => ({ balance: 0, folded: 0 }),
        evolve: (s: Account, e: RecordedEvent): Account => ({
          balance:
            s.balance + (e.type === 'deposited' ? 1 : -1) * (e.data as { amount: number }).amount,
          folded: s.folded + 1,
        }),
        ...(snapshot ? { snapshot: { name: 'account', ...snapshot } } : {}),
      });

      it('save and load a snapshot; an older one never replaces a newer one', async () => {
        const store = await freshStore();
        await store.saveSnapshot('a', { version: 5, state: { balance: 50 } });
        await store.saveSnapshot('a', { version: 3, state: { balance: 30 } });
        const snap = await store.loadSnapshot('a');
        expect(snap).toMatchObject({
          streamId: 'a',
          name: 'default',
          version: 5,
          state: { balance: 50 },
        });
        expect(await store.loadSnapshot('b')).toBeUndefined();
      });

      it('aggregateStream replays only the events after the snapshot', async () => {
        const store = await freshStore();
        await store.append(
          'acc',
          Array.from({ length: 5 }, () => ({ type: 'deposited', data: { amount: 10 } })),
        );
        const first = await store.aggregateStream('acc', account({ every: 3 }));
        expect(first).toMatchObject({ version: 5, state: { balance: 50, folded: 5 } });
        expect(await store.loadSnapshot('acc', { name: 'account' })).toMatchObject({ version: 5 });

        await store.append('acc', [{ type: 'withdrawn', data: { amount: 15 } }]);
        const second = await store.aggregateStream('acc', account({ every: 3 }));
        // 5 folded before the snapshot + 1 replayed after it.
        expect(second).toMatchObject({ version: 6, state: { balance: 35, folded: 6 } });
        expect(await store.loadSnapshot('acc', { name: 'account' })).toMatchObject({ version: 5 });
      });

      it('a snapshot of another state schema version is ignored and rebuilt from events', async () => {
        const store = await freshStore();
        await store.append('acc', [{ type: 'deposited', data: { amount: 10 } }]);
        await store.saveSnapshot('acc', {
          name: 'account',
          version: 1,
          state: { balance: 999, folded: 0 },
          schemaVersion: 1,
        });
        const result = await store.aggregateStream('acc', account({ schemaVersion: 2, every: 1 }));
        expect(result.state).toEqual({ balance: 10, folded: 1 });
        expect(await store.loadSnapshot('acc', { name: 'account' })).toMatchObject({
          schemaVersion: 2,
          state: { balance: 10, folded: 1 },
        });
      });

      it('handle retries the decision when another writer appended in between', async () => {
        const store = await freshStore();
        await store.append('acc', [{ type: 'deposited', data: { amount: 100 } }]);
        let calls = 0;
        const result = await store.handle('acc', account(), async (state) => {
          calls += 1;
          if (calls === 1) {
            // Another writer slips in between our read and our append.
            await store.append('acc', [{ type: 'withdrawn', data: { amount: 60 } }]);
          }
          return [{ type: 'withdrawn', data: { amount: Math.min(state.balance, 30) } }];
        });
        expect(calls).toBe(2);
        expect(result.state.balance).toBe(10);
        expect(result.nextExpectedVersion).toBe(3);
      });
    });

    describe('event versioning (upcasters)', () => {
      it('reads old events at the latest schema version through a chain of upcasters, renaming the type', async () => {
        const schema = uniqueSchema();
        await migrate(db, { schema });
        const legacy = createEventStore({ db, schema });
        await legacy.append('acc', [{ type: 'deposit', data: { amount: 2 } }]);

        const store = createEventStore({
          db,
          schema,
          upcasters: [
            {
              type: 'deposit',
              fromVersion: 1,
              toType: 'deposited',
              upcast: (d) => ({ cents: (d as { amount: number }).amount * 100 }),
            },
            {
              type: 'deposited',
              fromVersion: 2,
              upcast: (d) => ({ ...(d as object), currency: 'EUR' }),
            },
          ],
        });
        const read = await store.readStream('acc');
        expect(read.events[0]).toMatchObject({
          type: 'deposited',
          schemaVersion: 3,
          data: { cents: 200, currency: 'EUR' },
        });
        await store.waitForVisibility(read.events[0]!.position);
        const viaAll = await store.readAll();
        expect(viaAll.events[0]!.data).toEqual({ cents: 200, currency: 'EUR' });

        // New events are written at the latest version and are not upcast again.
        await store.append('acc', [{ type: 'deposited', data: { cents: 5, currency: 'USD' } }]);
        const raw = await db.query(
          `SELECT schema_version FROM "${schema}".events ORDER BY sequence`,
        );
        expect(raw.rows.map((r) => (r as { schema_version: number }).schema_version)).toEqual([
          1, 3,
        ]);
        const latest = (await store.readStream('acc', { fromVersion: 2 })).events[0];
        expect(latest?.data).toEqual({ cents: 5, currency: 'USD' });
      });

      it('an upcaster that throws surfaces as UpcastError naming the event', async () => {
        const schema = uniqueSchema();
        await migrate(db, { schema });
        await createEventStore({ db, schema }).append('acc', [{ type: 'x', data: 1 }]);
        const store = createEventStore({
          db,
          schema,
          upcasters: [
            {
              type: 'x',
              fromVersion: 1,
              upcast: () => {
                throw new Error('boom');
              },
            },
          ],
        });
        await expect(store.readStream('acc')).rejects.toBeInstanceOf(UpcastError);
      });

      it('refuses two upcasters for the same type and version', () => {
        expect(() =>
          createEventStore({
            db,
            upcasters: [
              { type: 'x', fromVersion: 1, upcast: (d) => d },
              { type: 'x', fromVersion: 1, upcast: (d) => d },
            ],
          }),
        ).toThrow(EventStoreValidationError);
      });
    });

    if (target.concurrentTransactions) {
      it('readAll withholds an event committed by a later transaction until an earlier open transaction ends', async () => {
        const store = await freshStore();
        let releaseEarly!: () => void;
        const gate = new Promise<void>((r) => (releaseEarly = r));
        let appendedEarly!: () => void;
        const early = new Promise<void>((r) => (appendedEarly = r));
        const slow = store.transaction(async (tx) => {
          await store.append('slow', [{ type: 'n', data: 'first' }], { tx });
          appendedEarly();
          await gate;
        });
        await early;
        await store.append('fast', [{ type: 'n', data: 'second' }]);
        expect((await store.readAll()).events).toEqual([]);
        releaseEarly();
        await slow;
        await store.waitForVisibility(await lastPosition(store));
        expect((await store.readAll()).events.map((e) => e.data)).toEqual(['first', 'second']);
      });
    }
  });
}

/** The position of the store's last event by sequence, visible or not. */
async function lastPosition(store: { db: SqlDatabase; schema: string }): Promise<string> {
  const r = await store.db.query(
    `SELECT position_tx::text AS t, sequence::text AS s FROM "${store.schema}".events
      ORDER BY sequence DESC LIMIT 1`,
  );
  const row = r.rows[0] as { t: string; s: string };
  return `${row.t}:${row.s}`;
}

async function waitFor(predicate: () => boolean, timeoutMs = 25_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
