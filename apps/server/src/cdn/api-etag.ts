import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * API reads carry an ETag and are revalidated on every use (`private, no-cache`): a client or
 * browser sends `If-None-Match` and gets `304 Not Modified` with no body when nothing changed.
 * Responses are never stored by shared caches (they depend on the API key).
 */
export function registerApiEtags(app: FastifyInstance, prefix = '/api/'): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'GET' || reply.statusCode !== 200 || !request.url.startsWith(prefix))
      return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload; // streams (exports)
    const etag = `W/"${createHash('sha1').update(payload).digest('base64url')}"`;
    reply.header('etag', etag);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'private, no-cache');
    const inm = request.headers['if-none-match'];
    if (inm !== undefined && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      reply.code(304);
      return '';
    }
    return payload;
  });
}
