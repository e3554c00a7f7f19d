import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Guard } from '../auth/guards.js';
import { AppError } from '../errors.js';
import type { LinkService } from '../links/link-service.js';
import { resolveRange, type AnalyticsService } from './analytics-service.js';

export interface AnalyticsRoutesOptions {
  readonly analytics: AnalyticsService;
  readonly links: LinkService;
  readonly requireKey: Guard;
}

const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.String(),
  },
  { additionalProperties: true },
);

export const AnalyticsQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({
        maxLength: 40,
        description:
          'ISO 8601 date or date-time; default: 30 days (day) or 24 hours (hour) before `to`',
      }),
    ),
    to: Type.Optional(
      Type.String({ maxLength: 40, description: 'ISO 8601 date or date-time; default: now' }),
    ),
    interval: Type.Optional(
      Type.Union([Type.Literal('hour'), Type.Literal('day')], { description: 'default day' }),
    ),
    includeBots: Type.Optional(
      Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'default false' }),
    ),
    limit: Type.Optional(
      Type.String({
        pattern: '^(?:[1-9]|[1-9][0-9]|100)$',
        description: 'top values per dimension, 1–100, default 10',
      }),
    ),
  },
  { additionalProperties: false },
);

const ValueCount = Type.Object({ value: Type.String(), clicks: Type.Number() });
export const AnalyticsReportSchema = Type.Object({
  totals: Type.Object({ clicks: Type.Number(), uniqueVisitors: Type.Number() }),
  series: Type.Array(
    Type.Object({ t: Type.String({ format: 'date-time' }), clicks: Type.Number() }),
  ),
  referrers: Type.Array(ValueCount),
  countries: Type.Array(ValueCount),
  devices: Type.Array(ValueCount),
  browsers: Type.Array(ValueCount),
  os: Type.Array(ValueCount),
});

type Query = {
  from?: string;
  to?: string;
  interval?: 'hour' | 'day';
  includeBots?: 'true' | 'false';
  limit?: string;
};

function range(q: Query) {
  return resolveRange({
    from: q.from,
    to: q.to,
    interval: q.interval,
    includeBots: q.includeBots === 'true',
  });
}

/** `GET /api/v1/links/{code}/analytics` and `GET /api/v1/analytics` (workspace). */
export const analyticsRoutes: FastifyPluginAsyncTypebox<AnalyticsRoutesOptions> = async (
  app,
  opts,
) => {
  const { analytics, links, requireKey } = opts;
  const workspace = (req: { principal?: { workspaceId: number } }) => {
    if (req.principal === undefined) throw new AppError('unauthorized');
    return req.principal.workspaceId;
  };
  const errors = { 400: Problem, 401: Problem, 404: Problem };

  app.get(
    '/api/v1/links/:code/analytics',
    {
      onRequest: requireKey,
      schema: {
        tags: ['analytics'],
        summary: 'Click analytics of one link (bots excluded unless includeBots=true)',
        params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: AnalyticsQuery,
        response: { 200: AnalyticsReportSchema, ...errors },
      },
    },
    async (req) => {
      const r = range(req.query);
      const ws = workspace(req);
      const link = await links.get(ws, req.params.code);
      return analytics.report(
        { workspaceId: ws, linkId: link.id },
        r,
        Number(req.query.limit ?? 10),
      );
    },
  );

  app.get(
    '/api/v1/analytics',
    {
      onRequest: requireKey,
      schema: {
        tags: ['analytics'],
        summary: 'Click analytics of the whole workspace (bots excluded unless includeBots=true)',
        querystring: AnalyticsQuery,
        response: { 200: AnalyticsReportSchema, ...errors },
      },
    },
    async (req) =>
      analytics.report(
        { workspaceId: workspace(req) },
        range(req.query),
        Number(req.query.limit ?? 10),
      ),
  );
};
