import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, auth, availableModes, startService, type TestService } from './helpers.js';

const browser = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
};

describe.each(availableModes())('links API (%s mode)', (mode) => {
  let svc: TestService;
  const inject: TestService['built']['app']['inject'] = ((
    ...args: Parameters<TestService['built']['app']['inject']>
  ) => svc.built.app.inject(...args)) as never;

  beforeAll(async () => {
    svc = await startService(mode);
  });
  afterAll(async () => {
    await svc?.close();
  });

  async function create(body: Record<string, unknown>, headers: Record<string, string> = auth()) {
    return inject({ method: 'POST', url: '/api/v1/links', payload: body, headers });
  }

  describe('POST /api/shorten (seed-compatible)', () => {
    it('returns the short URL, and the short URL redirects to the long one', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/shorten',
        payload: { longUrl: 'https://example.com/a?x=1&y=2#top' },
      });
      expect(res.statusCode).toBe(201);
      const { shortUrl, code } = res.json<{ shortUrl: string; code: string }>();
      expect(shortUrl).toBe(`http://sho.rt/${code}`);
      const redirect = await inject({ method: 'GET', url: `/${code}` });
      expect(redirect.statusCode).toBe(302);
      expect(redirect.headers.location).toBe('https://example.com/a?x=1&y=2#top');
    });
  });

  describe('POST /api/v1/links', () => {
    it('creates a link with every option and answers 201 with it', async () => {
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const res = await create({
        url: 'https://example.org/path',
        alias: `promo-${mode}`,
        expiresAt,
        maxClicks: 10,
        redirectType: 301,
        title: 'Promo',
        tags: ['spring', 'mail'],
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        code: `promo-${mode}`,
        alias: true,
        url: 'https://example.org/path',
        redirectType: 301,
        maxClicks: 10,
        clicks: 0,
        title: 'Promo',
        tags: ['spring', 'mail'],
        status: 'active',
        expiresAt,
      });
      const r = await inject({ method: 'GET', url: `/promo-${mode}` });
      expect(r.statusCode).toBe(301);
    });

    it('gives two links made one after another codes that are not neighbours', async () => {
      const a = (await create({ url: 'https://example.com/1' })).json<{ code: string }>().code;
      const b = (await create({ url: 'https://example.com/2' })).json<{ code: string }>().code;
      expect(a).toMatch(/^[0-9A-Za-z]{6}$/);
      const differing = [...a].filter((ch, i) => ch !== b[i]).length;
      expect(differing).toBeGreaterThanOrEqual(3);
    });

    it('when the alias is taken, returns 409 and keeps the first link', async () => {
      await create({ url: 'https://first.example/', alias: 'taken-alias' });
      const res = await create({ url: 'https://second.example/', alias: 'taken-alias' });
      expect(res.statusCode).toBe(409);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ code: 'alias_taken', status: 409 });
      const r = await inject({ method: 'GET', url: '/taken-alias' });
      expect(r.headers.location).toBe('https://first.example/');
    });

    it.each([
      ['javascript:alert(1)', 'javascript'],
      ['data:text/html,hi', 'data'],
      ['file:///etc/passwd', 'file'],
      ['https://user:pass@example.com/', 'credentials'],
      [`https://example.com/${'a'.repeat(2050)}`, 'too long'],
      ['http://sho.rt/abc', 'own domain'],
      ['not a url', 'not a URL'],
      ['ftp://example.com/x', 'ftp'],
    ])('refuses %s (%s) with 400 invalid_url', async (url) => {
      const res = await create({ url });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_url' });
    });

    it.each([['ab'], ['has space'], ['api'], ['Docs'], ['x'.repeat(65)], ['bad/slash']])(
      'refuses the alias %j with 400',
      async (alias) => {
        const res = await create({ url: 'https://example.com/', alias });
        expect(res.statusCode).toBe(400);
        expect(['invalid_alias', 'validation_failed']).toContain(res.json<{ code: string }>().code);
      },
    );

    it('refuses unknown fields, wrong types, past expiry and bad redirect types with 400', async () => {
      for (const body of [
        { url: 'https://example.com/', extra: 1 },
        { url: 42 },
        { url: 'https://example.com/', expiresAt: '2001-01-01T00:00:00Z' },
        { url: 'https://example.com/', redirectType: 303 },
        { url: 'https://example.com/', maxClicks: 0 },
      ]) {
        const res = await create(body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
      }
    });

    it('answers malformed JSON with 400 malformed_json and an oversized body with 413', async () => {
      const bad = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: '{"url": ',
        headers: { ...auth(), 'content-type': 'application/json' },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'malformed_json' });
      const big = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: JSON.stringify({ url: 'https://example.com/', title: 'x'.repeat(2_000_000) }),
        headers: { ...auth(), 'content-type': 'application/json' },
      });
      expect(big.statusCode).toBe(413);
      expect(big.json()).toMatchObject({ code: 'payload_too_large' });
    });

    it('a refused request changes nothing', async () => {
      const before = (
        await inject({ method: 'GET', url: '/api/v1/links?limit=200', headers: auth() })
      ).json<{ items: unknown[] }>();
      await create({ url: 'javascript:alert(1)', alias: 'never-made' });
      const after = (
        await inject({ method: 'GET', url: '/api/v1/links?limit=200', headers: auth() })
      ).json<{ items: unknown[] }>();
      expect(after.items.length).toBe(before.items.length);
      expect((await inject({ method: 'GET', url: '/never-made' })).statusCode).toBe(404);
    });
  });

  describe('GET /{code}', () => {
    it('answers 404 for an unknown code, and still 404 after it was negatively cached... until created', async () => {
      expect((await inject({ method: 'GET', url: '/later-alias' })).statusCode).toBe(404);
      await create({ url: 'https://later.example/', alias: 'later-alias' });
      const r = await inject({ method: 'GET', url: '/later-alias' });
      expect(r.statusCode).toBe(302);
    });

    it('HEAD answers like GET without counting a click, and bots are not counted', async () => {
      const { code } = (await create({ url: 'https://count.example/' })).json<{ code: string }>();
      const head = await inject({ method: 'HEAD', url: `/${code}` });
      expect(head.statusCode).toBe(302);
      expect(head.headers.location).toBe('https://count.example/');
      await inject({
        method: 'GET',
        url: `/${code}`,
        headers: { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
      });
      await inject({ method: 'GET', url: `/${code}`, headers: browser });
      await inject({ method: 'GET', url: `/${code}`, headers: browser });
      await svc.built.clicks.flush();
      const link = (
        await inject({ method: 'GET', url: `/api/v1/links/${code}`, headers: auth() })
      ).json<{ clicks: number }>();
      expect(link.clicks).toBe(2);
    });

    it('enforces maxClicks: the click past the cap gets 410', async () => {
      const { code } = (await create({ url: 'https://capped.example/', maxClicks: 2 })).json<{
        code: string;
      }>();
      const click = () => inject({ method: 'GET', url: `/${code}`, headers: browser });
      expect((await click()).statusCode).toBe(302);
      expect((await click()).statusCode).toBe(302);
      expect((await click()).statusCode).toBe(410);
      expect((await inject({ method: 'HEAD', url: `/${code}` })).statusCode).toBe(410);
    });

    it('answers 410 for a deleted link and for an expired one', async () => {
      const { code } = (await create({ url: 'https://deleted.example/' })).json<{ code: string }>();
      expect((await inject({ method: 'GET', url: `/${code}` })).statusCode).toBe(302);
      expect(
        (await inject({ method: 'DELETE', url: `/api/v1/links/${code}`, headers: auth() }))
          .statusCode,
      ).toBe(204);
      expect((await inject({ method: 'GET', url: `/${code}` })).statusCode).toBe(410);

      const soon = new Date(Date.now() + 400).toISOString();
      const exp = (await create({ url: 'https://expiring.example/', expiresAt: soon })).json<{
        code: string;
      }>();
      expect((await inject({ method: 'GET', url: `/${exp.code}` })).statusCode).toBe(302);
      await new Promise((r) => setTimeout(r, 500));
      expect((await inject({ method: 'GET', url: `/${exp.code}` })).statusCode).toBe(410);
    });

    it('serves a PATCHed destination at once (the cache is invalidated)', async () => {
      const { code } = (await create({ url: 'https://old.example/' })).json<{ code: string }>();
      expect((await inject({ method: 'GET', url: `/${code}` })).headers.location).toBe(
        'https://old.example/',
      );
      const patched = await inject({
        method: 'PATCH',
        url: `/api/v1/links/${code}`,
        headers: auth(),
        payload: { url: 'https://new.example/', redirectType: 307 },
      });
      expect(patched.statusCode).toBe(200);
      const r = await inject({ method: 'GET', url: `/${code}` });
      expect(r.statusCode).toBe(307);
      expect(r.headers.location).toBe('https://new.example/');
    });
  });

  describe('management with API keys', () => {
    it('refuses management without a key (401) and with an unknown key (401)', async () => {
      expect((await inject({ method: 'GET', url: '/api/v1/links' })).statusCode).toBe(401);
      expect(
        (await inject({ method: 'GET', url: '/api/v1/links', headers: auth('lf_nope') }))
          .statusCode,
      ).toBe(401);
    });

    it("a key never sees or changes another workspace's links (404)", async () => {
      // A second workspace with its own admin key.
      const db = svc.built.runtime.db;
      const [ws] = await db.query<{ id: number }>(
        `INSERT INTO workspaces (slug, name) VALUES ('other-${Date.now()}', 'Other') RETURNING id`,
      );
      const { key } = await svc.built.keys.create(ws!.id, 'other', 'admin');
      const mine = (await create({ url: 'https://mine.example/' })).json<{ code: string }>();
      for (const req of [
        { method: 'GET' as const, url: `/api/v1/links/${mine.code}` },
        {
          method: 'PATCH' as const,
          url: `/api/v1/links/${mine.code}`,
          payload: { url: 'https://evil.example/' },
        },
        { method: 'DELETE' as const, url: `/api/v1/links/${mine.code}` },
      ]) {
        const res = await inject({ ...req, headers: auth(key) });
        expect(res.statusCode, req.method).toBe(404);
      }
      const list = (
        await inject({ method: 'GET', url: '/api/v1/links', headers: auth(key) })
      ).json<{ items: unknown[] }>();
      expect(list.items).toEqual([]);
      expect((await inject({ method: 'GET', url: `/${mine.code}` })).headers.location).toBe(
        'https://mine.example/',
      );
    });

    it('concurrent single creations, inserted together, each get their own answer', async () => {
      const db = svc.built.runtime.db;
      const [ws] = await db.query<{ id: number }>(
        `INSERT INTO workspaces (slug, name) VALUES ('burst-${Date.now()}', 'Burst') RETURNING id`,
      );
      const { key: other } = await svc.built.keys.create(ws!.id, 'burst', 'admin');
      const alias = `burst-${mode}`;
      const requests = Array.from({ length: 60 }, (_, i) => {
        if (i % 20 === 7) return { body: { url: 'javascript:alert(1)' }, key: undefined };
        if (i === 10 || i === 11)
          return { body: { url: `https://a${i}.example/`, alias }, key: undefined };
        return {
          body: { url: `https://burst.example/${i}` },
          key: i % 2 === 0 ? other : undefined,
        };
      });
      const answers = await Promise.all(requests.map((r) => create(r.body, auth(r.key))));
      const codes = new Set<string>();
      answers.forEach((res, i) => {
        const { body } = requests[i]!;
        if (body.url.startsWith('javascript:')) {
          expect(res.statusCode).toBe(400);
          return;
        }
        if ('alias' in body) return;
        expect(res.statusCode).toBe(201);
        const link = res.json<{ code: string; url: string }>();
        expect(link.url).toBe(body.url);
        codes.add(link.code);
      });
      expect(codes.size).toBe(60 - 3 - 2);
      // One of the two requests for the alias got it; the other was told it is taken.
      const aliasAnswers = [answers[10]!, answers[11]!].map((r) => r.statusCode).sort();
      expect(aliasAnswers).toEqual([201, 409]);
      // Each link landed in the workspace of the key that asked for it.
      const mine = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM links WHERE workspace_id = $1 AND url LIKE 'https://burst.example/%'`,
        [ws!.id],
      );
      expect(mine[0]!.n).toBe(
        requests.filter((r) => r.key === other && !r.body.url.startsWith('javascript:')).length,
      );
    });

    it('lists with keyset pagination, search and tag filters', async () => {
      const tag = `page-${mode}`;
      for (let i = 0; i < 7; i++)
        await create({
          url: `https://paged.example/${i}`,
          tags: [tag],
          title: i === 3 ? 'Needle title' : null,
        });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `/api/v1/links?limit=3&tag=${tag}${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await inject({ method: 'GET', url: q, headers: auth() })).json<{
          items: { url: string }[];
          nextCursor: string | null;
        }>();
        seen.push(...page.items.map((i) => i.url));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `https://paged.example/${i}`));
      const found = (
        await inject({ method: 'GET', url: '/api/v1/links?q=needle', headers: auth() })
      ).json<{ items: { url: string }[] }>();
      expect(found.items.map((i) => i.url)).toEqual(['https://paged.example/3']);
      expect(
        (
          await inject({ method: 'GET', url: '/api/v1/links?cursor=garbage', headers: auth() })
        ).json(),
      ).toMatchObject({ code: 'invalid_cursor' });
    });

    it('creates, lists and revokes keys; a revoked key stops working at once', async () => {
      const created = await inject({
        method: 'POST',
        url: '/api/v1/keys',
        headers: auth(),
        payload: { name: 'ci', role: 'member' },
      });
      expect(created.statusCode).toBe(201);
      const { key, record } = created.json<{ key: string; record: { id: number } }>();
      expect(key).toMatch(/^lf_[0-9A-Za-z]{43}$/);
      expect(
        (await inject({ method: 'GET', url: '/api/v1/links', headers: auth(key) })).statusCode,
      ).toBe(200);
      expect(
        (await inject({ method: 'GET', url: '/api/v1/keys', headers: auth(key) })).statusCode,
      ).toBe(403);
      const list = (await inject({ method: 'GET', url: '/api/v1/keys', headers: auth() })).json<{
        items: { id: number; prefix: string }[];
      }>();
      expect(JSON.stringify(list)).not.toContain(key);
      expect(list.items.some((k) => k.id === record.id)).toBe(true);
      expect(
        (await inject({ method: 'DELETE', url: `/api/v1/keys/${record.id}`, headers: auth() }))
          .statusCode,
      ).toBe(204);
      expect(
        (await inject({ method: 'GET', url: '/api/v1/links', headers: auth(key) })).statusCode,
      ).toBe(401);
    });
  });

  describe('POST /api/v1/links/bulk', () => {
    it('creates the good items and reports each bad one without sinking the others', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links/bulk',
        headers: auth(),
        payload: {
          links: [
            { url: 'https://bulk.example/1' },
            { url: 'javascript:alert(1)' },
            { url: 'https://bulk.example/3', alias: `bulk-${mode}` },
            { url: 'https://bulk.example/4', alias: `bulk-${mode}` },
            { url: 'https://bulk.example/5', unknown: true },
            'not an object',
          ],
        },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json<{
        created: number;
        failed: number;
        results: { index: number; ok: boolean; error?: { code: string } }[];
      }>();
      expect(body.created).toBe(2);
      expect(body.failed).toBe(4);
      expect(body.results.map((r) => r.ok)).toEqual([true, false, true, false, false, false]);
      expect(body.results[1]!.error!.code).toBe('invalid_url');
      expect(body.results[3]!.error!.code).toBe('alias_taken');
    });

    it('takes 1,000 links in one request and refuses 1,001', async () => {
      const links = Array.from({ length: 1000 }, (_, i) => ({ url: `https://many.example/${i}` }));
      const ok = await inject({
        method: 'POST',
        url: '/api/v1/links/bulk',
        headers: auth(),
        payload: { links },
      });
      expect(ok.json<{ created: number }>().created).toBe(1000);
      const codes = new Set(
        ok.json<{ results: { link: { code: string } }[] }>().results.map((r) => r.link.code),
      );
      expect(codes.size).toBe(1000);
      const tooMany = await inject({
        method: 'POST',
        url: '/api/v1/links/bulk',
        headers: auth(),
        payload: { links: [...links, { url: 'https://x.example/' }] },
      });
      expect(tooMany.statusCode).toBe(400);
    });
  });

  describe('service endpoints', () => {
    it('serves /healthz, /readyz, /metrics and the OpenAPI document', async () => {
      expect((await inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const ready = await inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ database: 'ok', cache: 'ok', mode });
      const metrics = await inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toContain('linkforge_redirects_total');
      const openapi = (await inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Record<string, unknown>;
      }>();
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining([
          '/api/shorten',
          '/api/v1/links',
          '/api/v1/links/{code}',
          '/api/v1/links/bulk',
        ]),
      );
      expect((await inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
    });
  });

  it('the bootstrap key is an admin key', async () => {
    expect(
      (await inject({ method: 'GET', url: '/api/v1/keys', headers: auth(ADMIN_KEY) })).statusCode,
    ).toBe(200);
  });
});
