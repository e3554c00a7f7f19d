import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchPreview } from '@linkforge/preview';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ADMIN_KEY, auth, availableModes, type Mode } from './helpers.js';

const FACEBOOK = 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';

/** A target site on 127.0.0.1 whose pages carry OpenGraph tags. */
async function startSite(): Promise<{ server: Server; base: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.startsWith('/slow')) return; // never answers: the fetch must time out
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'home';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html><head><title>Plain ${name}</title>` +
        `<meta property="og:title" content="Page ${name} &amp; more">` +
        `<meta property="og:description" content="About ${name}">` +
        `<meta property="og:image" content="/img/${name}.png">` +
        `<meta property="og:site_name" content="Example site"></head><body>hi</body></html>`,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, hits };
}

async function until<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(availableModes())('link previews (%s mode)', (mode: Mode) => {
  let built: BuiltApp;
  let database: TestDatabase | undefined;
  let site: Awaited<ReturnType<typeof startSite>>;
  const inject: BuiltApp['app']['inject'] = ((...args: Parameters<BuiltApp['app']['inject']>) =>
    built.app.inject(...args)) as never;

  beforeAll(async () => {
    site = await startSite();
    const port = Number(new URL(site.base).port);
    const env: Record<string, string> = {
      LOG_LEVEL: 'error',
      BOOTSTRAP_API_KEY: ADMIN_KEY,
      PUBLIC_BASE_URL: 'http://sho.rt',
      // Targets must be public addresses; the test site is allowed by the fetcher below.
      REDIRECT_CACHE: 'edge',
    };
    if (mode === 'embedded') env['DATA_DIR'] = ':memory:';
    else {
      database = await createTestDatabase(serviceUrl('DATABASE_URL')!);
      env['DATABASE_URL'] = database.url;
      env['REDIS_URL'] = serviceUrl('REDIS_URL')!;
      env['REDIS_PREFIX'] = `lftest:${randomBytes(4).toString('hex')}:`;
    }
    built = await buildApp(loadConfig(env), {
      // The shipped fetcher with the test site let through: every other rule stays on.
      previewFetcher: (url) =>
        fetchPreview(url.replace('http://site.example', site.base), {
          unsafeAllowAddresses: ['127.0.0.1'],
          unsafeAllowPorts: [port],
          timeoutMs: 1000,
        }),
    });
  });
  afterAll(async () => {
    await built?.app.close();
    await database?.drop();
    await new Promise((r) => site?.server.close(r));
  });

  interface LinkView {
    code: string;
    title: string | null;
    description: string | null;
    image: string | null;
    createdAt: string;
    preview: { status: string; title: string | null; siteName: string | null };
  }

  const create = async (body: Record<string, unknown>) => {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/links',
      payload: body,
      headers: auth(),
    });
    expect(res.statusCode).toBe(201);
    return res.json<LinkView>();
  };
  const get = async (code: string) =>
    (
      await inject({ method: 'GET', url: `/api/v1/links/${code}`, headers: auth() })
    ).json<LinkView>();
  const fetched = (code: string, status = 'done') =>
    until(async () => {
      const l = await get(code);
      return l.preview.status === status ? l : undefined;
    });

  it('fetches the title, description and image after link.created, off the request path', async () => {
    const link = await create({ url: 'http://site.example/alpha' });
    expect(link.preview.status).toBe('none');
    const done = await fetched(link.code);
    expect(done.preview).toMatchObject({ title: 'Page alpha & more', siteName: 'Example site' });
    expect(done.description).toBe('About alpha');
    // Relative image URLs are resolved against the page that was fetched.
    expect(done.image).toBe(`${site.base}/img/alpha.png`);
  });

  it('a stored preview appends link.updated (changed: preview), which purges the cached pages', async () => {
    const seen: string[][] = [];
    const off = built.analytics.bus.on('link.updated', (e) => {
      seen.push([e.data.link.code, ...e.data.changed]);
    });
    try {
      const link = await create({ url: 'http://site.example/purged' });
      await until(async () => (seen.some((s) => s[0] === link.code) ? true : undefined));
      expect(seen.find((s) => s[0] === link.code)).toEqual([link.code, 'preview']);
    } finally {
      off();
    }
  });

  it('lets the owner override title, description and image, and clear an override again', async () => {
    const link = await create({
      url: 'http://site.example/beta',
      description: 'Mine',
      image: 'https://cdn.example/mine.png',
    });
    const done = await fetched(link.code);
    expect(done).toMatchObject({ description: 'Mine', image: 'https://cdn.example/mine.png' });
    const patched = await inject({
      method: 'PATCH',
      url: `/api/v1/links/${link.code}`,
      payload: { title: 'My title', description: null },
      headers: auth(),
    });
    expect(patched.json()).toMatchObject({
      title: 'My title',
      description: 'About beta',
      preview: { title: 'My title' },
    });
    const bad = await inject({
      method: 'PATCH',
      url: `/api/v1/links/${link.code}`,
      payload: { image: 'javascript:alert(1)' },
      headers: auth(),
    });
    expect(bad.statusCode).toBe(400);
  });

  it('fetches again when the URL changes', async () => {
    const link = await create({ url: 'http://site.example/gamma' });
    await fetched(link.code);
    await inject({
      method: 'PATCH',
      url: `/api/v1/links/${link.code}`,
      payload: { url: 'http://site.example/delta' },
      headers: auth(),
    });
    const again = await until(async () => {
      const l = await get(link.code);
      return l.preview.title === 'Page delta & more' ? l : undefined;
    });
    expect(again.description).toBe('About delta');
  });

  it('gives up on a page that never answers and keeps the link working', async () => {
    const link = await create({ url: 'http://site.example/slow' });
    const failed = await until(async () => {
      const l = await get(link.code);
      return l.preview.status === 'failed' || l.preview.status === 'pending'
        ? ((
            await built.runtime.db.query<{ fetch_error: string | null }>(
              'SELECT fetch_error FROM link_previews p JOIN links l ON l.id = p.link_id WHERE l.code = $1',
              [link.code],
            )
          )[0]?.fetch_error ?? undefined)
        : undefined;
    });
    expect(failed).toBe('TIMEOUT');
    const r = await inject({
      method: 'GET',
      url: `/${link.code}`,
      headers: { 'user-agent': FIREFOX },
    });
    expect(r.statusCode).toBe(302);
  });

  describe('share bots and people on GET /{code}', () => {
    it('gives a share bot the OpenGraph page, never cached by shared caches, and a person the redirect', async () => {
      const link = await create({
        url: 'http://site.example/epsilon',
        title: 'Epsilon <b>bold</b>',
      });
      await fetched(link.code);
      const bot = await inject({
        method: 'GET',
        url: `/${link.code}`,
        headers: { 'user-agent': FACEBOOK },
      });
      expect(bot.statusCode).toBe(200);
      expect(bot.headers['content-type']).toMatch(/^text\/html/);
      expect(bot.headers['cache-control']).toMatch(/^private/);
      expect(bot.headers.vary).toBe('User-Agent');
      expect(bot.headers['surrogate-key']).toBeUndefined();
      expect(bot.body).toContain(
        '<meta property="og:title" content="Epsilon &#60;b&#62;bold&#60;/b&#62;"',
      );
      expect(bot.body).toContain(`<meta property="og:url" content="http://sho.rt/${link.code}"`);
      expect(bot.body).toContain('content="About epsilon"');
      const person = await inject({
        method: 'GET',
        url: `/${link.code}`,
        headers: { 'user-agent': FIREFOX },
      });
      expect(person.statusCode).toBe(302);
      expect(person.headers.location).toBe('http://site.example/epsilon');
    });

    it('redirects a search crawler (a bot, but not a share bot) without counting it', async () => {
      const link = await create({ url: 'http://site.example/zeta' });
      const g = await inject({
        method: 'GET',
        url: `/${link.code}`,
        headers: {
          'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
        },
      });
      expect(g.statusCode).toBe(302);
    });
  });

  describe('GET /{code}+', () => {
    it('shows target, title, image and creation date instead of redirecting, cacheable and tagged', async () => {
      const link = await create({ url: 'http://site.example/eta?x=1&y=<2>' });
      await fetched(link.code);
      const res = await inject({
        method: 'GET',
        url: `/${link.code}+`,
        headers: { 'user-agent': FIREFOX },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.body).toContain('http://site.example/eta?x=1&amp;y=%3C2%3E');
      expect(res.body).toContain('Page eta &amp; more');
      expect(res.body).toContain(`src="${site.base}/img/eta.png"`);
      expect(res.body).toContain(`datetime="${link.createdAt}"`);
      expect(res.headers['cache-control']).toMatch(/^public, max-age=60, s-maxage=\d+/);
      const [row] = await built.runtime.db.query<{ id: string; workspace_id: string }>(
        'SELECT id::text, workspace_id::text FROM links WHERE code = $1',
        [link.code],
      );
      expect(res.headers['surrogate-key']).toBe(`link-${row!.id} ws-${row!.workspace_id}`);
    });

    it('answers 404 for an unknown code and 410 for a deleted link, uncached', async () => {
      const missing = await inject({ method: 'GET', url: '/nope-nothing+' });
      expect(missing.statusCode).toBe(404);
      const link = await create({ url: 'http://site.example/theta' });
      await inject({ method: 'DELETE', url: `/api/v1/links/${link.code}`, headers: auth() });
      const gone = await inject({ method: 'GET', url: `/${link.code}+` });
      expect(gone.statusCode).toBe(410);
      expect(gone.headers['cache-control']).toBe('private, no-store');
    });
  });

  it('the shipped fetcher refuses an internal target: the preview fails with BLOCKED_ADDRESS', async () => {
    // A second app with the default fetcher, as deployed (no test allowances).
    const plain = await buildApp(
      loadConfig({
        LOG_LEVEL: 'error',
        BOOTSTRAP_API_KEY: ADMIN_KEY,
        DATA_DIR: ':memory:',
        PUBLIC_BASE_URL: 'http://sho.rt',
      }),
    );
    try {
      const before = site.hits.length;
      const res = await plain.app.inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { url: `${site.base}/internal` },
        headers: auth(),
      });
      expect(res.statusCode).toBe(201);
      const code = res.json<{ code: string }>().code;
      const error = await until(async () => {
        const rows = await plain.runtime.db.query<{ fetch_status: string; fetch_error: string }>(
          `SELECT fetch_status, fetch_error FROM link_previews p JOIN links l ON l.id = p.link_id
            WHERE l.code = $1`,
          [code],
        );
        return rows[0]?.fetch_status === 'failed' ? rows[0].fetch_error : undefined;
      });
      expect(['BLOCKED_PORT', 'BLOCKED_ADDRESS']).toContain(error);
      expect(site.hits.length).toBe(before);
    } finally {
      await plain.app.close();
    }
  });
});
