import { randomBytes } from 'node:crypto';
import { serviceUrl } from '@linkforge/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { CachedLink, ClickCap, LinkCache } from '../../src/infra/cache/link-cache.js';
import { MemoryClickCap, MemoryLinkCache } from '../../src/infra/cache/memory-cache.js';
import { RedisClickCap, RedisLinkCache } from '../../src/infra/cache/redis-cache.js';
import {
  memoryRateLimiter,
  redisRateLimiter,
  type RateLimiter,
} from '../../src/infra/ratelimit/rate-limiter.js';

const redisUrl = serviceUrl('REDIS_URL');
const options = { ttlSeconds: 60, negativeTtlSeconds: 5, maxEntries: 1000 };
const clients: Redis[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
  for (const r of clients) {
    const keys = await r.keys('lfport:*');
    if (keys.length > 0) await r.del(...keys);
    r.disconnect();
  }
});

function redis(): Redis {
  const r = new Redis(redisUrl!);
  clients.push(r);
  return r;
}
const prefix = () => `lfport:${randomBytes(4).toString('hex')}:`;

const link = (id: number, url: string): CachedLink => ({
  id,
  workspaceId: 1,
  url,
  redirectType: 302,
  expiresAt: null,
  maxClicks: null,
  clicks: 0,
  deleted: false,
});

interface Factory {
  name: string;
  /** Two caches that behave as two instances of one installation. */
  pair(): Promise<[LinkCache, LinkCache]>;
  cap(): ClickCap;
  limiter(): RateLimiter;
}

const factories: Factory[] = [
  {
    name: 'in-process',
    async pair() {
      const c = new MemoryLinkCache(options);
      return [c, c];
    },
    cap: () => new MemoryClickCap(),
    limiter: () => memoryRateLimiter({ windowSeconds: 60 }),
  },
];
if (redisUrl !== undefined) {
  factories.push({
    name: 'Redis',
    async pair() {
      const p = prefix();
      const a = await RedisLinkCache.create(redis(), { ...options, prefix: p, l1TtlMs: 60_000 });
      const b = await RedisLinkCache.create(redis(), { ...options, prefix: p, l1TtlMs: 60_000 });
      closers.push(
        () => a.close(),
        () => b.close(),
      );
      return [a, b];
    },
    cap: () => new RedisClickCap(redis(), prefix()),
    limiter: () => redisRateLimiter(redis(), prefix(), { windowSeconds: 60 }),
  });
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe.each(factories)('LinkCache contract ($name)', (f) => {
  it('returns undefined when not cached, the link when cached, null when known missing', async () => {
    const [cache] = await f.pair();
    expect(await cache.get('abc')).toBeUndefined();
    await cache.set('abc', link(1, 'https://a.example/'));
    expect(await cache.get('abc')).toEqual(link(1, 'https://a.example/'));
    await cache.set('nope', null);
    expect(await cache.get('nope')).toBeNull();
  });

  it('an entry set by one instance is seen by the other', async () => {
    const [a, b] = await f.pair();
    await a.set('shared', link(2, 'https://s.example/'));
    expect(await b.get('shared')).toEqual(link(2, 'https://s.example/'));
  });

  it('an invalidation on one instance drops the entry from the other, including its L1', async () => {
    const [a, b] = await f.pair();
    await a.set('code1', link(3, 'https://old.example/'));
    expect(await b.get('code1')).toMatchObject({ url: 'https://old.example/' }); // now in b's L1
    await a.invalidate(['code1']);
    await settle();
    expect(await b.get('code1')).toBeUndefined();
  });
});

describe.each(factories)('ClickCap contract ($name)', (f) => {
  it('lets exactly max clicks through when 50 arrive at once', async () => {
    const cap = f.cap();
    const results = await Promise.all(Array.from({ length: 50 }, () => cap.consume(7, 10, 0)));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await cap.count(7, 0)).toBe(10);
  });

  it('starts from the stored database count', async () => {
    const cap = f.cap();
    expect(await cap.consume(8, 5, 4)).toBe(true);
    expect(await cap.consume(8, 5, 4)).toBe(false);
  });
});

describe.each(factories)('RateLimiter contract ($name)', (f) => {
  it('allows `limit` requests per window, then refuses with the time to wait', async () => {
    const limiter = f.limiter();
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.consume('ip:1.2.3.4', 3));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3]!.resetSeconds).toBeGreaterThan(0);
    expect(decisions[3]!.resetSeconds).toBeLessThanOrEqual(60);
  });

  it('counts keys separately', async () => {
    const limiter = f.limiter();
    await limiter.consume('key:1', 1);
    expect((await limiter.consume('key:1', 1)).allowed).toBe(false);
    expect((await limiter.consume('key:2', 1)).allowed).toBe(true);
  });
});
