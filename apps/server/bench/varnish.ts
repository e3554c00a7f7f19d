/**
 * Redirects/s through Varnish in edge caching mode vs the origin alone, in one run.
 * Needs varnishd (Debian: varnish, varnish-modules). Uses server mode when DATABASE_URL and
 * REDIS_URL are set, the embedded default otherwise.
 *
 * Usage: npm run bench:varnish [-- --duration 10 --runs 3 --connections 64]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createTestDatabase, type TestDatabase } from '@linkforge/testkit';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
  },
});
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const ADMIN = `bench-${randomBytes(16).toString('hex')}`;
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function load(base: string, paths: string[]) {
  let i = 0;
  const r = await autocannon({
    url: base,
    connections: Number(values.connections),
    duration: Number(values.duration),
    headers: { 'user-agent': UA },
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length]! }) }],
  });
  return { rps: r.requests.average, p99: r.latency.p99, bad: r.errors + r.non2xx - r['3xx'] };
}

async function main() {
  const edgePort = 20000 + Math.floor(Math.random() * 20000);
  const edge = `http://127.0.0.1:${edgePort}`;
  let db: TestDatabase | undefined;
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: edge,
    REDIRECT_CACHE: 'edge',
    PURGE_PROVIDER: 'varnish',
    VARNISH_PURGE_URLS: edge,
    BOOTSTRAP_API_KEY: ADMIN,
    RATE_LIMIT_KEY_MAX: '1000000000',
  };
  if (process.env['DATABASE_URL'] && process.env['REDIS_URL']) {
    db = await createTestDatabase(process.env['DATABASE_URL'], 'lf_bench');
    Object.assign(env, {
      DATABASE_URL: db.url,
      REDIS_URL: process.env['REDIS_URL'],
      REDIS_PREFIX: `lfbv:${randomBytes(4).toString('hex')}:`,
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'lf-bench-varnish-'));
  await chmod(dir, 0o755);
  if (!db) env['DATA_DIR'] = join(dir, 'data');
  // The origin runs in its own process, as in production: the load generator must not share its event loop.
  const originPort = edgePort + 1;
  const origin = `http://127.0.0.1:${originPort}`;
  const server = spawn(process.execPath, [CLI, 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', PORT: String(originPort), ...env },
    stdio: 'inherit',
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const vclPath = fileURLToPath(new URL('../../../deploy/varnish/linkforge.vcl', import.meta.url));
  await writeFile(
    join(dir, 'l.vcl'),
    (await readFile(vclPath, 'utf8')).replace(
      '.port = "3000"',
      `.port = "${new URL(origin).port}"`,
    ),
  );
  await chmod(join(dir, 'l.vcl'), 0o644);
  const varnish = spawn(
    'varnishd',
    [
      '-F',
      '-a',
      `127.0.0.1:${edgePort}`,
      '-f',
      join(dir, 'l.vcl'),
      '-n',
      join(dir, 'n'),
      '-s',
      'malloc,256m',
    ],
    { stdio: 'ignore' },
  );
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${edge}/healthz`)).ok) break;
      } catch {
        // starting
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${origin}/api/v1/links/bulk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        links: Array.from({ length: 1000 }, (_, i) => ({ url: `https://example.com/p/${i}` })),
      }),
    });
    const paths = ((await res.json()) as { results: { link: { code: string } }[] }).results.map(
      (r) => `/${r.link.code}`,
    );
    await load(edge, paths); // warm the edge cache
    const o: Awaited<ReturnType<typeof load>>[] = [];
    const v: Awaited<ReturnType<typeof load>>[] = [];
    for (let r = 0; r < Number(values.runs); r++) {
      o.push(await load(origin, paths));
      v.push(await load(edge, paths));
    }
    console.log(
      `Redirects through Varnish (edge mode) vs origin alone — ${new Date().toISOString()}, ${db ? 'server' : 'embedded'} mode, ${values.connections} connections, ${values.duration} s × ${values.runs}`,
    );
    console.log(
      `  origin alone     ${median(o.map((x) => x.rps))
        .toFixed(0)
        .padStart(8)} req/s   p99 ${median(o.map((x) => x.p99))} ms`,
    );
    console.log(
      `  through Varnish  ${median(v.map((x) => x.rps))
        .toFixed(0)
        .padStart(8)} req/s   p99 ${median(v.map((x) => x.p99))} ms`,
    );
    console.log(
      `  ratio Varnish / origin   ${(median(v.map((x) => x.rps)) / median(o.map((x) => x.rps))).toFixed(2)}`,
    );
    console.log(
      `  per-run req/s: origin ${o.map((x) => x.rps.toFixed(0)).join(', ')}; Varnish ${v.map((x) => x.rps.toFixed(0)).join(', ')}`,
    );
  } finally {
    varnish.kill('SIGTERM');
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
