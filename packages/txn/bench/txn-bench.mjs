#!/usr/bin/env node
// What atomicity costs: a 2PC transaction over two databases beside the same writes as two
// independent local transactions (not atomic), and a 3-step saga beside the same three calls
// made directly. Creates throwaway databases on DATABASE_URL's server and drops them.
// Subject and baseline alternate in short rounds and each figure is the median of its rounds,
// so that a burst of load from elsewhere on the machine hits both sides alike.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/txn-bench.mjs [--seconds 1] [--rounds 5]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { defineSaga, SagaOrchestrator, TwoPhaseCoordinator } from '@linkforge/txn';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '1' }, rounds: { type: 'string', default: '5' } },
});
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0)
  throw new Error('--seconds must be a positive number');
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('DATABASE_URL is not set');

const tag = randomBytes(4).toString('hex');
const names = ['coord', 'a', 'b'].map((n) => `lf_txn_bench_${n}_${tag}`);
const urlOf = (name) => {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
};

async function admin(sql) {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

let n = 0;

/** Runs `op` from `concurrency` loops for `seconds`; returns operations per second. */
async function measure(concurrency, op) {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await op(n++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Alternates baseline and subject for `rounds` rounds; returns [median baseline, median subject]. */
async function alternate(baseline, subject) {
  const b = [];
  const s = [];
  for (let r = 0; r < rounds; r++) {
    b.push(await baseline());
    s.push(await subject());
  }
  return [median(b), median(s)];
}

for (const name of names) await admin(`CREATE DATABASE "${name}" TEMPLATE template0`);
const [coordUrl, aUrl, bUrl] = names.map(urlOf);
const poolA = new pg.Pool({ connectionString: aUrl, max: 16 });
const poolB = new pg.Pool({ connectionString: bUrl, max: 16 });
const poolLog = new pg.Pool({ connectionString: coordUrl, max: 16 });
for (const pool of [poolA, poolB, poolLog]) pool.on('error', () => undefined);
const rows = [];
try {
  for (const pool of [poolA, poolB]) await pool.query('CREATE TABLE items (id text PRIMARY KEY)');
  const coordinator = new TwoPhaseCoordinator({
    log: poolLog,
    participants: [
      { name: 'a', connection: poolA },
      { name: 'b', connection: poolB },
    ],
    recoveryIntervalMs: 0,
  });
  await coordinator.start();

  const local = async (pool, id) => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO items (id) VALUES ($1)', [id]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  };

  for (const concurrency of [1, 8]) {
    const [twoLocal, twoPc] = await alternate(
      () =>
        measure(concurrency, async (i) => {
          const id = `l${i}`;
          await local(poolA, id);
          await local(poolB, id);
        }),
      () =>
        measure(concurrency, (i) =>
          coordinator.run(async ({ a, b }) => {
            const id = `p${i}`;
            await a.query('INSERT INTO items (id) VALUES ($1)', [id]);
            await b.query('INSERT INTO items (id) VALUES ($1)', [id]);
          }),
        ),
    );
    rows.push({
      what: `2PC over 2 databases, ${concurrency} in flight`,
      subject: twoPc,
      baseline: twoLocal,
      baselineName: '2 local transactions',
    });
  }
  await coordinator.close();

  const call = (id) =>
    poolA.query('INSERT INTO items (id) VALUES ($1) ON CONFLICT DO NOTHING', [id]);
  const saga = defineSaga({
    name: 'bench',
    steps: ['one', 'two', 'three'].map((name) => ({
      name,
      run: ({ idempotencyKey }) => call(idempotencyKey),
      compensate: async () => undefined,
    })),
  });
  const sagas = new SagaOrchestrator({ connection: poolLog, sagas: [saga] });
  await sagas.start();
  for (const concurrency of [1, 8]) {
    const direct = await measure(concurrency, async (i) => {
      for (const s of ['one', 'two', 'three']) await call(`d${concurrency}-${i}:${s}`);
    });
    const orchestrated = await measure(concurrency, (i) =>
      sagas.execute(saga, {}, { sagaId: `s${concurrency}-${i}` }),
    );
    rows.push({
      what: `3-step saga, ${concurrency} in flight`,
      subject: orchestrated,
      baseline: direct,
      baselineName: '3 direct calls',
    });
  }
  await sagas.close();
} finally {
  await Promise.all([poolA.end(), poolB.end(), poolLog.end()]);
  for (const name of names) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

console.log(
  `median of ${rounds} alternating rounds of ${seconds} s, PostgreSQL at ${new URL(serverUrl).host}`,
);
for (const r of rows) {
  console.log(
    `${r.what.padEnd(36)} ${r.subject.toFixed(0).padStart(6)}/s   ${r.baselineName.padEnd(22)} ${r.baseline.toFixed(0).padStart(6)}/s   ratio ${(r.subject / r.baseline).toFixed(2)}`,
  );
}
