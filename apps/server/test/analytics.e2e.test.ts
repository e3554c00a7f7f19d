import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { serviceUrl } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, availableModes, startService, type Mode, type TestService } from './helpers.js';

const natsUrl = serviceUrl('NATS_URL');
/** Every mode, plus server mode on NATS JetStream when NATS is there. */
const setups: { name: string; mode: Mode; env: Record<string, string> }[] = [
  ...availableModes().map((mode) => ({
    name: mode === 'server' ? 'server mode, Redis Streams' : 'embedded mode, in-process stream',
    mode,
    // Server mode: the worker in-process, so that the test needs one process.
    env: mode === 'server' ? { ANALYTICS_WORKER: 'true' } : ({} as Record<string, string>),
  })),
  ...(availableModes().includes('server') && natsUrl !== undefined
    ? [
        {
          name: 'server mode, NATS JetStream',
          mode: 'server' as const,
          env: {
            ANALYTICS_WORKER: 'true',
            STREAM_ADAPTER: 'nats',
            NATS_URL: natsUrl,
            CLICK_STREAM: `test_${randomBytes(4).toString('hex')}`,
          },
        },
      ]
    : []),
];

interface NatsClient {
  connect(o: { servers: string }): Promise<{ close(): Promise<void> }>;
}
interface NatsManager {
  jetstreamManager(nc: unknown): Promise<{ streams: { delete(name: string): Promise<boolean> } }>;
}

/** Deletes a JetStream stream this test created (the NATS client comes with @linkforge/stream). */
async function deleteNatsStream(name: string): Promise<void> {
  const req = createRequire(fileURLToPath(import.meta.resolve('@linkforge/stream')));
  const { connect } = (await import(req.resolve('@nats-io/transport-node'))) as NatsClient;
  const { jetstreamManager } = (await import(req.resolve('@nats-io/jetstream'))) as NatsManager;
  const nc = await connect({ servers: natsUrl! });
  try {
    await (await jetstreamManager(nc)).streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

interface Report {
  totals: { clicks: number; uniqueVisitors: number };
  series: { t: string; clicks: number }[];
  referrers: { value: string; clicks: number }[];
  countries: { value: string; clicks: number }[];
  devices: { value: string; clicks: number }[];
  browsers: { value: string; clicks: number }[];
  os: { value: string; clicks: number }[];
}

describe.each(setups)('click analytics ($name)', ({ mode, env }) => {
  let svc: TestService;
  let code: string;
  let other: string;

  async function get(url: string, key?: string) {
    return svc.built.app.inject({
      method: 'GET',
      url,
      headers: key === undefined ? auth() : auth(key),
    });
  }

  async function waitFor(url: string, clicks: number): Promise<Report> {
    const until = Date.now() + 20_000;
    for (;;) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      const r = res.json<Report>();
      if (r.totals.clicks >= clicks || Date.now() > until) return r;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function click(c: string, ip: string, ua: string, referer?: string) {
    const res = await svc.built.app.inject({
      method: 'GET',
      url: `/${c}`,
      remoteAddress: ip,
      headers: { 'user-agent': ua, ...(referer !== undefined ? { referer } : {}) },
    });
    expect(res.statusCode).toBe(302);
  }

  beforeAll(async () => {
    svc = await startService(mode, env);
    const a = await svc.built.app.inject({
      method: 'POST',
      url: '/api/v1/links',
      headers: auth(),
      payload: { url: 'https://example.com/a' },
    });
    code = a.json<{ code: string }>().code;
    const b = await svc.built.app.inject({
      method: 'POST',
      url: '/api/v1/links',
      headers: auth(),
      payload: { url: 'https://example.com/b' },
    });
    other = b.json<{ code: string }>().code;

    // 3 visits by one UK Firefox user from Google, 2 by a German iPhone user from a newsletter,
    // 1 direct US Chrome visit, 1 to the other link by the UK user; Googlebot is redirected
    // but never counted (the redirect does not count bots).
    for (let i = 0; i < 3; i++)
      await click(code, '81.2.69.142', FIREFOX_LINUX, 'https://www.google.com/search?q=x');
    for (let i = 0; i < 2; i++)
      await click(code, '2a00:1450:4001::1', SAFARI_IPHONE, 'https://news.example.org/issue/4');
    await click(code, '8.8.8.8', CHROME_WINDOWS);
    await click(other, '81.2.69.142', FIREFOX_LINUX, 'https://www.google.com/');
    await click(code, '66.249.66.1', GOOGLEBOT);
  });
  afterAll(async () => {
    await svc?.close();
    if (env['STREAM_ADAPTER'] === 'nats') await deleteNatsStream(env['CLICK_STREAM']!);
  });

  it('answers per-link totals, daily unique visitors and every dimension from the rollups', async () => {
    const r = await waitFor(`/api/v1/links/${code}/analytics`, 6);
    expect(r.totals).toEqual({ clicks: 6, uniqueVisitors: 3 });
    expect(r.series).toHaveLength(30);
    expect(r.series.reduce((n, p) => n + p.clicks, 0)).toBe(6);
    expect(r.series.at(-1)!.t).toBe(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
    expect(r.referrers).toEqual([
      { value: 'google.com', clicks: 3 },
      { value: 'news.example.org', clicks: 2 },
      { value: '(direct)', clicks: 1 },
    ]);
    expect(r.countries).toEqual([
      { value: 'GB', clicks: 3 },
      { value: 'DE', clicks: 2 },
      { value: 'US', clicks: 1 },
    ]);
    expect(r.devices).toEqual([
      { value: 'desktop', clicks: 4 },
      { value: 'mobile', clicks: 2 },
    ]);
    expect(r.browsers.map((b) => b.value)).toEqual(['Firefox', 'Safari', 'Chrome']);
    expect(r.os).toEqual([
      { value: 'Linux', clicks: 3 },
      { value: 'iOS', clicks: 2 },
      { value: 'Windows', clicks: 1 },
    ]);
  });

  it('answers the workspace report, counting a visitor of two links once per day', async () => {
    const r = await waitFor('/api/v1/analytics', 7);
    expect(r.totals.clicks).toBeGreaterThanOrEqual(7);
    const perLink = (await waitFor(`/api/v1/links/${other}/analytics`, 1)).totals;
    expect(perLink).toEqual({ clicks: 1, uniqueVisitors: 1 });
    // Same UK visitor on both links: 3 distinct visitors in the workspace, not 4.
    expect(r.totals.uniqueVisitors).toBe(3);
  });

  it('gives an hourly series over the last 24 hours', async () => {
    const r = await waitFor(`/api/v1/links/${code}/analytics?interval=hour`, 6);
    expect(r.series).toHaveLength(24);
    expect(r.series.at(-1)!.clicks).toBe(6);
    expect(Date.parse(r.series[1]!.t) - Date.parse(r.series[0]!.t)).toBe(3_600_000);
  });

  it('includes bots only when asked: the worker flags user agents isbot recognises', async () => {
    const r = await waitFor(`/api/v1/links/${code}/analytics?includeBots=true`, 6);
    expect(r.totals.clicks).toBe(6);
  });

  it('refuses a bad range with 400 problem+json and an unknown link with 404', async () => {
    const bad = await get(`/api/v1/links/${code}/analytics?from=yesterday`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'validation_failed' });
    const reversed = await get(`/api/v1/analytics?from=2026-02-01&to=2026-01-01`);
    expect(reversed.statusCode).toBe(400);
    const tooLong = await get(`/api/v1/analytics?interval=hour&from=2020-01-01&to=2026-01-01`);
    expect(tooLong.statusCode).toBe(400);
    const unknown = await get('/api/v1/links/nope-not-here/analytics');
    expect(unknown.statusCode).toBe(404);
    const noKey = await svc.built.app.inject({ method: 'GET', url: '/api/v1/analytics' });
    expect(noKey.statusCode).toBe(401);
  });
});
