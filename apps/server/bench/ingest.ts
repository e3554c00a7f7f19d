/**
 * Click analytics benchmark, server mode (PostgreSQL + Redis/NATS), in one run per adapter:
 *   1. pipeline capacity: N click events published straight to the stream, consumed by
 *      `linkforge worker` processes into raw clicks + rollups; clicks/s, compared with plain
 *      batched INSERTs of the same rows (no enrichment, no rollups, no idempotency);
 *   2. end to end: redirects driven by autocannon for --duration s against `linkforge serve`,
 *      clicks flowing redirect → stream → workers → rollups; redirects/s, clicks/s stored and
 *      the redirect-to-rollup lag (p50/p99);
 * then the consistent export of all clicks (rows/s) vs a naive keyset (no horizon).
 *
 * Needs DATABASE_URL, REDIS_URL (and NATS_URL for nats). Usage:
 *   npx tsx apps/server/bench/ingest.ts [--adapters redis,nats] [--events 200000]
 *     [--duration 15] [--workers 2] [--connections 32] [--batch-size 5000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { createNatsStream, createRedisStream, type StreamAdapter } from '@linkforge/stream';
import { createTestDatabase } from '@linkforge/testkit';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import type { ClickMessage } from '../src/analytics/click-message.js';
import { clickExport } from '../src/exports/click-export.js';
import { clickLineSql } from '../src/exports/sources.js';
import type { Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrate.js';
import { openPostgres } from '../src/infra/db/postgres.js';
import { freePort } from '../test/process.js';
import { fetchClickExport } from './http-export.js';

interface NatsTransport {
  connect(o: { servers: string }): Promise<{ close(): Promise<void> }>;
}
interface NatsJetstream {
  jetstreamManager(nc: unknown): Promise<{ streams: { delete(name: string): Promise<boolean> } }>;
}

const { values } = parseArgs({
  options: {
    adapters: { type: 'string', default: 'redis,nats' },
    events: { type: 'string', default: '200000' },
    duration: { type: 'string', default: '15' },
    workers: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'batch-size': { type: 'string' },
  },
});
const databaseUrl = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
const natsUrl = process.env['NATS_URL'];
if (!databaseUrl || !redisUrl) {
  console.error(
    'bench/ingest measures server mode: set DATABASE_URL and REDIS_URL (and NATS_URL).',
  );
  process.exit(2);
}
const EVENTS = Number(values.events);
const WORKERS = Number(values.workers);
const LINKS = 1000;
const VISITORS = 50_000;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const ADMIN = `bench-${randomBytes(16).toString('hex')}`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface PhaseStats {
  batches: number;
  stored: number;
  enrichMs: number;
  prepareMs: number;
  statementMs: number;
  transactionMs: number;
}
const newStats = (): PhaseStats => ({
  batches: 0,
  stored: 0,
  enrichMs: 0,
  prepareMs: 0,
  statementMs: 0,
  transactionMs: 0,
});
/** Adds a worker's `worker stats` log line to the phase totals. */
function addStats(s: PhaseStats, line: string): void {
  if (!line.includes('"worker stats"')) return;
  const r = JSON.parse(line) as PhaseStats;
  for (const k of Object.keys(s) as (keyof PhaseStats)[]) s[k] += r[k];
}
function perBatch(s: PhaseStats): string {
  const b = Math.max(1, s.batches);
  const f = (v: number) => (v / b).toFixed(0);
  return `${s.batches} batches of ${fmt(s.stored / b)} clicks on average; per batch ms: enrich ${f(s.enrichMs)}, transaction ${f(s.transactionMs)} (parameters ${f(s.prepareMs)}, statement ${f(s.statementMs)})`;
}

function proc(
  args: string[],
  env: Record<string, string>,
  ready: string,
  onLine?: (line: string) => void,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Only the last few KiB are kept (for the error message): a long run logs a lot.
  let out = '';
  let isReady = false;
  let partial = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-8192);
      if (onLine !== undefined) {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
      if (!isReady && out.includes(ready)) {
        isReady = true;
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}): ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function count(db: Database): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clicks'))[0]!.n;
}

/**
 * Clicks stored so far, from the daily rollup (a few thousand rows): every stored click adds
 * one there in the transaction that inserts it. Polling `count(*)` of the raw clicks instead
 * would scan up to every row ten times a second, on the cores the pipeline is measured on.
 */
async function rolledUp(db: Database): Promise<number> {
  return (
    await db.query<{ n: number }>('SELECT coalesce(sum(clicks), 0)::int AS n FROM click_daily')
  )[0]!.n;
}

async function waitCount(db: Database, n: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let c = 0;
  while ((c = await rolledUp(db)) < n && Date.now() < end)
    await new Promise((r) => setTimeout(r, 100));
  return c;
}

async function lag(db: Database, sinceSeq = 0) {
  const [r] = await db.query<{ p50: number; p99: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - clicked_at))::float8 AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - clicked_at))::float8 AS p99
       FROM clicks WHERE seq > $1`,
    [sinceSeq],
  );
  return r!;
}

async function bench(adapter: 'redis' | 'nats') {
  const database = await createTestDatabase(databaseUrl!, 'lf_bench');
  const db = await openPostgres(database.url, 4);
  const prefix = `lfbench:${randomBytes(4).toString('hex')}:`;
  const streamName = `clicks_${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl!,
    REDIS_PREFIX: prefix,
    STREAM_ADAPTER: adapter,
    CLICK_STREAM: streamName,
    ...(values['batch-size'] !== undefined ? { WORKER_BATCH_SIZE: values['batch-size'] } : {}),
    ...(natsUrl ? { NATS_URL: natsUrl } : {}),
  };
  const stream: StreamAdapter<ClickMessage> =
    adapter === 'redis'
      ? createRedisStream({ url: redisUrl!, keyPrefix: `${prefix}stream:`, stream: streamName })
      : createNatsStream({
          servers: natsUrl!,
          stream: streamName,
          subjectPrefix: 'linkforge.stream',
        });
  const workers: ChildProcess[] = [];
  const servers: ChildProcess[] = [];
  try {
    await migrate(db);
    await db.query(
      `INSERT INTO links (id, workspace_id, code, is_alias, url)
       SELECT nextval('link_ids'), 1, 'b' || g, true, 'https://example.com/' || g
         FROM generate_series(1, $1) g`,
      [LINKS],
    );
    const links = await db.query<{ id: number; code: string }>('SELECT id, code FROM links');

    // Visitors: drawn from a pool of VISITORS addresses, so most clicks of a link come from a
    // visitor new to that link (a visitor-set insert each) while the workspace sees repeats.
    const visitorIp = () => {
      const v = Math.floor(Math.random() * VISITORS);
      return `81.${2 + (v >> 16)}.${(v >> 8) & 255}.${v & 255}`;
    };
    const clickBatch = (n: number, offset: number) => {
      const now = Date.now();
      return Array.from({ length: n }, (_, j) => {
        const link = links[(offset + j) % LINKS]!;
        return {
          id: randomUUID(),
          key: String(link.id),
          payload: {
            v: 1 as const,
            linkId: link.id,
            code: link.code,
            at: now,
            ip: visitorIp(),
            ua: UA,
            ref: j % 2 === 0 ? 'https://www.google.com/' : null,
          },
        };
      });
    };

    // 1. Pipeline capacity: publish EVENTS first (the producer's rate), then start the workers
    //    and time how fast they drain the stream into raw clicks + rollups.
    const producer = await stream.createProducer();
    const p0 = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < EVENTS; i += 1000) {
      const p = producer.publishBatch(clickBatch(Math.min(1000, EVENTS - i), i));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const publishRate = (EVENTS / (performance.now() - p0)) * 1000;
    const pipelineStats = newStats();
    const pipelineWorkers: ChildProcess[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const w = await proc(['worker', '--name', `pipe${i}`], env, 'worker ready', (line) =>
        addStats(pipelineStats, line),
      );
      pipelineWorkers.push(w);
      workers.push(w);
    }
    const before0 = await count(db);
    const t0 = performance.now();
    const stored = await waitCount(db, EVENTS, 600_000);
    const t1 = performance.now();
    const capacity = ((stored - before0) / (t1 - t0)) * 1000;
    const rawStored = await count(db);
    if (rawStored !== stored)
      throw new Error(`${rawStored} raw clicks but ${stored} in the daily rollup`);
    // Stopped here so that their last stats line covers exactly this phase.
    for (const w of pipelineWorkers) await stop(w);
    const e2eStats = newStats();
    for (let i = 0; i < WORKERS; i++)
      workers.push(
        await proc(['worker', '--name', `e2e${i}`], env, 'worker ready', (line) =>
          addStats(e2eStats, line),
        ),
      );

    // Baseline: the same number of rows by plain batched INSERT into a bare table.
    await db.exec(`CREATE TABLE plain_clicks (LIKE clicks INCLUDING DEFAULTS)`);
    const b0 = performance.now();
    for (let i = 0; i < EVENTS; i += 1000) {
      await db.query(
        `INSERT INTO plain_clicks (clicked_at, event_id, link_id, workspace_id, code, visitor,
                                   referrer_host, country, device, browser, os, is_bot)
         SELECT now(), md5(g::text), 1, 1, 'x', g, 'google.com', 'GB', 'desktop', 'Firefox', 'Linux', false
           FROM generate_series($1::int, $2::int) g`,
        [i, Math.min(EVENTS, i + 1000) - 1],
      );
    }
    const baseline = (EVENTS / (performance.now() - b0)) * 1000;

    // 2. End to end through real redirects.
    const port = await freePort();
    const address = `http://127.0.0.1:${port}`;
    const server = await proc(
      ['serve'],
      {
        ...env,
        PORT: String(port),
        PUBLIC_BASE_URL: address,
        ANALYTICS_WORKER: 'false',
        BOOTSTRAP_API_KEY: ADMIN,
        RATE_LIMIT_ENABLED: 'false',
        LOG_LEVEL: 'info',
      },
      'Linkforge listening',
    );
    servers.push(server);
    const before = await count(db);
    const [{ seq }] = (await db.query<{ seq: number }>(
      'SELECT coalesce(max(seq), 0)::float8 AS seq FROM clicks',
    )) as [{ seq: number }];
    let k = 0;
    const r = await autocannon({
      url: address,
      connections: Number(values.connections),
      duration: Number(values.duration),
      headers: { 'user-agent': UA },
      requests: [{ setupRequest: (req) => ({ ...req, path: `/b${(k++ % LINKS) + 1}` }) }],
    });
    const redirects = r.requests.total;
    const e2eDone = await waitCount(db, before + r['3xx'], 120_000);
    const e2eLag = await lag(db, seq);
    for (const w of workers) await stop(w);
    const e2eClicks = e2eDone - before;

    // 3. Export of every click: in process (the endpoint's consistent export: pages of lines
    //    rendered by the database), through the HTTP endpoint (NDJSON and CSV), and a naive
    //    keyset on (txid, seq) without the horizon, with the same rendering.
    const total = await count(db);
    const x0 = performance.now();
    let bytes = 0;
    const exp = clickExport(db, { workspaceId: 1 }, { format: 'ndjson' });
    for await (const chunk of exp.body) bytes += (chunk as Buffer).length;
    const rows = exp.summary()!.rows;
    const exportRate = (rows / (performance.now() - x0)) * 1000;
    const exportMb = bytes / 1e6;
    const http: Record<'ndjson' | 'csv', { rate: number; mb: number }> = {
      ndjson: { rate: 0, mb: 0 },
      csv: { rate: 0, mb: 0 },
    };
    for (const format of ['ndjson', 'csv'] as const) {
      const h0 = performance.now();
      const { bytes: n, lines } = await fetchClickExport(address, ADMIN, format);
      // NDJSON: one line per row plus the summary; CSV: the header plus one per row.
      if (lines - 1 !== rows)
        throw new Error(`${format} export gave ${lines - 1} rows, not ${rows}`);
      http[format] = { rate: (rows / (performance.now() - h0)) * 1000, mb: n / 1e6 };
    }
    await stop(server);
    const n0 = performance.now();
    let naive = 0;
    let naiveBytes = 0;
    let after = { txid: '0', seq: 0 };
    const line = clickLineSql('ndjson', `'existing'`);
    for (;;) {
      // With the plan settings of the real export's pages (the index order, whatever the
      // statistics of a table just written say).
      const page = await db.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_sort = off; SET LOCAL jit = off');
        return tx.query<{ txid: string; seq: number; l: string }>(
          `SELECT txid::text AS txid, seq, ${line} AS l FROM clicks
            WHERE (txid, seq) > ($1::xid8, $2::bigint) ORDER BY clicks.txid, clicks.seq LIMIT 10000`,
          [after.txid, after.seq],
        );
      });
      let chunk = '';
      for (const p of page) chunk += p.l;
      naive += page.length;
      naiveBytes += chunk.length;
      if (page.length < 10_000) break;
      const last = page[page.length - 1]!;
      after = { txid: last.txid, seq: last.seq };
    }
    const naiveRate = (naive / (performance.now() - n0)) * 1000;
    if (naiveBytes === 0) throw new Error('the naive export read nothing');

    return {
      adapter,
      publishRate,
      capacity,
      baseline,
      redirectsPerSec: r.requests.average,
      redirects,
      e2eClicks,
      e2eRate: e2eClicks / Number(values.duration),
      e2eLag,
      exportRate,
      naiveRate,
      exportMb,
      http,
      total,
      pipelineStats,
      e2eStats,
    };
  } finally {
    for (const w of [...servers, ...workers]) await stop(w);
    await stream.close();
    {
      // Everything the run left under its own Redis prefix (the stream, link cache entries).
      const redis = new Redis(redisUrl!);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    }
    if (adapter === 'nats' && natsUrl) {
      // The NATS client is a dependency of @linkforge/stream: load it from there.
      const req = createRequire(fileURLToPath(import.meta.resolve('@linkforge/stream')));
      const { connect } = (await import(req.resolve('@nats-io/transport-node'))) as NatsTransport;
      const { jetstreamManager } = (await import(
        req.resolve('@nats-io/jetstream')
      )) as NatsJetstream;
      const nc = await connect({ servers: natsUrl });
      await (await jetstreamManager(nc)).streams.delete(streamName).catch(() => false);
      await nc.close();
    }
    await db.close();
    await database.drop();
  }
}

const adapters = values.adapters
  .split(',')
  .filter((a): a is 'redis' | 'nats' => a === 'redis' || a === 'nats');
console.log(
  `clicks: ${fmt(EVENTS)} events, ${WORKERS} worker processes, ${LINKS} links; redirects: ${values.connections} connections × ${values.duration} s`,
);
for (const adapter of adapters) {
  if (adapter === 'nats' && !natsUrl) {
    console.log('nats: NATS_URL not set, skipped');
    continue;
  }
  const r = await bench(adapter);
  console.log(`\n[${r.adapter}]`);
  console.log(
    `  pipeline: ${fmt(r.capacity)} clicks/s stream → rollup (publish ${fmt(r.publishRate)}/s) vs plain INSERT ${fmt(r.baseline)} rows/s: ratio ${(r.capacity / r.baseline).toFixed(2)}`,
  );
  console.log(`    ${perBatch(r.pipelineStats)}`);
  console.log(
    `  end to end: ${fmt(r.redirectsPerSec)} redirects/s, ${fmt(r.e2eRate)} clicks/s stored (${fmt(r.e2eClicks)} of ${fmt(r.redirects)}), lag p50 ${r.e2eLag.p50.toFixed(2)} s p99 ${r.e2eLag.p99.toFixed(2)} s`,
  );
  console.log(`    ${perBatch(r.e2eStats)}`);
  console.log(
    `  export: ${fmt(r.exportRate)} rows/s consistent in process (xid horizon, ${fmt(r.total)} rows, NDJSON ${r.exportMb.toFixed(1)} MB) vs naive keyset ${fmt(r.naiveRate)} rows/s: ratio ${(r.exportRate / r.naiveRate).toFixed(2)}`,
  );
  console.log(
    `    over HTTP: NDJSON ${fmt(r.http.ndjson.rate)} rows/s (${r.http.ndjson.mb.toFixed(1)} MB), CSV ${fmt(r.http.csv.rate)} rows/s (${r.http.csv.mb.toFixed(1)} MB)`,
  );
}
