import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../src/dashboard/dashboard-routes.js';
import { DEFAULT_DASHBOARD_DIR, negotiate, loadDashboard } from '../src/dashboard/static-assets.js';
import { registerErrorHandling } from '../src/http/problem.js';
import { ensureDashboardBuilt } from './dashboard-build.js';

const JS = `console.log(${JSON.stringify('x'.repeat(4000))});`;

describe('dashboard static assets', () => {
  let dir: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lf-dash-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><title>t</title><script type="module" src="/assets/app-abc123.js"></script>',
    );
    writeFileSync(join(dir, 'assets', 'app-abc123.js'), JS);
    app = Fastify({ logger: false });
    registerErrorHandling(app);
    await app.register(dashboardRoutes, { dir });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / revalidated on every load, with a strict CSP', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.body).toContain('/assets/app-abc123.js');
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await app.inject({ method: 'GET', url: '/' });
    const etag = String(first.headers.etag);
    const again = await app.inject({ method: 'GET', url: '/', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves fingerprinted assets as immutable for a year, brotli or gzip as accepted', async () => {
    const br = await app.inject({
      method: 'GET',
      url: '/assets/app-abc123.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(br.statusCode).toBe(200);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toBe('accept-encoding');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(JS);

    const gz = await app.inject({
      method: 'GET',
      url: '/assets/app-abc123.js',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(JS);

    const plain = await app.inject({ method: 'GET', url: '/assets/app-abc123.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(JS);
  });

  it('answers 404 problem+json for an unknown asset and never reads outside the folder', async () => {
    for (const url of [
      '/assets/nope.js',
      '/assets/..%2Findex.html',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('without a build, / explains how to build and nothing crashes', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lf-dash-empty-'));
    const bare = Fastify({ logger: false });
    registerErrorHandling(bare);
    await bare.register(dashboardRoutes, { dir: empty });
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('npm run build');
    expect((await bare.inject({ method: 'GET', url: '/assets/x.js' })).statusCode).toBe(404);
    await bare.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('negotiate skips encodings refused with q=0', () => {
    const asset = loadDashboard(dir)!.assets.get('app-abc123.js')!;
    expect(negotiate(asset, 'br;q=0, gzip').encoding).toBe('gzip');
    expect(negotiate(asset, 'br;q=0.0, gzip;q=0').encoding).toBeUndefined();
  });
});

describe('the built dashboard', () => {
  beforeAll(() => ensureDashboardBuilt(), 120_000);

  it('loads under 150 KB of JavaScript, gzipped, on first load', () => {
    const assets = join(DEFAULT_DASHBOARD_DIR, 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    const total = js.reduce((sum, f) => sum + gzipSync(readFileSync(join(assets, f))).length, 0);
    expect(total).toBeLessThan(150 * 1024);
  });

  it('names every asset by its content hash, so year-long caching is safe', () => {
    for (const f of readdirSync(join(DEFAULT_DASHBOARD_DIR, 'assets'))) {
      expect(f).toMatch(/-[A-Za-z0-9_-]{8,}\.(js|css)$/);
    }
  });
});
