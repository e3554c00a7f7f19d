import type { CachedLink, ClickCap, LinkCache } from '../infra/cache/link-cache.js';
import type { Database } from '../infra/db/database.js';
import { findByCode } from './link-repo.js';

export type Resolution =
  | { readonly kind: 'redirect'; readonly link: CachedLink }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'gone'; readonly reason: 'deleted' | 'expired' | 'exhausted' };

export interface ResolveStats {
  cacheHit(): void;
  cacheMiss(): void;
}

/**
 * The read side of the redirect: cache-aside lookup (as in the seed), then the rules that make
 * a link answer 410. `count` is false for HEAD and bots: they see the same answer but use up
 * no click.
 */
export class LinkResolver {
  constructor(
    private readonly db: Database,
    private readonly cache: LinkCache,
    private readonly cap: ClickCap,
    private readonly stats?: ResolveStats,
  ) {}

  async resolve(code: string, count: boolean, now = Date.now()): Promise<Resolution> {
    let entry = this.cache.get(code);
    if (entry instanceof Promise) entry = await entry;
    if (entry === undefined) {
      this.stats?.cacheMiss();
      entry = await this.#load(code);
    } else this.stats?.cacheHit();
    if (entry === null) return { kind: 'not_found' };
    if (entry.deleted) return { kind: 'gone', reason: 'deleted' };
    if (entry.expiresAt !== null && entry.expiresAt <= now)
      return { kind: 'gone', reason: 'expired' };
    if (entry.maxClicks !== null) {
      const ok = count
        ? await this.cap.consume(entry.id, entry.maxClicks, entry.clicks)
        : (await this.cap.count(entry.id, entry.clicks)) < entry.maxClicks;
      if (!ok) return { kind: 'gone', reason: 'exhausted' };
    }
    return { kind: 'redirect', link: entry };
  }

  /** The cached view of a code, whatever its state (no rules, no counting). */
  async lookup(code: string): Promise<CachedLink | null> {
    let entry = this.cache.get(code);
    if (entry instanceof Promise) entry = await entry;
    return entry === undefined ? this.#load(code) : entry;
  }

  async #load(code: string): Promise<CachedLink | null> {
    const link = await findByCode(this.db, code);
    const entry: CachedLink | null =
      link === undefined
        ? null
        : {
            id: link.id,
            workspaceId: link.workspaceId,
            url: link.url,
            redirectType: link.redirectType,
            expiresAt: link.expiresAt?.getTime() ?? null,
            maxClicks: link.maxClicks,
            clicks: link.clicks,
            deleted: link.deletedAt !== null,
          };
    await this.cache.set(code, entry);
    return entry;
  }
}
