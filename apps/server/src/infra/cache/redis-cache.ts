import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { CacheLookup, CacheOptions, CachedLink, ClickCap, LinkCache } from './link-cache.js';

const MISSING = Symbol('missing');
type Entry = CachedLink | typeof MISSING;

export interface RedisCacheOptions extends CacheOptions {
  /** Key prefix, so several installations (or test runs) can share one Redis. */
  readonly prefix: string;
  /** Lifetime of the in-process L1 entries: a safety net should a pub/sub message be lost. */
  readonly l1TtlMs: number;
}

/**
 * Server mode: Redis is the shared cache; a small in-process L1 answers hot codes without a
 * round trip. Invalidations go to Redis (DEL) and to every instance's L1 (PUBLISH), and are
 * repeated once a moment later to close the cache-aside race where a reader loads the old row
 * just before the writer commits and stores it just after the first DEL.
 */
export class RedisLinkCache implements LinkCache {
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #l1: LRUCache<string, Entry>;
  readonly #options: RedisCacheOptions;
  readonly #channel: string;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(redis: Redis, sub: Redis, options: RedisCacheOptions) {
    this.#redis = redis;
    this.#sub = sub;
    this.#options = options;
    this.#channel = `${options.prefix}invalidate`;
    this.#l1 = new LRUCache<string, Entry>({ max: options.maxEntries, ttl: options.l1TtlMs });
  }

  static async create(redis: Redis, options: RedisCacheOptions): Promise<RedisLinkCache> {
    const sub = redis.duplicate();
    const cache = new RedisLinkCache(redis, sub, options);
    sub.on('message', (channel: string, message: string) => {
      if (channel !== cache.#channel) return;
      try {
        for (const code of JSON.parse(message) as string[]) cache.#l1.delete(code);
      } catch {
        cache.#l1.clear();
      }
    });
    // If the subscription drops, messages may have been missed: start L1 afresh.
    sub.on('ready', () => cache.#l1.clear());
    await sub.subscribe(cache.#channel);
    return cache;
  }

  #key(code: string): string {
    return `${this.#options.prefix}link:${code}`;
  }

  get(code: string): CacheLookup | Promise<CacheLookup> {
    const hit = this.#l1.get(code);
    if (hit !== undefined) return hit === MISSING ? null : hit;
    return this.#redis.get(this.#key(code)).then((raw) => {
      if (raw === null) return undefined;
      const value = JSON.parse(raw) as CachedLink | null;
      this.#l1.set(code, value ?? MISSING);
      return value;
    });
  }

  async set(code: string, link: CachedLink | null): Promise<void> {
    const ttl = link === null ? this.#options.negativeTtlSeconds : this.#options.ttlSeconds;
    this.#l1.set(code, link ?? MISSING);
    await this.#redis.set(this.#key(code), JSON.stringify(link), 'EX', ttl);
  }

  async invalidate(codes: readonly string[]): Promise<void> {
    if (codes.length === 0) return;
    await this.#invalidateNow(codes);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#invalidateNow(codes).catch(() => undefined);
    }, 500);
    timer.unref();
    this.#timers.add(timer);
  }

  async #invalidateNow(codes: readonly string[]): Promise<void> {
    for (const c of codes) this.#l1.delete(c);
    await this.#redis
      .multi()
      .del(...codes.map((c) => this.#key(c)))
      .publish(this.#channel, JSON.stringify(codes))
      .exec();
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#sub.disconnect();
  }
}

// KEYS[1] counter; ARGV max, stored. Seeds the counter from the database value the first time,
// then counts only while under the cap, so the counter never passes `max`.
const CONSUME = `
local n = tonumber(redis.call('GET', KEYS[1]) or '-1')
local stored = tonumber(ARGV[2])
if n < stored then n = stored end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], n, 'EX', 2592000)
  return 0
end
redis.call('SET', KEYS[1], n + 1, 'EX', 2592000)
return 1`;

export class RedisClickCap implements ClickCap {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async consume(linkId: number, max: number, stored: number): Promise<boolean> {
    const r = await this.redis.eval(CONSUME, 1, `${this.prefix}cap:${linkId}`, max, stored);
    return r === 1;
  }

  async count(linkId: number, stored: number): Promise<number> {
    const raw = await this.redis.get(`${this.prefix}cap:${linkId}`);
    return Math.max(raw === null ? 0 : Number(raw), stored);
  }
}
