import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { loadDashboard, negotiate, type Asset } from './static-assets.js';

export interface DashboardRoutesOptions {
  /** Directory of the built dashboard (`index.html` + `assets/`). */
  readonly dir: string;
}

/** Fingerprinted names: the content hash is part of the name, so the bytes never change. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

// The page loads only its own script and style; images may come from previews elsewhere and
// uploads may go straight to an object store on another origin.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: https:",
  "connect-src 'self' https:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Linkforge</title></head><body><h1>Linkforge</h1><p>The dashboard has not been built: run <code>npm run build</code>. The API is described at <a href="/docs">/docs</a>.</p></body></html>`;

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
  reply
    .header('cache-control', cacheControl)
    .header('etag', asset.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff')
    .type(asset.type);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const { body, encoding } = negotiate(asset, request.headers['accept-encoding']);
  if (encoding !== undefined) reply.header('content-encoding', encoding);
  return reply.send(body);
}

/**
 * Serves the dashboard: `GET /` (revalidated on every load, so a deploy shows at once) and
 * `GET /assets/{file}` (fingerprinted, cached for a year). The app routes by URL fragment
 * (`/#/links`), so no other path is taken from short codes.
 */
export async function dashboardRoutes(
  app: FastifyInstance,
  opts: DashboardRoutesOptions,
): Promise<void> {
  const built = loadDashboard(opts.dir);
  if (built === undefined) {
    app.log.warn({ dir: opts.dir }, 'dashboard not built; / shows a notice');
  }

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    reply
      .header('content-security-policy', CSP)
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin');
    if (built === undefined) {
      return reply
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT);
    }
    return send(request, reply, built.index, 'no-cache');
  });

  app.get<{ Params: { file: string } }>(
    '/assets/:file',
    { schema: { hide: true } },
    async (request, reply) => {
      const asset = built?.assets.get(request.params.file);
      if (asset === undefined) throw new AppError('not_found', 'No such dashboard asset.');
      return send(request, reply, asset, IMMUTABLE);
    },
  );
}
