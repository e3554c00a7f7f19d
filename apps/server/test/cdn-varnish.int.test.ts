import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isCI } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_LOG_FORMAT, ingestEdgeLog } from '../src/cdn/edge-log.js';
import { BROWSER_UA, freePort } from './process.js';
import { auth, startService, type TestService } from './helpers.js';

const VARNISHD = '/usr/sbin/varnishd';
const haveVarnish = existsSync(VARNISHD);
if (!haveVarnish && isCI())
  throw new Error('varnishd is missing: .ci/run installs varnish and varnish-modules');
const VCL = fileURLToPath(new URL('../../../deploy/varnish/linkforge.vcl', import.meta.url));

describe.skipIf(!haveVarnish)('through a real Varnish in front (edge caching mode)', () => {
  let svc: TestService;
  let varnish: ChildProcess;
  let workdir: string;
  let edge: string;

  beforeAll(async () => {
    const edgePort = await freePort();
    edge = `http://127.0.0.1:${edgePort}`;
    svc = await startService('embedded', {
      PUBLIC_BASE_URL: edge,
      REDIRECT_CACHE: 'edge',
      PURGE_PROVIDER: 'varnish',
      VARNISH_PURGE_URLS: edge,
    });
    const origin = await svc.built.app.listen({ port: 0, host: '127.0.0.1' });
    workdir = await mkdtemp(join(tmpdir(), 'lf-varnish-'));
    await chmod(workdir, 0o755); // varnishd's worker drops to its own user when started as root
    const vcl = (await readFile(VCL, 'utf8')).replace(
      '.port = "3000"',
      `.port = "${new URL(origin).port}"`,
    );
    await writeFile(join(workdir, 'linkforge.vcl'), vcl);
    await chmod(join(workdir, 'linkforge.vcl'), 0o644);
    varnish = spawn(
      VARNISHD,
      [
        '-F',
        '-a',
        `127.0.0.1:${edgePort}`,
        '-f',
        join(workdir, 'linkforge.vcl'),
        '-n',
        join(workdir, 'n'),
        '-s',
        'malloc,32m',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    varnish.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    varnish.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 100; i++) {
      if (varnish.exitCode !== null) throw new Error(`varnishd exited: ${out}`);
      try {
        if ((await fetch(`${edge}/healthz`)).status === 200) return;
      } catch {
        // starting
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`varnishd did not come up: ${out}`);
  });

  afterAll(async () => {
    varnish?.kill('SIGTERM');
    await svc?.close();
    if (workdir) await rm(workdir, { recursive: true, force: true });
  });

  const create = async (payload: Record<string, unknown>) =>
    (
      await svc.built.app.inject({ method: 'POST', url: '/api/v1/links', headers: auth(), payload })
    ).json<{ code: string }>();
  const get = (code: string, ua = BROWSER_UA, method = 'GET') =>
    fetch(`${edge}/${code}`, { method, redirect: 'manual', headers: { 'user-agent': ua } });

  async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < ms) {
      if (await check()) return Date.now() - start;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`not within ${ms} ms`);
  }

  it('a second request for a redirect is a cache hit, and browsers are told not to keep it', async () => {
    const { code } = await create({ url: 'https://cached.example/a?b=1' });
    const first = await get(code);
    const second = await get(code);
    expect(first.status).toBe(302);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('location')).toBe('https://cached.example/a?b=1');
    expect(second.headers.get('cache-control')).toBe('private, no-store');
    expect(second.headers.get('surrogate-key')).toBeNull();
  });

  it('after PATCH the edge answers with the new destination (purged by key), never the old one again', async () => {
    const { code } = await create({ url: 'https://before.example/' });
    await get(code);
    expect((await get(code)).headers.get('x-cache')).toBe('HIT');
    const patched = await svc.built.app.inject({
      method: 'PATCH',
      url: `/api/v1/links/${code}`,
      headers: auth(),
      payload: { url: 'https://after.example/' },
    });
    expect(patched.statusCode).toBe(200);
    const waited = await eventually(
      async () => (await get(code)).headers.get('location') === 'https://after.example/',
    );
    expect(waited).toBeLessThan(3000);
    for (let i = 0; i < 5; i++)
      expect((await get(code)).headers.get('location')).toBe('https://after.example/');
  });

  it('a deleted link stops resolving at the edge', async () => {
    const { code } = await create({ url: 'https://deleted.example/' });
    await get(code);
    expect((await get(code)).headers.get('x-cache')).toBe('HIT');
    await svc.built.app.inject({ method: 'DELETE', url: `/api/v1/links/${code}`, headers: auth() });
    await eventually(async () => (await get(code)).status === 410);
    expect((await get(code)).status).toBe(410);
  });

  it('an expiring link is never cached at the edge, so it stops resolving when it expires', async () => {
    const { code } = await create({
      url: 'https://expiring.example/',
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    expect((await get(code)).status).toBe(302);
    const again = await get(code);
    expect(again.status).toBe(302);
    expect(again.headers.get('x-cache')).toBe('MISS');
    await new Promise((r) => setTimeout(r, 1600));
    expect((await get(code)).status).toBe(410);
  });

  it('counts exactly the clicks the edge served, from its log', async () => {
    const { code } = await create({ url: 'https://counted.example/' });
    const capped = await create({ url: 'https://capped.example/', maxClicks: 100 });
    for (let i = 0; i < 25; i++) expect((await get(code)).status).toBe(302); // 1 miss, 24 hits
    for (let i = 0; i < 3; i++) await get(code, 'Googlebot/2.1 (+http://www.google.com/bot.html)');
    for (let i = 0; i < 2; i++) await get(code, BROWSER_UA, 'HEAD');
    for (let i = 0; i < 5; i++) expect((await get(capped.code)).status).toBe(302); // counted by the origin
    await new Promise((r) => setTimeout(r, 300)); // let varnishd write its log

    const { stdout } = await promisify(execFile)('varnishncsa', [
      '-n',
      join(workdir, 'n'),
      '-d',
      '-F',
      EDGE_LOG_FORMAT,
    ]);
    async function* lines() {
      yield* stdout.split('\n');
    }
    const stats = await ingestEdgeLog(lines(), {
      source: 'test-edge',
      sink: svc.built.clickSink,
      lookup: async (c) => (await svc.built.resolver.lookup(c))?.id,
    });
    expect(stats.malformed).toBe(0);
    await svc.built.clicks.flush();
    const read = async (c: string) =>
      (
        await svc.built.app.inject({ method: 'GET', url: `/api/v1/links/${c}`, headers: auth() })
      ).json<{ clicks: number }>().clicks;
    expect(await read(code)).toBe(25);
    expect(await read(capped.code)).toBe(5);
  });
});
