import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isbot } from 'isbot';
import {
  COUNTED_HEADER,
  edgeCacheable,
  redirectCacheHeaders,
  type EdgePolicy,
} from '../cdn/cache-policy.js';
import type { Metrics } from '../http/metrics.js';
import type { CachedLink } from '../infra/cache/link-cache.js';
import type { ClickSink } from './click-buffer.js';
import type { LinkResolver } from './resolve-link.js';

export interface RedirectRoutesOptions {
  readonly resolver: LinkResolver;
  readonly clicks: ClickSink;
  readonly metrics: Metrics;
  readonly policy: EdgePolicy;
  /** Preview pages (the previews feature): `/{code}+`, and the OpenGraph page for share bots. */
  readonly previews?: PreviewPages;
}

export interface PreviewPages {
  /** Whether a user agent `isbot` flagged is a link-preview bot that gets the OpenGraph page. */
  isShareBot(userAgent: string | undefined): boolean;
  /** The OpenGraph page of a live link, for a share bot. */
  botPage(link: CachedLink, code: string, reply: FastifyReply): Promise<FastifyReply>;
  /** `GET /{code}+`: the page that shows where a link goes instead of going there. */
  infoPage(code: string, reply: FastifyReply): Promise<FastifyReply>;
}

const CODE = /^[A-Za-z0-9_-]{1,64}$/;

function page(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title} · Linkforge</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#1f2937}h1{font-size:1.5rem}</style></head><body><h1>${title}</h1><p>${message}</p></body></html>`;
}

const NOT_FOUND_PAGE = page(
  'Link not found',
  'There is no short link at this address. Check that it was copied in full.',
);
const GONE_PAGE: Record<string, string> = {
  deleted: page('Link removed', 'This short link was deleted by its owner.'),
  expired: page('Link expired', 'This short link has expired.'),
  exhausted: page('Link no longer available', 'This short link has reached its click limit.'),
};

/**
 * `GET /{code}`: the hot path. It answers from the cache, hands the click to the sink (never
 * waiting on a database write) and redirects with the link's own status. HEAD answers the
 * same without counting; bots are redirected but not counted.
 */
export async function redirectRoutes(
  app: FastifyInstance,
  opts: RedirectRoutesOptions,
): Promise<void> {
  const { resolver, clicks, metrics, policy, previews } = opts;
  const edge = policy.mode === 'edge';

  const handler = async (
    request: FastifyRequest<{ Params: { code: string } }>,
    reply: FastifyReply,
  ) => {
    const { code } = request.params;
    const gone = (status: 404 | 410, html: string, outcome: string) => {
      metrics.redirects.inc({ outcome });
      return reply
        .code(status)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(html);
    };
    // `/{code}+` (43 is '+'): show where the link goes instead of redirecting.
    if (previews !== undefined && code.charCodeAt(code.length - 1) === 43) {
      return previews.infoPage(code.slice(0, -1), reply);
    }
    if (!CODE.test(code)) return gone(404, NOT_FOUND_PAGE, 'not_found');
    const userAgent = request.headers['user-agent'];
    const bot = isbot(userAgent);
    const count = request.method === 'GET' && !bot;
    const r = await resolver.resolve(code, count);
    if (r.kind === 'not_found') return gone(404, NOT_FOUND_PAGE, 'not_found');
    if (r.kind === 'gone') return gone(410, GONE_PAGE[r.reason]!, r.reason);
    // Only user agents the bot pattern flagged pay for the second check.
    if (bot && previews !== undefined && previews.isShareBot(userAgent)) {
      metrics.redirects.inc({ outcome: 'preview_page' });
      return previews.botPage(r.link, code, reply);
    }
    // In edge mode a cacheable redirect is counted from the edge's log, not here.
    const counted = count && !(edge && edgeCacheable(r.link));
    if (counted) {
      const referrer = request.headers.referer;
      clicks.record({
        linkId: r.link.id,
        code,
        at: Date.now(),
        ip: request.ip,
        userAgent,
        referrer,
      });
      if (edge) reply.header(COUNTED_HEADER, '1');
    }
    metrics.redirects.inc({ outcome: counted ? 'redirect' : 'redirect_uncounted' });
    return reply
      .code(r.link.redirectType)
      .header('location', r.link.url)
      .headers(redirectCacheHeaders(r.link, policy))
      .send();
  };

  app.get('/:code', { schema: { hide: true } }, handler);
}
