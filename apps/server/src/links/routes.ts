import { decodeCursor, encodeCursor } from './cursor.js';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Guard } from '../auth/guards.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../http/metrics.js';
import { toView, type Link } from './link.js';
import type { CreateLinkInput, LinkService } from './link-service.js';
import {
  BulkBody,
  CodeParams,
  CreateLinkBody,
  LinkSchema,
  ListQuery,
  Problem,
  ShortenBody,
  UpdateLinkBody,
} from './schemas.js';

export interface LinkRoutesOptions {
  readonly links: LinkService;
  readonly publicBaseUrl: string;
  readonly metrics: Metrics;
  readonly guards: { requireKey: Guard; allowAnonymous: Guard; rateLimit: Guard };
  /** Adds preview and file fields to link views (the previews feature), one query per call. */
  readonly media?: {
    views(links: readonly Link[]): Promise<ReadonlyMap<number, object>>;
    /**
     * The fields of a link just created without any: known without a query, or undefined when
     * the link may still have some (a file link made from a served file's URL).
     */
    blankView(link: Link): object | undefined;
  };
}

const errors = { 400: Problem, 401: Problem, 404: Problem, 409: Problem, 429: Problem };

/** REST API of links (`/api/v1/links`) and the seed-compatible `POST /api/shorten`. */
export const linkRoutes: FastifyPluginAsyncTypebox<LinkRoutesOptions> = async (app, opts) => {
  const { links, publicBaseUrl, metrics, guards } = opts;
  const view = (l: Parameters<typeof toView>[0]) => toView(l, publicBaseUrl);
  const fullViews = async (ls: readonly Link[]) => {
    const extra = await opts.media?.views(ls);
    return ls.map((l) => ({ ...view(l), ...extra?.get(l.id) }));
  };
  const fullView = async (l: Link) => (await fullViews([l]))[0]!;
  const principal = (req: { principal?: { workspaceId: number } }) => {
    if (req.principal === undefined) throw new AppError('unauthorized');
    return req.principal;
  };

  app.post(
    '/api/shorten',
    {
      onRequest: [guards.allowAnonymous, guards.rateLimit],
      schema: {
        tags: ['links'],
        summary: 'Shorten a URL (seed-compatible)',
        body: ShortenBody,
        response: { 201: Type.Object({ shortUrl: Type.String(), code: Type.String() }), ...errors },
      },
    },
    async (req, reply) => {
      const link = await links.create(principal(req).workspaceId, {
        url: req.body.longUrl,
        expiresAt: req.body.expiresAt,
      });
      metrics.linksCreated.inc();
      return reply.code(201).send({ shortUrl: `${publicBaseUrl}/${link.code}`, code: link.code });
    },
  );

  app.post(
    '/api/v1/links',
    {
      onRequest: [guards.allowAnonymous, guards.rateLimit],
      schema: {
        tags: ['links'],
        summary: 'Create a link',
        body: CreateLinkBody,
        response: { 201: LinkSchema, ...errors },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const link = await links.create(principal(req).workspaceId, body);
      metrics.linksCreated.inc();
      const plain =
        body.uploadId === undefined &&
        body.imageUploadId === undefined &&
        body.description === undefined &&
        body.image === undefined;
      const blank = plain ? opts.media?.blankView(link) : undefined;
      return reply
        .code(201)
        .header('location', `/api/v1/links/${link.code}`)
        .send(blank !== undefined ? { ...view(link), ...blank } : await fullView(link));
    },
  );

  app.post(
    '/api/v1/links/bulk',
    {
      onRequest: [guards.requireKey, guards.rateLimit],
      // 1,000 links of up to 2,048 characters each.
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['links'],
        summary: 'Create up to 1,000 links; one result per item',
        body: BulkBody,
        response: {
          200: Type.Object({
            created: Type.Integer(),
            failed: Type.Integer(),
            results: Type.Array(
              Type.Object({
                index: Type.Integer(),
                ok: Type.Boolean(),
                link: Type.Optional(LinkSchema),
                error: Type.Optional(Type.Object({ code: Type.String(), detail: Type.String() })),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const items = req.body.links.map((item, index) => checkBulkItem(item, index));
      const valid = items.filter(
        (i): i is { index: number; input: CreateLinkInput } => 'input' in i,
      );
      const created = await links.createMany(
        principal(req).workspaceId,
        valid.map((v) => v.input),
      );
      const results: {
        index: number;
        ok: boolean;
        link?: ReturnType<typeof view>;
        error?: { code: string; detail: string };
      }[] = items.map((i) =>
        'error' in i ? { index: i.index, ok: false, error: i.error } : { index: i.index, ok: true },
      );
      created.forEach((r, k) => {
        const index = valid[k]!.index;
        results[index] = r.ok
          ? { index, ok: true, link: view(r.link) }
          : { index, ok: false, error: r.error };
      });
      const ok = results.filter((r) => r.ok).length;
      metrics.linksCreated.inc(ok);
      return { created: ok, failed: results.length - ok, results };
    },
  );

  app.get(
    '/api/v1/links',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['links'],
        summary: 'List links, newest first, with keyset pagination',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(LinkSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      const page = await links.list({
        workspaceId: principal(req).workspaceId,
        limit: limit + 1,
        ...(req.query.cursor !== undefined ? { beforeId: decodeCursor(req.query.cursor) } : {}),
        ...(req.query.q !== undefined ? { search: req.query.q } : {}),
        ...(req.query.tag !== undefined ? { tag: req.query.tag } : {}),
        ...(req.query.status !== undefined ? { status: req.query.status } : {}),
      });
      const items = page.slice(0, limit);
      const last = items.at(-1);
      return {
        items: await fullViews(items),
        nextCursor: page.length > limit && last !== undefined ? encodeCursor(last.id) : null,
      };
    },
  );

  app.get(
    '/api/v1/links/:code',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['links'],
        summary: 'Get a link',
        params: CodeParams,
        response: { 200: LinkSchema, ...errors },
      },
    },
    async (req) => fullView(await links.get(principal(req).workspaceId, req.params.code)),
  );

  app.patch(
    '/api/v1/links/:code',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['links'],
        summary: 'Change a link',
        params: CodeParams,
        body: UpdateLinkBody,
        response: { 200: LinkSchema, ...errors },
      },
    },
    async (req) =>
      fullView(await links.update(principal(req).workspaceId, req.params.code, req.body)),
  );

  app.delete(
    '/api/v1/links/:code',
    {
      onRequest: guards.requireKey,
      schema: {
        tags: ['links'],
        summary: 'Delete a link (its code then answers 410)',
        params: CodeParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      await links.delete(principal(req).workspaceId, req.params.code);
      return reply.code(204).send(null);
    },
  );
};

const BULK_FIELDS = new Set([
  'url',
  'alias',
  'expiresAt',
  'maxClicks',
  'redirectType',
  'title',
  'tags',
]);

/**
 * Bulk items are checked one by one (not by the route schema) so that one malformed item gets
 * its own error instead of failing the whole request.
 */
function checkBulkItem(
  item: unknown,
  index: number,
):
  | { index: number; input: CreateLinkInput }
  | { index: number; error: { code: string; detail: string } } {
  const fail = (detail: string) => ({ index, error: { code: 'validation_failed', detail } });
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    return fail('Each item must be an object.');
  const o = item as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !BULK_FIELDS.has(k));
  if (unknown !== undefined) return fail(`Unknown field "${unknown}".`);
  if (typeof o['url'] !== 'string') return fail('url must be a string.');
  const optional = (k: string, t: 'string' | 'number', nullable: boolean) =>
    o[k] === undefined || (nullable && o[k] === null) || typeof o[k] === t;
  if (!optional('alias', 'string', false)) return fail('alias must be a string.');
  if (!optional('expiresAt', 'string', true))
    return fail('expiresAt must be a date-time string or null.');
  if (!optional('maxClicks', 'number', true))
    return fail('maxClicks must be a positive integer or null.');
  if (!optional('title', 'string', true)) return fail('title must be a string or null.');
  if (
    o['redirectType'] !== undefined &&
    ![301, 302, 307, 308].includes(o['redirectType'] as number)
  ) {
    return fail('redirectType must be one of 301, 302, 307, 308.');
  }
  if (
    o['tags'] !== undefined &&
    (!Array.isArray(o['tags']) || !o['tags'].every((t) => typeof t === 'string'))
  ) {
    return fail('tags must be an array of strings.');
  }
  return { index, input: o as unknown as CreateLinkInput };
}
