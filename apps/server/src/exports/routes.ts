import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Guard } from '../auth/guards.js';
import { AppError } from '../errors.js';
import type { Database } from '../infra/db/database.js';
import type { LinkService } from '../links/link-service.js';
import { clickExport } from './click-export.js';
import type { ExportSummary } from './consistent-export.js';
import { linkExport } from './link-export.js';

export interface ExportRoutesOptions {
  readonly db: Database;
  readonly links: LinkService;
  readonly requireKey: Guard;
  /** Memory budget of a sorted export before it spills to disk. Default 64 MiB. */
  readonly sortBufferBytes?: number;
}

const Format = Type.Optional(
  Type.Union([Type.Literal('ndjson'), Type.Literal('csv')], { description: 'default ndjson' }),
);
const SORTABLE = [
  'clickedAt',
  'code',
  'referrerHost',
  'country',
  'device',
  'browser',
  'os',
] as const;

function instant(name: string, raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new AppError('validation_failed', `${name} must be an ISO 8601 date or date-time.`);
  return new Date(ms);
}

/**
 * `GET /api/v1/exports/links` and `GET /api/v1/exports/clicks`: streamed, consistent while
 * writes continue (see consistent-export.ts).
 */
export const exportRoutes: FastifyPluginAsyncTypebox<ExportRoutesOptions> = async (app, opts) => {
  const { db, links, requireKey } = opts;
  const workspace = (req: { principal?: { workspaceId: number } }) => {
    if (req.principal === undefined) throw new AppError('unauthorized');
    return req.principal.workspaceId;
  };
  const headers = (format: 'ndjson' | 'csv', name: string) => ({
    'content-type':
      format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${name}.${format}"`,
    'cache-control': 'no-store',
  });

  app.get(
    '/api/v1/exports/links',
    {
      onRequest: requireKey,
      schema: {
        tags: ['exports'],
        summary: 'Export the workspace links (consistent under concurrent writes)',
        querystring: Type.Object({ format: Format }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const format = req.query.format ?? 'ndjson';
      const exp = linkExport(db, workspace(req), {
        format,
        onError: (err) => req.log.error({ err }, 'links export failed'),
      });
      reply.headers(headers(format, 'links'));
      if (format === 'csv') trailer(reply, exp.summary);
      return reply.send(exp.body);
    },
  );

  app.get(
    '/api/v1/exports/clicks',
    {
      onRequest: requireKey,
      schema: {
        tags: ['exports'],
        summary: 'Export raw clicks (consistent under concurrent writes; optionally sorted)',
        querystring: Type.Object(
          {
            format: Format,
            code: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
            sort: Type.Optional(
              Type.Union(
                SORTABLE.map((s) => Type.Literal(s)),
                {
                  description:
                    'sort by this field (external merge sort when large); default: export order',
                },
              ),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const format = req.query.format ?? 'ndjson';
      const ws = workspace(req);
      const from = instant('from', req.query.from);
      const to = instant('to', req.query.to);
      const linkId =
        req.query.code === undefined ? undefined : (await links.get(ws, req.query.code)).id;
      const filter = { workspaceId: ws, linkId, from, to };
      const exp = clickExport(db, filter, {
        format,
        sortBy: req.query.sort,
        sortBufferBytes: opts.sortBufferBytes,
        onError: (err) => req.log.error({ err }, 'clicks export failed'),
      });
      reply.headers(headers(format, 'clicks'));
      if (format === 'csv') trailer(reply, exp.summary);
      return reply.send(exp.body);
    },
  );
};

function trailer(
  reply: {
    trailer(
      key: string,
      fn: (
        reply: unknown,
        payload: unknown,
        done: (err: Error | null, value: string) => void,
      ) => void,
    ): unknown;
  },
  summary: () => ExportSummary | undefined,
): void {
  reply.trailer('x-export-summary', (_reply, _payload, done) => {
    done(null, JSON.stringify(summary() ?? null));
  });
}
