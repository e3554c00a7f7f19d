import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { edgeCacheable, redirectCacheHeaders } from '../src/cdn/cache-policy.js';
import { parseEdgeLogLine, ingestEdgeLog } from '../src/cdn/edge-log.js';
import { CloudflarePurger } from '../src/cdn/purge/cloudflare.js';
import { CloudFrontPurger } from '../src/cdn/purge/cloudfront.js';
import { FastlyPurger } from '../src/cdn/purge/fastly.js';
import { PurgeQueue } from '../src/cdn/purge/purge-queue.js';
import type { PurgeRequest, Purger } from '../src/cdn/purge/purger.js';
import { VarnishPurger } from '../src/cdn/purge/varnish.js';
import type { CachedLink } from '../src/infra/cache/link-cache.js';
import type { ClickEvent } from '../src/links/click-buffer.js';
import { auth, startService, type TestService } from './helpers.js';

// The CDN APIs are third parties we cannot run here: a local HTTP server stands in for them
// and records what each adapter sends.
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
const servers: (() => void)[] = [];
afterEach(() => {
  for (const close of servers.splice(0)) close();
});

async function fakeApi(answer: (req: Seen) => { status: number; body: string; type?: string }) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' });
      res.end(a.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(() => server.close());
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

const request: PurgeRequest = { keys: ['link-7', 'ws-1'], paths: ['/abc123', '/abc123+'] };
const link: CachedLink = {
  id: 7,
  workspaceId: 1,
  url: 'https://x.example/',
  redirectType: 302,
  expiresAt: null,
  maxClicks: null,
  clicks: 0,
  deleted: false,
};

describe('cache policy of redirects', () => {
  it('origin mode: never stored anywhere', () => {
    expect(redirectCacheHeaders(link, { mode: 'origin', ttlSeconds: 60, staleSeconds: 5 })).toEqual(
      { 'cache-control': 'private, no-store' },
    );
  });
  it('edge mode: a shared-cache TTL with stale-while-revalidate, tagged by link and workspace', () => {
    const h = redirectCacheHeaders(link, { mode: 'edge', ttlSeconds: 3600, staleSeconds: 30 });
    expect(h['cache-control']).toBe('public, max-age=0, s-maxage=3600, stale-while-revalidate=30');
    expect(h['surrogate-key']).toBe('link-7 ws-1');
    expect(h['cache-tag']).toBe('link-7,ws-1');
  });
  it('never edge-caches a link whose answer changes without an edit (expiry, click cap)', () => {
    expect(edgeCacheable({ ...link, expiresAt: Date.now() + 1000 })).toBe(false);
    expect(edgeCacheable({ ...link, maxClicks: 5 })).toBe(false);
    expect(
      redirectCacheHeaders(
        { ...link, maxClicks: 5 },
        { mode: 'edge', ttlSeconds: 60, staleSeconds: 5 },
      ),
    ).toEqual({ 'cache-control': 'private, no-store' });
  });
});

describe('purge adapters', () => {
  it('Varnish: one xkey PURGE for the keys and one PURGE per path, to every Varnish', async () => {
    const a = await fakeApi(() => ({ status: 200, body: 'ok' }));
    const b = await fakeApi(() => ({ status: 200, body: 'ok' }));
    await new VarnishPurger([a.base, b.base]).purge(request);
    for (const api of [a, b]) {
      expect(api.seen.map((s) => [s.method, s.url, s.headers['xkey-purge']])).toEqual(
        expect.arrayContaining([
          ['PURGE', '/', 'link-7 ws-1'],
          ['PURGE', '/abc123', undefined],
          ['PURGE', '/abc123+', undefined],
        ]),
      );
    }
  });

  it('Fastly: surrogate-key purge with the API token, and URL purges', async () => {
    const api = await fakeApi(() => ({ status: 200, body: '{"status":"ok"}' }));
    await new FastlyPurger({
      apiToken: 'tok',
      serviceId: 'svc1',
      publicBaseUrl: api.base,
      apiBase: api.base,
    }).purge(request);
    const keyPurge = api.seen.find((s) => s.url === '/service/svc1/purge')!;
    expect(keyPurge.method).toBe('POST');
    expect(keyPurge.headers['fastly-key']).toBe('tok');
    expect(keyPurge.headers['surrogate-key']).toBe('link-7 ws-1');
    expect(
      api.seen
        .filter((s) => s.method === 'PURGE')
        .map((s) => s.url)
        .sort(),
    ).toEqual(['/abc123', '/abc123+']);
  });

  it('Cloudflare: tags and files in separate calls; success=false is a failure', async () => {
    const api = await fakeApi(() => ({ status: 200, body: '{"success":true,"errors":[]}' }));
    await new CloudflarePurger({
      apiToken: 'cf',
      zoneId: 'z1',
      publicBaseUrl: 'https://sho.rt',
      apiBase: api.base,
    }).purge(request);
    expect(
      api.seen.every(
        (s) => s.url === '/zones/z1/purge_cache' && s.headers.authorization === 'Bearer cf',
      ),
    ).toBe(true);
    expect(api.seen.map((s) => JSON.parse(s.body) as unknown)).toEqual(
      expect.arrayContaining([
        { tags: ['link-7', 'ws-1'] },
        { files: ['https://sho.rt/abc123', 'https://sho.rt/abc123+'] },
      ]),
    );
    const failing = await fakeApi(() => ({
      status: 200,
      body: '{"success":false,"errors":[{"message":"bad zone"}]}',
    }));
    await expect(
      new CloudflarePurger({
        apiToken: 'cf',
        zoneId: 'z1',
        publicBaseUrl: 'https://sho.rt',
        apiBase: failing.base,
      }).purge(request),
    ).rejects.toThrow(/bad zone/);
  });

  it('CloudFront: one invalidation with the paths (it has no tags)', async () => {
    const api = await fakeApi(() => ({
      status: 201,
      type: 'text/xml',
      body: '<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I1</Id><Status>InProgress</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime><InvalidationBatch><Paths><Quantity>2</Quantity><Items><Path>/abc123</Path><Path>/abc123+</Path></Items></Paths><CallerReference>x</CallerReference></InvalidationBatch></Invalidation>',
    }));
    const client = new CloudFrontClient({
      region: 'us-east-1',
      endpoint: api.base,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    await new CloudFrontPurger({ distributionId: 'D1', client }).purge(request);
    expect(api.seen).toHaveLength(1);
    expect(api.seen[0]!.url).toContain('/distribution/D1/invalidation');
    expect(api.seen[0]!.body).toContain('<Path>/abc123</Path>');
    expect(api.seen[0]!.body).toContain('<Quantity>2</Quantity>');
  });

  it('reports the HTTP status when a purge API refuses', async () => {
    const api = await fakeApi(() => ({ status: 401, body: 'bad token' }));
    await expect(new VarnishPurger([api.base]).purge(request)).rejects.toThrow(
      /HTTP 401.*bad token/,
    );
  });
});

describe('PurgeQueue', () => {
  class Recording implements Purger {
    readonly name = 'rec';
    calls: PurgeRequest[] = [];
    failures = 0;
    constructor(readonly maxBatch: number) {}
    async purge(r: PurgeRequest) {
      if (this.failures > 0) {
        this.failures--;
        throw new Error('down');
      }
      this.calls.push(r);
    }
  }

  it('batches requests made together and de-duplicates keys', async () => {
    const p = new Recording(100);
    const q = new PurgeQueue(p, { batchDelayMs: 10 });
    const done = Promise.all([
      q.enqueue({ keys: ['a', 'b'], paths: ['/x'] }),
      q.enqueue({ keys: ['b', 'c'], paths: [] }),
    ]);
    await done;
    expect(p.calls).toEqual([{ keys: ['a', 'b', 'c'], paths: ['/x'] }]);
  });

  it('splits batches at the provider limit', async () => {
    const p = new Recording(2);
    const q = new PurgeQueue(p, { batchDelayMs: 1 });
    await q.enqueue({ keys: ['a', 'b', 'c'], paths: ['/x'] });
    expect(p.calls).toHaveLength(2);
  });

  it('retries a failed purge with backoff, and rejects after the last attempt', async () => {
    const p = new Recording(10);
    p.failures = 2;
    const errors: number[] = [];
    const q = new PurgeQueue(p, {
      batchDelayMs: 1,
      baseBackoffMs: 5,
      maxAttempts: 3,
      onError: (_e, n) => errors.push(n),
    });
    await q.enqueue({ keys: ['a'], paths: [] });
    expect(errors).toEqual([1, 2]);
    expect(p.calls).toHaveLength(1);
    p.failures = 5;
    await expect(q.enqueue({ keys: ['b'], paths: [] })).rejects.toThrow(/after 3 attempts/);
  });
});

describe('edge log', () => {
  const line = (
    path: string,
    status = 302,
    ua = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0',
    counted = '',
  ) =>
    `203.0.113.9 - - [25/Nov/2026:22:19:02 +0000] "GET ${path} HTTP/1.1" ${status} 0 "https://ref.example/" "${ua}" 32770 ${counted}`.trimEnd();

  it('parses the documented format, absolute URLs included', () => {
    expect(parseEdgeLogLine(line('http://sho.rt/abc123?x=1'))).toMatchObject({
      ip: '203.0.113.9',
      at: Date.parse('2026-11-25T22:19:02Z'),
      method: 'GET',
      path: '/abc123?x=1',
      status: 302,
      referrer: 'https://ref.example/',
      vxid: '32770',
      countedByOrigin: false,
    });
    expect(parseEdgeLogLine('garbage')).toBeUndefined();
  });

  it('counts redirects only: not bots, not other statuses, not what the origin counted; same id on re-reading', async () => {
    const got: ClickEvent[] = [];
    const input = [
      line('/abc123'),
      line('/abc123', 200),
      line('/abc123', 404),
      line('/abc123', 302, 'Googlebot/2.1'),
      line('/abc123', 302, 'Mozilla/5.0 Firefox', '1'),
      line('/api/v1/links'),
      line('/unknown'),
      'not a log line',
    ];
    async function* lines() {
      yield* input;
    }
    const stats = await ingestEdgeLog(lines(), {
      source: 'edge-1',
      sink: { record: (c) => got.push(c) },
      lookup: async (code) => (code === 'abc123' ? 7 : undefined),
    });
    expect(stats).toEqual({ lines: 8, counted: 1, skipped: 6, malformed: 1 });
    expect(got[0]).toMatchObject({
      linkId: 7,
      code: 'abc123',
      ip: '203.0.113.9',
      referrer: 'https://ref.example/',
    });
    expect(got[0]!.eventId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const again: ClickEvent[] = [];
    async function* once() {
      yield input[0]!;
    }
    await ingestEdgeLog(once(), {
      source: 'edge-1',
      sink: { record: (c) => again.push(c) },
      lookup: async () => 7,
    });
    expect(again[0]!.eventId).toBe(got[0]!.eventId);
  });
});

describe('API reads: ETag and 304', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('embedded');
  });
  afterAll(async () => svc?.close());

  it('answers 304 to a matching If-None-Match and 200 once the resource changed', async () => {
    const app = svc.built.app;
    const { code } = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: 'https://etag.example/' },
      })
    ).json<{ code: string }>();
    const first = await app.inject({
      method: 'GET',
      url: `/api/v1/links/${code}`,
      headers: auth(),
    });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const again = await app.inject({
      method: 'GET',
      url: `/api/v1/links/${code}`,
      headers: { ...auth(), 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    await app.inject({
      method: 'PATCH',
      url: `/api/v1/links/${code}`,
      headers: auth(),
      payload: { title: 'changed' },
    });
    const changed = await app.inject({
      method: 'GET',
      url: `/api/v1/links/${code}`,
      headers: { ...auth(), 'if-none-match': etag },
    });
    expect(changed.statusCode).toBe(200);
  });
});
