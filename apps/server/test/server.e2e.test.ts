import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { follow, runCli, shorten, startProcess } from './process.js';

const ADMIN = `e2e-admin-${randomBytes(12).toString('hex')}`;

describe('linkforge serve, embedded default (real process)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'linkforge-e2e-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('keeps links across a restart, and a SIGTERM flushes buffered clicks so none is lost', async () => {
    // A flush interval far beyond the test: only the shutdown flush can write the clicks.
    const env = { DATA_DIR: dir, CLICK_FLUSH_MS: '60000', BOOTSTRAP_API_KEY: ADMIN };
    const first = await startProcess(env);
    const { code, shortUrl } = await shorten(first.base, 'https://persist.example/page?a=1');
    for (let i = 0; i < 3; i++) expect((await follow(shortUrl)).status).toBe(302);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startProcess(env);
    try {
      const res = await fetch(`${second.base}/api/v1/links/${code}`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        url: 'https://persist.example/page?a=1',
        clicks: 3,
      });
      expect((await follow(`${second.base}/${code}`)).headers.get('location')).toBe(
        'https://persist.example/page?a=1',
      );
    } finally {
      await second.stop();
    }
  });

  it('refuses to open a DATA_DIR another process is using', async () => {
    const running = await startProcess({ DATA_DIR: dir });
    try {
      const r = await runCli(['migrate'], { DATA_DIR: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/DATA_DIR .* is in use by process \d+/);
    } finally {
      await running.stop();
    }
  });

  it('CLI: migrate, keys create and shorten work on the embedded database', async () => {
    const env = { DATA_DIR: dir, PUBLIC_BASE_URL: 'http://127.0.0.1:3000' };
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/schema up to date|applied/);
    const keys = await runCli(['keys', 'create', '--name', 'ops'], env);
    expect(keys.code).toBe(0);
    expect(keys.stdout.trim()).toMatch(/^lf_[0-9A-Za-z]{43}$/);
    const short = await runCli(['shorten', 'https://cli.example/x'], env);
    expect(short.code).toBe(0);
    expect(short.stdout.trim()).toMatch(/^http:\/\/127\.0\.0\.1:3000\/[0-9A-Za-z]{6}$/);
    const bad = await runCli(['shorten', 'javascript:alert(1)'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Only http and https');
  });

  it('fails at start-up with a message naming a bad variable', async () => {
    const r = await runCli(['serve'], { PORT: 'eighty', DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PORT');
    const r2 = await runCli(['serve'], { REDIS_URL: 'http://nope', DATA_DIR: dir });
    expect(r2.stderr).toContain('REDIS_URL');
  });
});

const databaseUrl = serviceUrl('DATABASE_URL');
const redisUrl = serviceUrl('REDIS_URL');

describe.skipIf(!databaseUrl || !redisUrl)(
  'two instances sharing PostgreSQL and Redis (real processes)',
  () => {
    let db: TestDatabase;
    let a: Awaited<ReturnType<typeof startProcess>>;
    let b: Awaited<ReturnType<typeof startProcess>>;
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

    beforeAll(async () => {
      db = await createTestDatabase(databaseUrl!);
      const env = {
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl!,
        REDIS_PREFIX: `lfe2e:${randomBytes(4).toString('hex')}:`,
        BOOTSTRAP_API_KEY: ADMIN,
        CLICK_FLUSH_MS: '100',
      };
      // Started together: both run migrations at once.
      [a, b] = await Promise.all([startProcess(env), startProcess(env)]);
    });
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await db?.drop();
    });

    it('gives unique codes when both create at the same time', async () => {
      const made = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          shorten(i % 2 ? a.base : b.base, `https://u.example/${i}`, ADMIN),
        ),
      );
      expect(new Set(made.map((m) => m.code)).size).toBe(100);
    });

    it('a change made through one instance is seen by the other at once', async () => {
      const { code } = await shorten(a.base, 'https://before.example/', ADMIN);
      // b caches the link (Redis and its in-process L1).
      expect((await follow(`${b.base}/${code}`)).headers.get('location')).toBe(
        'https://before.example/',
      );
      expect((await follow(`${b.base}/${code}`)).headers.get('location')).toBe(
        'https://before.example/',
      );
      const patch = await fetch(`${a.base}/api/v1/links/${code}`, {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ url: 'https://after.example/' }),
      });
      expect(patch.status).toBe(200);
      expect((await follow(`${b.base}/${code}`)).headers.get('location')).toBe(
        'https://after.example/',
      );
      const del = await fetch(`${a.base}/api/v1/links/${code}`, {
        method: 'DELETE',
        headers: { authorization: auth.authorization },
      });
      expect(del.status).toBe(204);
      expect((await follow(`${b.base}/${code}`)).status).toBe(410);
    });

    it('a key revoked through one instance stops working on the other at once, although keys are cached', async () => {
      const made = await fetch(`${a.base}/api/v1/keys`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ name: 'short-lived' }),
      });
      expect(made.status).toBe(201);
      const {
        key,
        record: { id },
      } = (await made.json()) as { key: string; record: { id: number } };
      const list = (base: string) =>
        fetch(`${base}/api/v1/links`, { headers: { authorization: `Bearer ${key}` } });
      // Both instances verify the key and cache it (API_KEY_CACHE_SECONDS defaults to 60).
      expect((await list(a.base)).status).toBe(200);
      expect((await list(b.base)).status).toBe(200);
      const revoke = await fetch(`${a.base}/api/v1/keys/${id}`, {
        method: 'DELETE',
        headers: { authorization: auth.authorization },
      });
      expect(revoke.status).toBe(204);
      expect((await list(a.base)).status).toBe(401);
      // The revocation travels by Redis pub/sub: allow it a moment, far below the cache TTL.
      let status = 0;
      for (let i = 0; i < 20 && status !== 401; i++) {
        status = (await list(b.base)).status;
        if (status !== 401) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(401);
    });

    it('enforces maxClicks across instances', async () => {
      const res = await fetch(`${a.base}/api/v1/links`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ url: 'https://cap.example/', maxClicks: 5 }),
      });
      const { code } = (await res.json()) as { code: string };
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          follow(`${i % 2 ? a.base : b.base}/${code}`).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 302)).toHaveLength(5);
      expect(statuses.filter((s) => s === 410)).toHaveLength(15);
    });

    it('answers 429 with RateLimit headers once an anonymous client passes its limit', async () => {
      // Limits are shared through Redis: requests spread over both instances count together.
      const env = {
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl!,
        REDIS_PREFIX: `lfrl:${randomBytes(4).toString('hex')}:`,
        RATE_LIMIT_ANONYMOUS_MAX: '4',
      };
      const [c, d] = await Promise.all([startProcess(env), startProcess(env)]);
      try {
        const statuses: number[] = [];
        let last: Response | undefined;
        for (let i = 0; i < 6; i++) {
          last = await fetch(`${i % 2 ? c.base : d.base}/api/shorten`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ longUrl: `https://rl.example/${i}` }),
          });
          statuses.push(last.status);
        }
        expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
        expect(last!.headers.get('ratelimit-limit')).toBe('4');
        expect(last!.headers.get('ratelimit-remaining')).toBe('0');
        expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(last!.headers.get('content-type')).toContain('application/problem+json');
      } finally {
        await Promise.all([c.stop(), d.stop()]);
      }
    });
  },
);
