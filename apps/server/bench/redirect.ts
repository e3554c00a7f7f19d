/**
 * Redirect, creation and memory benchmark, in one run:
 *   (a) a bare node:http server answering 302 from a Map — the ceiling of this machine;
 *   (b) Linkforge's cached redirect in server mode (PostgreSQL + Redis), clicks counted;
 * then link creation/s (single requests and bulk) and the server's RSS with many links stored.
 *
 * Needs DATABASE_URL and REDIS_URL. Usage:
 *   npm run bench:redirect [-- --duration 10 --runs 3 --links 1000000 --parts redirect,create,memory]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createTestDatabase } from '@linkforge/testkit';
import { freePort } from '../test/process.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    links: { type: 'string', default: '1000000' },
    parts: { type: 'string', default: 'redirect,create,memory' },
  },
});
const parts = new Set(values.parts.split(','));
for (const p of parts) {
  if (!['redirect', 'create', 'memory'].includes(p)) {
    console.error(`--parts takes a list of redirect, create, memory; got "${p}".`);
    process.exit(2);
  }
}
const duration = Number(values.duration);
const runs = Number(values.runs);
const connections = Number(values.connections);
const totalLinks = Number(values.links);
const databaseUrl = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
if (!databaseUrl || !redisUrl) {
  console.error('bench:redirect measures server mode: set DATABASE_URL and REDIS_URL.');
  process.exit(2);
}

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const ADMIN = `bench-${randomBytes(16).toString('hex')}`;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Load {
  rps: number;
  p99: number;
  errors: number;
  non3xx: number;
}

async function load(base: string, paths: string[], seconds: number): Promise<Load> {
  let i = 0;
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    headers: { 'user-agent': UA },
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length]! }) }],
  });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non3xx: result['1xx'] + result['2xx'] + result['4xx'] + result['5xx'],
  };
}

async function bareServer(map: Map<string, string>): Promise<{ base: string; close: () => void }> {
  const server = createServer((req, res) => {
    const target = map.get((req.url ?? '/').slice(1));
    if (target === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.writeHead(302, { location: target });
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { base: `http://127.0.0.1:${port}`, close: () => server.close() };
}

async function startLinkforge(
  env: Record<string, string>,
): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: String(port),
      PUBLIC_BASE_URL: base,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return { base, child };
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('Linkforge did not start');
}

const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

async function bulk(base: string, urls: string[]): Promise<string[]> {
  const res = await fetch(`${base}/api/v1/links/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ links: urls.map((url) => ({ url })) }),
  });
  const body = (await res.json()) as { results: { link?: { code: string } }[] };
  return body.results.map((r) => r.link!.code);
}

async function main() {
  const db = await createTestDatabase(databaseUrl!, 'lf_bench');
  const prefix = `lfbench:${randomBytes(4).toString('hex')}:`;
  const started = await startLinkforge({
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl!,
    REDIS_PREFIX: prefix,
    BOOTSTRAP_API_KEY: ADMIN,
    RATE_LIMIT_KEY_MAX: '1000000000',
    DATABASE_POOL_MAX: process.env['DATABASE_POOL_MAX'] ?? '10',
  }).catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  const { base, child } = started;
  try {
    console.log(
      `Linkforge redirect benchmark — ${new Date().toISOString()}, ${connections} connections, ${duration} s × ${runs} runs`,
    );
    // 1,000 hot links, as a real link set has a head of popular codes.
    const codes = await bulk(
      base,
      Array.from({ length: 1000 }, (_, i) => `https://example.com/landing/${i}?utm_source=bench`),
    );
    const map = new Map(
      codes.map((c, i) => [c, `https://example.com/landing/${i}?utm_source=bench`]),
    );
    const paths = codes.map((c) => `/${c}`);
    if (parts.has('redirect')) {
      const bare = await bareServer(map);
      await load(base, paths, 3); // warm caches and JIT
      await load(bare.base, paths, 3);

      const bareRuns: Load[] = [];
      const lfRuns: Load[] = [];
      for (let r = 0; r < runs; r++) {
        bareRuns.push(await load(bare.base, paths, duration));
        lfRuns.push(await load(base, paths, duration));
      }
      bare.close();
      const bareRps = median(bareRuns.map((x) => x.rps));
      const lfRps = median(lfRuns.map((x) => x.rps));
      console.log('\nRedirects (median of runs)');
      console.log(
        `  bare node:http 302 from a Map   ${bareRps.toFixed(0).padStart(8)} req/s   p99 ${median(bareRuns.map((x) => x.p99))} ms`,
      );
      console.log(
        `  Linkforge cached redirect        ${lfRps.toFixed(0).padStart(8)} req/s   p99 ${median(lfRuns.map((x) => x.p99))} ms`,
      );
      console.log(
        `  ratio Linkforge / bare           ${(lfRps / bareRps).toFixed(2)}   (target ≥ 0.60)`,
      );
      console.log(
        `  per-run req/s: bare ${bareRuns.map((x) => x.rps.toFixed(0)).join(', ')}; Linkforge ${lfRuns.map((x) => x.rps.toFixed(0)).join(', ')}`,
      );
      const bad = lfRuns.reduce((n, x) => n + x.errors + x.non3xx, 0);
      if (bad > 0) console.log(`  WARNING: ${bad} errors or non-redirect answers from Linkforge`);

      // Clicks were counted: give the buffer a moment, then read the total back.
      await new Promise((r) => setTimeout(r, 1500));
    }

    let made = 0;
    let singles = 0;
    if (parts.has('create')) {
      // Creation, single requests: `runs` runs, median.
      let n = 0;
      const singleRuns: { rps: number; p99: number; non2xx: number }[] = [];
      for (let r = 0; r < runs; r++) {
        const single = await autocannon({
          url: `${base}/api/v1/links`,
          connections: 32,
          duration,
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          requests: [
            {
              setupRequest: (req) => ({
                ...req,
                body: JSON.stringify({ url: `https://example.com/single/${n++}` }),
              }),
            },
          ],
        });
        singles += single.requests.total;
        singleRuns.push({
          rps: single.requests.average,
          p99: single.latency.p99,
          non2xx: single.non2xx,
        });
      }
      console.log('\nLink creation');
      console.log(
        `  single POST /api/v1/links        ${median(singleRuns.map((x) => x.rps))
          .toFixed(0)
          .padStart(
            8,
          )} links/s   p99 ${median(singleRuns.map((x) => x.p99))} ms   (target ≥ 2,000/s; non-2xx ${singleRuns.reduce((a, x) => a + x.non2xx, 0)})`,
      );
      console.log(`  per-run links/s: ${singleRuns.map((x) => x.rps.toFixed(0)).join(', ')}`);

      // Bulk: fill up to `totalLinks` links, 1,000 per request, 4 requests in flight.
      const before = Date.now();
      const batches = Math.floor(totalLinks / 1000);
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < batches) {
            const b = next++;
            const codesMade = await bulk(
              base,
              Array.from({ length: 1000 }, (_, i) => `https://example.com/bulk/${b}/${i}`),
            );
            made += codesMade.length;
            if (b % 100 === 0) process.stderr.write(`\r  bulk: ${made.toLocaleString()} links`);
          }
        }),
      );
      const bulkSeconds = (Date.now() - before) / 1000;
      process.stderr.write('\n');
      console.log(
        `  bulk POST /api/v1/links/bulk     ${(made / bulkSeconds).toFixed(0).padStart(8)} links/s   (${made.toLocaleString()} links in ${bulkSeconds.toFixed(1)} s; target ≥ 20,000/s)`,
      );
    }

    if (parts.has('memory')) {
      // Memory with everything stored, after redirect load over a wide spread of codes.
      await load(base, paths, 3);
      console.log(
        `\nServer RSS with ${(made + 1000 + singles).toLocaleString()} links stored: ${rssMiB(child.pid!).toFixed(0)} MiB`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
