import { isLinkPreviewBot, renderPreviewPage } from '@linkforge/preview';
import type { FastifyReply } from 'fastify';
import { NO_STORE, surrogateKeys, type EdgePolicy } from '../cdn/cache-policy.js';
import type { Database } from '../infra/db/database.js';
import type { CachedLink } from '../infra/cache/link-cache.js';
import type { PreviewPages } from '../links/redirect-routes.js';
import { effectivePreview } from './link-media.js';
import * as repo from './preview-repo.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
const httpUrl = (s: string | null): string | null =>
  s !== null && /^https?:\/\//i.test(s) ? s : null;

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:10vh auto;padding:0 1rem;color:#1f2937}' +
  'h1{font-size:1.4rem;margin:.5rem 0}img{max-width:100%;border-radius:.5rem}' +
  '.target{word-break:break-all;background:#f3f4f6;padding:.75rem;border-radius:.5rem}' +
  '.muted{color:#6b7280;font-size:.9rem}a.go{display:inline-block;margin-top:1rem;padding:.5rem 1rem;' +
  'background:#1d4ed8;color:#fff;border-radius:.375rem;text-decoration:none}';

function shell(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)} · Linkforge</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** The `/{code}+` page: where the link goes, its title, image and creation date. */
export function renderInfoPage(input: {
  shortUrl: string;
  target: string;
  title: string | null;
  description: string | null;
  image: string | null;
  createdAt: Date;
}): string {
  const image = httpUrl(input.image);
  const heading = input.title ?? 'Where this link goes';
  return shell(
    heading,
    [
      `<p class="muted">${esc(input.shortUrl)} leads to</p>`,
      `<p class="target">${esc(input.target)}</p>`,
      image !== null ? `<img src="${esc(image)}" alt="" referrerpolicy="no-referrer">` : '',
      `<h1>${esc(heading)}</h1>`,
      input.description !== null ? `<p>${esc(input.description)}</p>` : '',
      `<p class="muted">Created <time datetime="${input.createdAt.toISOString()}">${esc(
        input.createdAt.toUTCString(),
      )}</time></p>`,
      `<a class="go" href="${esc(input.target)}" rel="noopener noreferrer nofollow">Continue to the destination</a>`,
    ].join(''),
  );
}

const NOT_FOUND = shell(
  'Link not found',
  '<h1>Link not found</h1><p>There is no short link at this address.</p>',
);
const GONE = shell(
  'Link no longer available',
  '<h1>Link no longer available</h1><p>This short link was removed or has expired.</p>',
);

/**
 * Preview pages for the redirect route: the OpenGraph page for share bots and the `/{code}+`
 * page for people who want to see where a link goes. Both read the link's preview from the
 * database (bots and `+` visits are rare next to redirects).
 */
export function previewPages(options: {
  readonly db: Database;
  readonly publicBaseUrl: string;
  readonly policy: EdgePolicy;
  readonly now?: () => number;
}): PreviewPages {
  const { db, publicBaseUrl, policy } = options;
  const now = options.now ?? Date.now;
  return {
    isShareBot: isLinkPreviewBot,

    async botPage(link: CachedLink, code: string, reply: FastifyReply) {
      const row = await repo.findLinkPage(db, code);
      const eff =
        row === undefined
          ? { title: null, description: null, image: null, siteName: null }
          : effectivePreview(row, row.title, publicBaseUrl);
      const html = renderPreviewPage({
        url: `${publicBaseUrl}/${code}`,
        target: link.url,
        ...(eff.title !== null ? { title: eff.title } : {}),
        ...(eff.description !== null ? { description: eff.description } : {}),
        ...(eff.image !== null ? { image: eff.image } : {}),
        ...(eff.siteName !== null ? { siteName: eff.siteName } : {}),
      });
      // The same URL redirects people: this answer varies by user agent, so no shared cache
      // may keep it (a CDN would hand it to everyone, or the redirect to the bot).
      return reply
        .code(200)
        .header('cache-control', 'private, max-age=300')
        .header('vary', 'User-Agent')
        .type('text/html; charset=utf-8')
        .send(html);
    },

    async infoPage(code: string, reply: FastifyReply) {
      const page = (status: number, html: string) =>
        reply
          .code(status)
          .header('cache-control', NO_STORE)
          .type('text/html; charset=utf-8')
          .send(html);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(code)) return page(404, NOT_FOUND);
      const row = await repo.findLinkPage(db, code);
      if (row === undefined) return page(404, NOT_FOUND);
      const t = now();
      if (row.deleted_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= t)) {
        return page(410, GONE);
      }
      const eff = effectivePreview(row, row.title, publicBaseUrl);
      const html = renderInfoPage({
        shortUrl: `${publicBaseUrl}/${code}`,
        target: row.url,
        title: eff.title,
        description: eff.description,
        image: eff.image,
        createdAt: row.created_at,
      });
      const keys = surrogateKeys({
        id: Number(row.link_id),
        workspaceId: Number(row.workspace_id),
      });
      // Cacheable like a redirect: every change to the link (and a fetched preview) purges
      // these keys. An expiry caps how long any cache may keep it.
      const untilExpiry =
        row.expires_at === null ? Infinity : Math.floor((row.expires_at.getTime() - t) / 1000);
      const edge = Math.max(0, Math.min(policy.ttlSeconds, untilExpiry));
      const browser = Math.max(0, Math.min(60, untilExpiry));
      const cache =
        policy.mode === 'edge'
          ? `public, max-age=${browser}, s-maxage=${edge}, stale-while-revalidate=${policy.staleSeconds}`
          : `public, max-age=${browser}`;
      reply
        .header('cache-control', cache)
        .header('surrogate-key', keys.join(' '))
        .header('cache-tag', keys.join(','));
      if (policy.mode === 'edge') {
        reply.header(
          'surrogate-control',
          `max-age=${edge}, stale-while-revalidate=${policy.staleSeconds}`,
        );
      }
      return reply.code(200).type('text/html; charset=utf-8').send(html);
    },
  };
}
