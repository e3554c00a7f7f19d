/**
 * Click export benchmark, server mode (PostgreSQL). In a fresh database of --rows clicks
 * (inserted in transactions of 5,000, as workers write them), for --runs rounds, in an order
 * that rotates each round:
 *   - in process: the consistent click export as the endpoint runs it (NDJSON and CSV),
 *     against a naive keyset by `seq` alone with the same rendering (no horizon, no tail),
 *     the row-at-a-time API over the same lines (`consistentExport` + `exportLines`), and the
 *     endpoint's path reading one page at a time (`parallel: 1`) instead of two at once;
 *   - over HTTP: `GET /api/v1/exports/clicks` (NDJSON and CSV) from a `linkforge serve`
 *     process, the row count checked.
 * Rows/s are medians over the runs. Memory: the peak RSS of this process above its level
 * before each in-process export (sampled every 5 ms), and the server's peak RSS (VmHWM, reset
 * before each request) above its level before the request.
 *
 * Needs DATABASE_URL; build first (it spawns dist/cli.js). Usage:
 *   npx tsx apps/server/bench/export.ts [--rows 200000] [--runs 3] [--server-heap MiB] [--fresh]
 * `--fresh` skips the VACUUM ANALYZE after the load: the export reads a table just written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@linkforge/testkit';
import { ensurePartitions } from '../src/analytics/click-store.js';
import { clickExport } from '../src/exports/click-export.js';
import { consistentExport } from '../src/exports/consistent-export.js';
import { exportLines } from '../src/exports/export-stream.js';
import { clickLineSource, clickLineSql } from '../src/exports/sources.js';
import type { Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrate.js';
import { openPostgres } from '../src/infra/db/postgres.js';
import { freePort } from '../test/process.js';
import { fetchClickExport } from './http-export.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    // Old-space limit of the server process (MiB), to show that an export fits in it.
    'server-heap': { type: 'string' },
    // Export the table as just written: no VACUUM ANALYZE after the load (stale statistics).
    fresh: { type: 'boolean', default: false },
  },
});
const databaseUrl = process.env['DATABASE_URL'];
if (!databaseUrl) {
  console.error('bench/export measures server mode: set DATABASE_URL.');
  process.exit(2);
}
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const LINKS = 1000;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const ADMIN = `bench-${randomBytes(16).toString('hex')}`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () => loadavg()[0]!.toFixed(2);

interface Measure {
  rows: number;
  ms: number;
  bytes: number;
  /** Peak RSS above the level before, bytes. */
  rss: number;
}

/** Peak RSS of this process during `fn`, above the level before it. */
async function inProcess(fn: () => Promise<{ rows: number; bytes: number }>): Promise<Measure> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const t0 = performance.now();
  try {
    const r = await fn();
    const ms = performance.now() - t0;
    peak = Math.max(peak, process.memoryUsage.rss());
    return { ...r, ms, rss: peak - base };
  } finally {
    clearInterval(timer);
  }
}

async function naive(db: Database): Promise<{ rows: number; bytes: number }> {
  let rows = 0;
  let bytes = 0;
  let after = 0;
  const line = clickLineSql('ndjson', `'existing'`);
  for (;;) {
    const page = await db.query<{ seq: number; l: string }>(
      `SELECT seq, ${line} AS l FROM clicks WHERE seq > $1 ORDER BY seq LIMIT 10000`,
      [after],
    );
    let chunk = '';
    for (const p of page) chunk += p.l;
    rows += page.length;
    bytes += Buffer.byteLength(chunk);
    if (page.length < 10_000) break;
    after = page[page.length - 1]!.seq;
  }
  return { rows, bytes };
}

async function consistent(
  db: Database,
  format: 'ndjson' | 'csv',
  parallel?: number,
): Promise<{ rows: number; bytes: number }> {
  const exp = clickExport(db, { workspaceId: 1 }, { format, ...(parallel ? { parallel } : {}) });
  let bytes = 0;
  for await (const chunk of exp.body) bytes += (chunk as Buffer).length;
  return { rows: exp.summary()!.rows, bytes };
}

/** The row-at-a-time API over the same lines (consistentExport + exportLines). */
async function rowByRow(db: Database): Promise<{ rows: number; bytes: number }> {
  const exp = consistentExport(db, clickLineSource({ workspaceId: 1 }, 'ndjson'), {
    pageSize: 10_000,
  });
  let bytes = 0;
  for await (const chunk of exportLines(exp.rows, exp.summary, { format: 'ndjson' }))
    bytes += (chunk as Buffer).length;
  return { rows: exp.summary()!.rows, bytes };
}

function rssOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

async function overHttp(
  server: ChildProcess,
  address: string,
  format: 'ndjson' | 'csv',
  expected: number,
): Promise<Measure> {
  const pid = server.pid!;
  // Resets the peak RSS (VmHWM) of the server to its current RSS.
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const base = rssOf(pid, 'VmRSS');
  const t0 = performance.now();
  const { bytes, lines } = await fetchClickExport(address, ADMIN, format);
  const ms = performance.now() - t0;
  // NDJSON: one line per row plus the summary; CSV: the header plus one per row (the bench's
  // values hold no line breaks).
  if (lines - 1 !== expected) throw new Error(`${format} export gave ${lines - 1} rows`);
  return { rows: expected, ms, bytes, rss: rssOf(pid, 'VmHWM') - base };
}

function serve(env: Record<string, string>): Promise<ChildProcess> {
  const heap = values['server-heap'];
  const flags = heap === undefined ? [] : [`--max-old-space-size=${Number(heap)}`];
  const child = spawn(process.execPath, [...flags, CLI, 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-8192);
      if (out.includes('Linkforge listening')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

const database = await createTestDatabase(databaseUrl, 'lf_bench');
const db = await openPostgres(database.url, 4);
let server: ChildProcess | undefined;
try {
  await migrate(db);
  await ensurePartitions(db, [Date.now()]);
  await db.query(
    `INSERT INTO links (id, workspace_id, code, is_alias, url)
     SELECT nextval('link_ids'), 1, 'b' || g, true, 'https://example.com/' || g
       FROM generate_series(1, $1) g`,
    [LINKS],
  );
  // Clicks like the ingest bench's: half from a search engine, one browser, a few countries.
  for (let i = 0; i < ROWS; i += 5000) {
    await db.query(
      `INSERT INTO clicks (clicked_at, event_id, link_id, workspace_id, code, visitor, referrer,
                           referrer_host, country, device, browser, os, is_bot)
       SELECT now() - (g % 3600) * interval '1 second', gen_random_uuid()::text, 1 + g % $3, 1,
              'b' || (1 + g % $3), g,
              CASE WHEN g % 2 = 0 THEN 'https://www.google.com/' END,
              CASE WHEN g % 2 = 0 THEN 'www.google.com' ELSE '' END,
              (ARRAY['GB', 'US', 'DE', 'FR', 'NL'])[1 + g % 5], 'desktop', 'Firefox', 'Linux', false
         FROM generate_series($1::int, $2::int) g`,
      [i, Math.min(ROWS, i + 5000) - 1, LINKS],
    );
  }
  if (!values.fresh) await db.exec('VACUUM ANALYZE clicks');
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  server = await serve({
    DATABASE_URL: database.url,
    PORT: String(port),
    PUBLIC_BASE_URL: address,
    BOOTSTRAP_API_KEY: ADMIN,
    RATE_LIMIT_ENABLED: 'false',
  });

  const kinds = [
    'naive',
    'ndjson',
    'csv',
    'http ndjson',
    'http csv',
    'ndjson rows',
    'ndjson 1 page',
  ] as const;
  const results = new Map<(typeof kinds)[number], Measure[]>(kinds.map((k) => [k, []]));
  const run = async (k: (typeof kinds)[number]): Promise<Measure> => {
    switch (k) {
      case 'naive':
        return inProcess(() => naive(db));
      case 'ndjson':
      case 'csv':
        return inProcess(() => consistent(db, k));
      case 'http ndjson':
        return overHttp(server!, address, 'ndjson', ROWS);
      case 'http csv':
        return overHttp(server!, address, 'csv', ROWS);
      case 'ndjson rows':
        return inProcess(() => rowByRow(db));
      case 'ndjson 1 page':
        return inProcess(() => consistent(db, 'ndjson', 1));
    }
  };
  // A first pass sets hint bits and warms the caches; not counted.
  await naive(db);
  await consistent(db, 'ndjson');
  console.log(
    `export bench: ${fmt(ROWS)} clicks, ${RUNS} runs${values['server-heap'] === undefined ? '' : `, server old space ${values['server-heap']} MiB`}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (let r = 0; r < RUNS; r++) {
    const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]!);
    const line: string[] = [];
    for (const k of order) {
      const m = await run(k);
      if (m.rows !== ROWS) throw new Error(`${k} exported ${m.rows} rows, not ${ROWS}`);
      results.get(k)!.push(m);
      line.push(`${k} ${fmt((m.rows / m.ms) * 1000)}`);
    }
    console.log(`  run ${r + 1} (load ${load()}): ${line.join(', ')} rows/s`);
  }
  const naiveRate = median(results.get('naive')!.map((m) => (m.rows / m.ms) * 1000));
  for (const k of kinds) {
    const ms = results.get(k)!;
    const rate = median(ms.map((m) => (m.rows / m.ms) * 1000));
    console.log(
      `${k.padEnd(14)} ${fmt(rate).padStart(9)} rows/s (median; ratio to naive ${(rate / naiveRate).toFixed(2)}), ${(ms[0]!.bytes / 1e6).toFixed(1)} MB, peak RSS +${mib(Math.max(...ms.map((m) => m.rss)))} MiB`,
    );
  }
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  if (server !== undefined) await stop(server);
  await db.close();
  await database.drop();
}
