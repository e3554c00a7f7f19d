/**
 * What atomic payment costs on link creation: premium aliases (link insert + credit debit,
 * atomic) beside free aliases of the same length class (link insert alone), in one run, for
 * each claim strategy — one local transaction (PGlite, and PostgreSQL with the ledger in the
 * links database) and two-phase commit over two PostgreSQL databases.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npx tsx apps/server/bench/premium-claims.ts [--links 300] [--concurrency 8] [--runs 3]
 *
 * Without DATABASE_URL only the embedded strategy runs. Databases are throwaway ones.
 */
import { parseArgs } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@linkforge/testkit';
import { buildApp, type BuiltApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const { values } = parseArgs({
  options: {
    links: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
  },
});
const LINKS = Number(values.links);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);
const KEY = `bench-admin-${'k'.repeat(24)}`;

async function start(kind: 'embedded' | 'same-db' | 'two-db') {
  const env: Record<string, string> = {
    LOG_LEVEL: 'error',
    BOOTSTRAP_API_KEY: KEY,
    RATE_LIMIT_ENABLED: 'false',
    // Aliases of up to 6 characters are premium; 7-character ones are the free baseline.
    PREMIUM_ALIAS_MAX_LENGTH: '6',
  };
  const dbs: TestDatabase[] = [];
  if (kind === 'embedded') env['DATA_DIR'] = ':memory:';
  else {
    const links = await createTestDatabase(process.env['DATABASE_URL']!);
    dbs.push(links);
    env['DATABASE_URL'] = links.url;
    if (kind === 'two-db') {
      const billing = await createTestDatabase(process.env['DATABASE_URL']!);
      dbs.push(billing);
      env['BILLING_DATABASE_URL'] = billing.url;
    }
  }
  const built = await buildApp(loadConfig(env));
  return {
    built,
    async close() {
      await built.app.close();
      for (const db of dbs) await db.drop();
    },
  };
}

/** Creates `LINKS` links with the given aliases, `CONCURRENCY` at a time; links per second. */
async function create(built: BuiltApp, aliases: string[]): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < aliases.length) {
        const alias = aliases[next++]!;
        const res = await built.app.inject({
          method: 'POST',
          url: '/api/v1/links',
          headers: { authorization: `Bearer ${KEY}` },
          payload: { url: `https://example.com/${alias}`, alias },
        });
        if (res.statusCode !== 201) throw new Error(`${alias}: ${res.statusCode} ${res.body}`);
      }
    }),
  );
  return (aliases.length / (performance.now() - t0)) * 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const kinds = (['embedded', 'same-db', 'two-db'] as const).filter(
  (k) => k === 'embedded' || process.env['DATABASE_URL'] !== undefined,
);
console.log(`links per run: ${LINKS}, in flight: ${CONCURRENCY}, runs: ${RUNS}`);
console.log('strategy                 premium/s   free/s   ratio');
for (const kind of kinds) {
  const svc = await start(kind);
  try {
    await svc.built.billing.ledger.deposit(1, 1_000_000);
    const premium: number[] = [];
    const free: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternate subject and baseline so that machine load hits both alike.
      const tag = `${run}${Math.random().toString(36).slice(2, 4)}`;
      premium.push(
        await create(
          svc.built,
          Array.from({ length: LINKS }, (_, i) => `p${tag}${i.toString(36).padStart(2, '0')}`),
        ),
      );
      free.push(
        await create(
          svc.built,
          Array.from({ length: LINKS }, (_, i) => `f${tag}${i.toString(36).padStart(2, '0')}xx`),
        ),
      );
    }
    const strategy = svc.built.billing.gate?.strategy.kind ?? 'none';
    const p = median(premium);
    const f = median(free);
    console.log(
      `${`${kind} (${strategy})`.padEnd(24)} ${p.toFixed(0).padStart(9)} ${f.toFixed(0).padStart(8)}   ${(p / f).toFixed(2)}`,
    );
  } finally {
    await svc.close();
  }
}
