/** What the redirect path needs to know about a link, cached by code. */
export interface CachedLink {
  readonly id: number;
  readonly workspaceId: number;
  readonly url: string;
  readonly redirectType: 301 | 302 | 307 | 308;
  /** Epoch milliseconds, or null for never. */
  readonly expiresAt: number | null;
  readonly maxClicks: number | null;
  /** Clicks stored in the database when the entry was loaded (seed for the cap counter). */
  readonly clicks: number;
  readonly deleted: boolean;
}

/** `null`: known not to exist (negative cache). `undefined`: not cached. */
export type CacheLookup = CachedLink | null | undefined;

/**
 * Cache-aside store for redirects. Two adapters: in-process LRU (embedded) and Redis with an
 * in-process L1 in front (server mode), invalidated across instances through pub/sub.
 */
export interface LinkCache {
  /** Synchronous when the answer is in process memory: the redirect hot path avoids a tick. */
  get(code: string): CacheLookup | Promise<CacheLookup>;
  set(code: string, link: CachedLink | null): Promise<void>;
  /** Drops the codes here and in every other instance. */
  invalidate(codes: readonly string[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Atomic click counters for links with `maxClicks`: the cap must hold across instances, so it
 * cannot wait for the batched database counter.
 */
export interface ClickCap {
  /**
   * Counts one click if the link is under its cap. `stored` is the database counter, used to
   * seed the shared counter the first time the link is seen. Returns false when exhausted.
   */
  consume(linkId: number, max: number, stored: number): Promise<boolean>;
  /** Clicks counted so far (at least `stored`). */
  count(linkId: number, stored: number): Promise<number>;
}

export interface CacheOptions {
  readonly ttlSeconds: number;
  /** Negative entries (unknown codes) live shorter than positive ones. */
  readonly negativeTtlSeconds: number;
  readonly maxEntries: number;
}
