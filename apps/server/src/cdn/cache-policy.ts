import type { CachedLink } from '../infra/cache/link-cache.js';

/**
 * How redirects may be cached.
 * - `origin` (default): `private, no-store` — every click reaches the service and is counted.
 * - `edge`: a CDN in front caches redirects (surrogate TTL, stale-while-revalidate, purged by
 *   key on every change); clicks are then counted from the edge's access log.
 */
export type RedirectCacheMode = 'origin' | 'edge';

export interface EdgePolicy {
  readonly mode: RedirectCacheMode;
  /** How long the edge may keep a redirect (purges end it sooner). */
  readonly ttlSeconds: number;
  /** How long the edge may serve a stale copy while it revalidates in the background. */
  readonly staleSeconds: number;
}

export const NO_STORE = 'private, no-store';

/** Surrogate keys of a link: purge by link, or everything of a workspace at once. */
export function surrogateKeys(link: Pick<CachedLink, 'id' | 'workspaceId'>): string[] {
  return [`link-${link.id}`, `ws-${link.workspaceId}`];
}

/**
 * Whether a link's redirect may be cached at the edge. Never when the answer can change
 * without an edit: an expiry (time), a click cap (every click), and — should links gain them —
 * device targeting or passwords. Those are always answered and counted by the origin.
 */
export function edgeCacheable(link: CachedLink): boolean {
  return link.expiresAt === null && link.maxClicks === null;
}

/** Headers of a redirect under the policy; `counted` says whether the origin counted this click. */
export function redirectCacheHeaders(link: CachedLink, policy: EdgePolicy): Record<string, string> {
  if (policy.mode === 'origin' || !edgeCacheable(link)) return { 'cache-control': NO_STORE };
  const keys = surrogateKeys(link);
  return {
    // Browsers must not keep it (max-age=0): each click has to reach the edge, where it is logged.
    'cache-control': `public, max-age=0, s-maxage=${policy.ttlSeconds}, stale-while-revalidate=${policy.staleSeconds}`,
    'surrogate-control': `max-age=${policy.ttlSeconds}, stale-while-revalidate=${policy.staleSeconds}`,
    'surrogate-key': keys.join(' '), // Varnish xkey, Fastly
    'cache-tag': keys.join(','), // Cloudflare
  };
}

/** Header that tells the edge's log reader the origin already counted this click. */
export const COUNTED_HEADER = 'x-linkforge-counted';
