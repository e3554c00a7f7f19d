import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, auth, availableModes, startService, type TestService } from './helpers.js';

type Reply = Awaited<ReturnType<TestService['built']['app']['inject']>>;

/** `name=value` of the session cookie a reply sets. */
function cookieOf(res: Reply): string {
  const raw = res.headers['set-cookie'];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) throw new Error('no Set-Cookie');
  return first.split(';')[0]!;
}

describe.each(availableModes())('dashboard sessions (%s mode)', (mode) => {
  let svc: TestService;
  const inject: TestService['built']['app']['inject'] = ((
    ...args: Parameters<TestService['built']['app']['inject']>
  ) => svc.built.app.inject(...args)) as never;

  beforeAll(async () => {
    // Behind a TLS-terminating proxy, X-Forwarded-Proto tells the app it is served over https.
    svc = await startService(mode, { TRUST_PROXY: 'true', SESSION_TTL_SECONDS: '3600' });
  });
  afterAll(async () => {
    await svc?.close();
  });

  async function signIn(key = ADMIN_KEY, headers: Record<string, string> = {}) {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { key },
      headers: { host: 'dash.example', ...headers },
    });
    expect(res.statusCode, res.body).toBe(201);
    return { cookie: cookieOf(res), csrf: res.json<{ csrfToken: string }>().csrfToken, res };
  }

  async function newKey(role: 'admin' | 'member', name = `k-${role}`) {
    const res = await inject({
      method: 'POST',
      url: '/api/v1/keys',
      payload: { name, role },
      headers: auth(),
    });
    return res.json<{ key: string; record: { id: number } }>();
  }

  describe('POST /api/v1/session', () => {
    it('with a valid key, sets an HttpOnly SameSite=Strict cookie and answers the CSRF token', async () => {
      const { res, csrf } = await signIn();
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(/^lf_session=[A-Za-z0-9_-]{43}; /);
      expect(setCookie).toContain('HttpOnly');
      expect(setCookie).toContain('SameSite=Strict');
      expect(setCookie).toContain('Path=/');
      expect(setCookie).toContain('Max-Age=3600');
      expect(setCookie).not.toContain('Secure');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(res.json()).toMatchObject({
        keyName: 'bootstrap',
        role: 'admin',
        shortBase: 'http://sho.rt',
      });
    });

    it('over https, uses a __Host- cookie marked Secure', async () => {
      const { res } = await signIn(ADMIN_KEY, { 'x-forwarded-proto': 'https' });
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(/^__Host-lf_session=/);
      expect(setCookie).toContain('; Secure');
    });

    it('stores only a hash of the session token', async () => {
      const { cookie } = await signIn();
      const token = cookie.split('=')[1]!;
      const rows = await svc.built.runtime.db.query<{ token_hash: Uint8Array }>(
        'SELECT token_hash FROM dashboard_sessions',
      );
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(Buffer.from(r.token_hash).toString('utf8')).not.toContain(token);
        expect(Buffer.from(r.token_hash).length).toBe(32);
      }
    });

    it('with an unknown key, answers 401 and sets no cookie', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { key: 'lf_not-a-real-key' },
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('refuses a sign-in posted from another origin with 403', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { key: ADMIN_KEY },
        headers: { host: 'dash.example', origin: 'https://evil.example' },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'csrf_failed' });
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('refuses a body without a key, or with unknown fields, with 400', async () => {
      for (const payload of [{}, { key: '' }, { key: ADMIN_KEY, extra: 1 }]) {
        const res = await inject({ method: 'POST', url: '/api/v1/session', payload });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      }
    });
  });

  describe('GET /api/v1/session', () => {
    it('answers the session and the same CSRF token for the cookie', async () => {
      const { cookie, csrf } = await signIn();
      const res = await inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ csrfToken: csrf, role: 'admin' });
    });

    it('answers 401 without a cookie or with a made-up one', async () => {
      expect((await inject({ method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
      const res = await inject({
        method: 'GET',
        url: '/api/v1/session',
        headers: { cookie: `lf_session=${'A'.repeat(43)}` },
      });
      expect(res.statusCode).toBe(401);
    });
  });

  describe('cookie-authenticated API calls', () => {
    it('reads with the cookie alone', async () => {
      const { cookie } = await signIn();
      const res = await inject({ method: 'GET', url: '/api/v1/links', headers: { cookie } });
      expect(res.statusCode).toBe(200);
    });

    it('refuses a change without the CSRF token with 403 and changes nothing', async () => {
      const { cookie } = await signIn();
      const alias = `csrf-none-${mode}`;
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { url: 'https://example.com/', alias },
        headers: { cookie },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'csrf_failed' });
      const get = await inject({ method: 'GET', url: `/api/v1/links/${alias}`, headers: auth() });
      expect(get.statusCode).toBe(404);
    });

    it("refuses another session's CSRF token", async () => {
      const a = await signIn();
      const b = await signIn();
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { url: 'https://example.com/' },
        headers: { cookie: a.cookie, 'x-csrf-token': b.csrf },
      });
      expect(res.statusCode).toBe(403);
    });

    it('refuses a change with the right token but a foreign Origin', async () => {
      const { cookie, csrf } = await signIn();
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { url: 'https://example.com/' },
        headers: {
          cookie,
          'x-csrf-token': csrf,
          host: 'dash.example',
          origin: 'https://evil.example',
        },
      });
      expect(res.statusCode).toBe(403);
    });

    it("makes changes with the CSRF token, from the same origin, in the key's workspace", async () => {
      const { cookie, csrf } = await signIn();
      const alias = `csrf-ok-${mode}`;
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { url: 'https://example.com/ok', alias },
        headers: {
          cookie,
          'x-csrf-token': csrf,
          host: 'dash.example',
          origin: 'http://dash.example',
        },
      });
      expect(res.statusCode).toBe(201);
      const get = await inject({ method: 'GET', url: `/api/v1/links/${alias}`, headers: auth() });
      expect(get.json()).toMatchObject({ url: 'https://example.com/ok' });
      const del = await inject({
        method: 'DELETE',
        url: `/api/v1/links/${alias}`,
        headers: { cookie, 'x-csrf-token': csrf },
      });
      expect(del.statusCode).toBe(204);
    });

    it('behind a proxy, accepts the forwarded host or the PUBLIC_BASE_URL host as our origin', async () => {
      const { cookie, csrf } = await signIn();
      const post = (headers: Record<string, string>) =>
        inject({
          method: 'POST',
          url: '/api/v1/links',
          payload: { url: 'https://example.com/proxied' },
          headers: { cookie, 'x-csrf-token': csrf, ...headers },
        });
      const forwarded = await post({
        host: '10.0.0.5:3000',
        'x-forwarded-host': 'links.example',
        origin: 'https://links.example',
      });
      expect(forwarded.statusCode).toBe(201);
      const rewritten = await post({ host: '10.0.0.5:3000', origin: 'http://sho.rt' });
      expect(rewritten.statusCode).toBe(201);
      const foreign = await post({ host: '10.0.0.5:3000', origin: 'http://other.example' });
      expect(foreign.statusCode).toBe(403);
    });

    it('a Bearer key still works and needs no CSRF token, cookie or not', async () => {
      const { cookie } = await signIn();
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { url: 'https://example.com/bearer' },
        headers: { ...auth(), cookie },
      });
      expect(res.statusCode).toBe(201);
    });

    it('a member key session may manage links but not keys (403)', async () => {
      const { key } = await newKey('member');
      const { cookie } = await signIn(key);
      expect(
        (await inject({ method: 'GET', url: '/api/v1/links', headers: { cookie } })).statusCode,
      ).toBe(200);
      const keys = await inject({ method: 'GET', url: '/api/v1/keys', headers: { cookie } });
      expect(keys.statusCode).toBe(403);
    });
  });

  describe('end of a session', () => {
    it('DELETE /api/v1/session signs out: the cookie is cleared and stops working', async () => {
      const { cookie, csrf } = await signIn();
      const res = await inject({
        method: 'DELETE',
        url: '/api/v1/session',
        headers: { cookie, 'x-csrf-token': csrf },
      });
      expect(res.statusCode).toBe(204);
      expect(String(res.headers['set-cookie'])).toContain('lf_session=; Path=/; Max-Age=0');
      const after = await inject({ method: 'GET', url: '/api/v1/links', headers: { cookie } });
      expect(after.statusCode).toBe(401);
    });

    it('signing a live session out needs its CSRF token', async () => {
      const { cookie } = await signIn();
      const res = await inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie } });
      expect(res.statusCode).toBe(403);
      const still = await inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } });
      expect(still.statusCode).toBe(200);
    });

    it('revoking the key ends its sessions at once', async () => {
      const { key, record } = await newKey('admin', 'to-revoke');
      const { cookie } = await signIn(key);
      const revoke = await inject({
        method: 'DELETE',
        url: `/api/v1/keys/${record.id}`,
        headers: auth(),
      });
      expect(revoke.statusCode).toBe(204);
      const res = await inject({ method: 'GET', url: '/api/v1/links', headers: { cookie } });
      expect(res.statusCode).toBe(401);
      const again = await inject({ method: 'POST', url: '/api/v1/session', payload: { key } });
      expect(again.statusCode).toBe(401);
    });

    it('an expired session is refused with 401', async () => {
      const { cookie } = await signIn();
      await svc.built.runtime.db.query(
        `UPDATE dashboard_sessions SET expires_at = now() - interval '1 second'`,
      );
      const res = await inject({ method: 'GET', url: '/api/v1/links', headers: { cookie } });
      expect(res.statusCode).toBe(401);
      expect(
        (await inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } })).statusCode,
      ).toBe(401);
    });
  });
});

describe('sign-in attempts', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('embedded', { RATE_LIMIT_ANONYMOUS_MAX: '3' });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('count against the per-IP limit: guessing keys is throttled with 429', async () => {
    const attempt = (key: string) =>
      svc.built.app.inject({ method: 'POST', url: '/api/v1/session', payload: { key } });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await attempt(`lf_guess_${i}`)).statusCode);
    expect(codes).toEqual([401, 401, 401]);
    const limited = await attempt(ADMIN_KEY);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['set-cookie']).toBeUndefined();
  });
});
