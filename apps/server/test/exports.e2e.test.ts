import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField } from '../src/exports/format.js';
import { auth, availableModes, startService, type TestService } from './helpers.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const IPS = ['8.8.8.8', '81.2.69.142', '2a00:1450:4001::1', '81.2.69.143'];

describe.each(availableModes())('exports (%s mode)', (mode) => {
  let svc: TestService;
  const get = (url: string) => svc.built.app.inject({ method: 'GET', url, headers: auth() });

  beforeAll(async () => {
    svc = await startService(mode, mode === 'server' ? { ANALYTICS_WORKER: 'true' } : {});
    for (let i = 0; i < 3; i++) {
      await svc.built.app.inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: {
          url: `https://example.com/${i}`,
          alias: `exp-${mode}-${i}`,
          title: i === 0 ? 'Sale, "50%" off' : null,
        },
      });
    }
    for (const ip of IPS) {
      await svc.built.app.inject({
        method: 'GET',
        url: `/exp-${mode}-1`,
        remoteAddress: ip,
        headers: { 'user-agent': UA },
      });
    }
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const r = await get(`/api/v1/links/exp-${mode}-1/analytics`);
      if (r.json<{ totals: { clicks: number } }>().totals.clicks >= IPS.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('streams links as NDJSON, each marked existing, with a closing summary line', async () => {
    const res = await get('/api/v1/exports/links');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.pop() as {
      _summary: { rows: number; existing: number; updated: number };
    };
    const mine = lines.filter((l) => String(l['code']).startsWith(`exp-${mode}-`));
    expect(mine.map((l) => l['code']).sort()).toEqual([0, 1, 2].map((i) => `exp-${mode}-${i}`));
    expect(mine.every((l) => l['change'] === 'existing')).toBe(true);
    expect(summary._summary).toMatchObject({
      rows: lines.length,
      existing: lines.length,
      updated: 0,
    });
  });

  it('streams links as CSV with quoted fields', async () => {
    const res = await get('/api/v1/exports/links?format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    const [header, ...rows] = res.body.trim().split('\r\n');
    expect(header).toBe(
      'code,url,alias,title,tags,redirectType,expiresAt,maxClicks,clicks,createdAt,updatedAt,deletedAt,change',
    );
    expect(rows.find((r) => r.startsWith(`exp-${mode}-0,`))).toContain('"Sale, ""50%"" off"');
  });

  it('exports raw clicks with their enrichment, sorted by a field through extsort when asked', async () => {
    const res = await get(`/api/v1/exports/clicks?code=exp-${mode}-1&sort=country`);
    expect(res.statusCode).toBe(200);
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.pop() as { _summary: { rows: number } };
    expect(summary._summary.rows).toBe(IPS.length);
    expect(lines.map((l) => l['country'])).toEqual(['DE', 'GB', 'GB', 'US']);
    expect(lines[0]).toMatchObject({
      code: `exp-${mode}-1`,
      browser: 'Firefox',
      os: 'Linux',
      bot: false,
    });
    expect(lines.some((l) => 'ip' in l || 'visitor' in l)).toBe(false);
  });

  it('refuses bad parameters with 400 and changes nothing', async () => {
    expect((await get('/api/v1/exports/links?format=xml')).statusCode).toBe(400);
    expect((await get('/api/v1/exports/clicks?sort=ip')).statusCode).toBe(400);
    expect((await get('/api/v1/exports/clicks?from=last-week')).statusCode).toBe(400);
    expect((await get('/api/v1/exports/clicks?code=nope-none')).statusCode).toBe(404);
    const anon = await svc.built.app.inject({ method: 'GET', url: '/api/v1/exports/links' });
    expect(anon.statusCode).toBe(401);
  });
});

describe('csvField', () => {
  it('quotes separators and quotes, and defuses spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(null)).toBe('');
    expect(csvField(['a', 'b'])).toBe('a|b');
  });
});
