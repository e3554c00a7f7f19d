import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LRUCache } from 'lru-cache';
import type { Guard } from '../auth/guards.js';
import { AppError } from '../errors.js';
import type { LinkService } from '../links/link-service.js';
import { CodeParams, Problem } from '../links/schemas.js';
import { parseQrOptions, QR_MARGIN, QR_SIZE, renderQr } from './qr-code.js';

export interface QrRoutesOptions {
  readonly links: LinkService;
  readonly publicBaseUrl: string;
  readonly guards: { requireKey: Guard };
}

/**
 * `GET /api/v1/links/{code}/qr`: a QR code of the short URL. The image depends only on the
 * short URL and the options: rendered images are kept in a small LRU, and clients revalidate
 * with the ETag.
 */
export const qrRoutes: FastifyPluginAsyncTypebox<QrRoutesOptions> = async (app, opts) => {
  const { links, publicBaseUrl, guards } = opts;
  const rendered = new LRUCache<string, Buffer>({ max: 500 });
  app.get(
    '/api/v1/links/:code/qr',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['links'],
        summary: 'QR code of the short URL (SVG or PNG)',
        params: CodeParams,
        querystring: Type.Object(
          {
            format: Type.Optional(Type.String({ description: 'svg (default) or png' })),
            size: Type.Optional(
              Type.String({
                description: `PNG width in pixels, ${QR_SIZE.min}–${QR_SIZE.max}, default 256`,
              }),
            ),
            margin: Type.Optional(
              Type.String({
                description: `quiet zone in modules, ${QR_MARGIN.min}–${QR_MARGIN.max}, default 4`,
              }),
            ),
            ecc: Type.Optional(
              Type.String({ description: 'error correction L, M (default), Q or H' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 400: Problem, 401: Problem, 404: Problem },
      },
    },
    async (req, reply) => {
      const options = parseQrOptions(req.query);
      if (req.principal === undefined) throw new AppError('unauthorized');
      const link = await links.get(req.principal.workspaceId, req.params.code);
      const shortUrl = `${publicBaseUrl}/${link.code}`;
      const key = JSON.stringify([shortUrl, options]);
      let body = rendered.get(key);
      if (body === undefined) {
        body = await renderQr(shortUrl, options);
        rendered.set(key, body);
      }
      // The API's ETag hook adds a validator of these bytes and answers If-None-Match with 304;
      // the image never changes for these inputs, so a client may keep it a day.
      reply.header('cache-control', 'private, max-age=86400');
      return reply
        .type(options.format === 'png' ? 'image/png' : 'image/svg+xml')
        .header('content-disposition', `inline; filename="${link.code}.${options.format}"`)
        .header('x-content-type-options', 'nosniff')
        .send(body as never); // bytes, not a JSON body: the route's schemas describe its errors
    },
  );
};
