import { LRUCache } from 'lru-cache';
import type { CacheLookup, CacheOptions, CachedLink, ClickCap, LinkCache } from './link-cache.js';

const MISSING = Symbol('missing');
type Entry = CachedLink | typeof MISSING;

/** Embedded default: one process, so an LRU in memory is the whole cache. */
export class MemoryLinkCache implements LinkCache {
  readonly #lru: LRUCache<string, Entry>;
  readonly #options: CacheOptions;

  constructor(options: CacheOptions) {
    this.#options = options;
    this.#lru = new LRUCache<string, Entry>({
      max: options.maxEntries,
      ttl: options.ttlSeconds * 1000,
    });
  }

  get(code: string): CacheLookup {
    const v = this.#lru.get(code);
    return v === MISSING ? null : v;
  }

  async set(code: string, link: CachedLink | null): Promise<void> {
    if (link === null)
      this.#lru.set(code, MISSING, { ttl: this.#options.negativeTtlSeconds * 1000 });
    else this.#lru.set(code, link);
  }

  async invalidate(codes: readonly string[]): Promise<void> {
    for (const c of codes) this.#lru.delete(c);
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {
    this.#lru.clear();
  }
}

export class MemoryClickCap implements ClickCap {
  readonly #counts = new Map<number, number>();

  async consume(linkId: number, max: number, stored: number): Promise<boolean> {
    const n = Math.max(this.#counts.get(linkId) ?? 0, stored);
    if (n >= max) return false;
    this.#counts.set(linkId, n + 1);
    return true;
  }

  async count(linkId: number, stored: number): Promise<number> {
    return Math.max(this.#counts.get(linkId) ?? 0, stored);
  }
}
