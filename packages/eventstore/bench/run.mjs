// @ts-check
// Event store benchmark against real PostgreSQL, beside a naive store that appends one event
// at a time with `SELECT max(version)` then `INSERT`, and reads all by its serial id.
//
//   npm run build -w @linkforge/eventstore
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node packages/eventstore/bench/run.mjs \
//     [--single 2000] [--batched 20000] [--batch-size 100] [--writers 4] [--runs 3]
//
// Works in a throwaway database it creates and drops. Prints the median of --runs runs.
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@linkforge/testkit';
import pg from 'pg';
import { createEventStore, migrate, pgPoolDatabase, START } from '@linkforge/eventstore';

const { values } = parseArgs({
  options: {
    single: { type: 'string', default: '2000' },
    batched: { type: 'string', default: '20000' },
    'batch-size': { type: 'string', default: '100' },
    writers: { type: 'string', default: '4' },
    runs: { type: 'string', default: '3' },
  },
});
const opts = {
  single: positive(values.single, '--single'),
  batched: positive(values.batched, '--batched'),
  batchSize: positive(values['batch-size'], '--batch-size'),
  writers: positive(values.writers, '--writers'),
  runs: positive(values.runs, '--runs'),
};

/** @param {string | undefined} v @param {string} name */
function positive(v, name) {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

const url = process.env['DATABASE_URL'];
if (!url) {
  console.error('DATABASE_URL is not set: the benchmark needs a PostgreSQL server');
  process.exit(2);
}

const payload = (/** @type {number} */ i) => ({ amount: i % 1000, note: 'benchmark event' });

/** One writer per stream, `writers` writers in parallel, `total` events in `perAppend` chunks. */
async function drive(
  /** @type {number} */ total,
  /** @type {number} */ perAppend,
  /** @type {(stream: string, from: number, count: number) => Promise<void>} */ append,
  /** @type {string} */ prefix,
) {
  const appends = Math.ceil(total / perAppend);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.writers }, async (_, w) => {
      const stream = `${prefix}-${w}`;
      let version = 0;
      for (;;) {
        const i = next++;
        if (i >= appends) return;
        const count = Math.min(perAppend, total - i * perAppend);
        await append(stream, version, count);
        version += count;
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** @param {pg.Pool} pool */
async function naiveStore(pool) {
  await pool.query(`CREATE TABLE IF NOT EXISTS naive_events (
    id bigserial PRIMARY KEY, stream_id text NOT NULL, version bigint NOT NULL,
    type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, version))`);
  /** @param {pg.Pool | pg.PoolClient} c @param {string} stream @param {number} i */
  async function appendOne(c, stream, i) {
    const r = await c.query(
      'SELECT coalesce(max(version), 0) AS v FROM naive_events WHERE stream_id = $1',
      [stream],
    );
    await c.query(
      'INSERT INTO naive_events (stream_id, version, type, data) VALUES ($1, $2, $3, $4)',
      [stream, Number(r.rows[0].v) + 1, 'deposited', JSON.stringify(payload(i))],
    );
  }
  return {
    /** @param {string} stream @param {number} _v @param {number} count */
    async append(stream, _v, count) {
      if (count === 1) return appendOne(pool, stream, 0);
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        for (let i = 0; i < count; i++) await appendOne(c, stream, i);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw err;
      } finally {
        c.release();
      }
    },
    async readAll() {
      let after = 0;
      let n = 0;
      const started = performance.now();
      for (;;) {
        const r = await pool.query(
          'SELECT id::text AS id, stream_id, version, type, data, metadata, created_at FROM naive_events WHERE id > $1 ORDER BY id LIMIT 1000',
          [after],
        );
        n += r.rows.length;
        if (r.rows.length < 1000) break;
        after = Number(r.rows[r.rows.length - 1].id);
      }
      return n / ((performance.now() - started) / 1000);
    },
  };
}

const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

async function oneRun(/** @type {number} */ run) {
  const database = await createTestDatabase(url ?? '', 'lf_eventstore_bench');
  const pool = new pg.Pool({ connectionString: database.url, max: opts.writers + 2 });
  pool.on('error', () => undefined);
  try {
    const db = pgPoolDatabase(pool);
    await migrate(db);
    const store = createEventStore({ db });
    const naive = await naiveStore(pool);
    /** @type {(n: number) => { type: string, data: unknown }[]} */
    const events = (n) =>
      Array.from({ length: n }, (_, i) => ({ type: 'deposited', data: payload(i) }));

    const ours = {
      single: () => drive(opts.single, 1, (s, v) => appendOurs(s, v, 1), `s${run}`),
      batched: () =>
        drive(opts.batched, opts.batchSize, (s, v, n) => appendOurs(s, v, n), `b${run}`),
    };
    /** @param {string} s @param {number} v @param {number} n */
    async function appendOurs(s, v, n) {
      await store.append(s, events(n), { expectedVersion: v });
    }
    // Warm both up (connections, caches, first pages) before anything is timed.
    await drive(200, 1, (s, v) => appendOurs(s, v, 1), `warm${run}`);
    await drive(200, 1, naive.append, `warm${run}`);
    // Alternate which store goes first, so load drifting on a shared machine favours neither.
    const oursFirst = run % 2 === 0;
    /** @type {(a: () => Promise<number>, b: () => Promise<number>) => Promise<[number, number]>} */
    const pair = async (a, b) => {
      if (oursFirst) return [await a(), await b()];
      const second = await b();
      return [await a(), second];
    };
    const [single, naiveSingle] = await pair(ours.single, () =>
      drive(opts.single, 1, naive.append, `s${run}`),
    );
    const [batched, naiveBatched] = await pair(ours.batched, () =>
      drive(opts.batched, opts.batchSize, naive.append, `b${run}`),
    );

    // A running server's autovacuum keeps statistics current; a table filled seconds ago has
    // none, and the planner would then sort instead of walking the primary key. Same for both.
    await pool.query('ANALYZE eventstore.events');
    await pool.query('ANALYZE naive_events');
    let position = START;
    let read = 0;
    const started = performance.now();
    for (;;) {
      const page = await store.readAll({ after: position, limit: 1000 });
      read += page.events.length;
      position = page.position;
      if (page.caughtUp) break;
    }
    const readAll = read / ((performance.now() - started) / 1000);
    const naiveReadAll = await naive.readAll();
    return { single, naiveSingle, batched, naiveBatched, readAll, naiveReadAll };
  } finally {
    await pool.end();
    await database.drop();
  }
}

const results = [];
for (let run = 0; run < opts.runs; run++) results.push(await oneRun(run));
const m = (/** @type {keyof typeof results[0]} */ k) => median(results.map((r) => r[k]));
const row = (/** @type {string} */ label, /** @type {number} */ ours, /** @type {number} */ base) =>
  `${label.padEnd(34)} ${ours.toFixed(0).padStart(10)} ${base.toFixed(0).padStart(10)} ${(ours / base).toFixed(2).padStart(7)}×`;

console.log(
  `eventstore vs naive (SELECT max(version) + INSERT per event), PostgreSQL, ${opts.writers} writers, median of ${opts.runs} runs`,
);
console.log(
  `${'events/s'.padEnd(34)} ${'eventstore'.padStart(10)} ${'naive'.padStart(10)} ${'ratio'.padStart(8)}`,
);
console.log(row(`append, 1 event per append (${opts.single})`, m('single'), m('naiveSingle')));
console.log(
  row(`append, ${opts.batchSize} per append (${opts.batched})`, m('batched'), m('naiveBatched')),
);
console.log(row(`read all, pages of 1000`, m('readAll'), m('naiveReadAll')));
