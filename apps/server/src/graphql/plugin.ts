import { decodeCursor, encodeCursor } from '../links/cursor.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import mercurius, { type IResolvers, type MercuriusContext } from 'mercurius';
import { resolveRange, type AnalyticsService } from '../analytics/analytics-service.js';
import type { Guard } from '../auth/guards.js';
import { AppError, isAppError } from '../errors.js';
import type { Database } from '../infra/db/database.js';
import { toView, type Link } from '../links/link.js';
import type { LinkService } from '../links/link-service.js';
import { createLoaders, type Loaders } from './loaders.js';
import { typeDefs } from './schema.js';

export interface GraphqlOptions {
  readonly db: Database;
  readonly links: LinkService;
  readonly analytics: AnalyticsService;
  readonly requireKey: Guard;
  readonly publicBaseUrl: string;
  /** Deepest selection allowed. */
  readonly maxDepth: number;
  /** Highest estimated query cost allowed. */
  readonly maxCost: number;
}

declare module 'mercurius' {
  interface MercuriusContext {
    workspaceId: number;
    loaders: Loaders;
  }
}

type Ctx = MercuriusContext;

type RangeArgs = {
  from?: string | null;
  to?: string | null;
  interval?: 'hour' | 'day' | null;
  includeBots?: boolean | null;
  top?: number | null;
};

const MAX_PAGE = 200;
/** Estimated cost of one analytics report (four rollup queries). */
export const ANALYTICS_COST = 50;

function range(a: RangeArgs) {
  return resolveRange({
    from: a.from ?? undefined,
    to: a.to ?? undefined,
    interval: a.interval ?? undefined,
    includeBots: a.includeBots ?? undefined,
  });
}

function top(a: RangeArgs): number {
  const n = a.top ?? 10;
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new AppError('validation_failed', 'top must be 1–100.');
  return n;
}

/**
 * Cost model: one per field; a list of links costs its page size times its selection; an
 * analytics report costs {@link ANALYTICS_COST}.
 */
const costEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  if (type.name === 'Query' && field.name === 'links') {
    const first = typeof args['first'] === 'number' ? args['first'] : 20;
    return 1 + Math.max(1, first) * Math.max(1, childComplexity);
  }
  if (field.name === 'analytics') return ANALYTICS_COST + childComplexity;
  return undefined;
};

/**
 * `POST|GET /graphql` (mercurius): links and analytics, with the REST API's API-key auth,
 * per-request DataLoaders, a depth limit and a cost limit checked before execution.
 */
export async function graphqlRoutes(app: FastifyInstance, opts: GraphqlOptions): Promise<void> {
  const resolvers: IResolvers = {
    Query: {
      link: async (_root, args: { code: string }, ctx: Ctx) => {
        try {
          return await opts.links.get(ctx.workspaceId, args.code);
        } catch (err) {
          if (isAppError(err) && err.code === 'not_found') return null;
          throw err;
        }
      },
      links: async (
        _root,
        args: {
          first?: number | null;
          after?: string | null;
          search?: string | null;
          tag?: string | null;
        },
        ctx: Ctx,
      ) => {
        const first = args.first ?? 20;
        if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
          throw new AppError('validation_failed', `first must be 1–${MAX_PAGE}.`);
        }
        const page = await opts.links.list({
          workspaceId: ctx.workspaceId,
          limit: first + 1,
          ...(args.after != null ? { beforeId: decodeCursor(args.after) } : {}),
          ...(args.search != null ? { search: args.search } : {}),
          ...(args.tag != null ? { tag: args.tag } : {}),
        });
        const nodes = page.slice(0, first);
        const last = nodes[nodes.length - 1];
        return {
          nodes,
          nextCursor: page.length > first && last !== undefined ? encodeCursor(last.id) : null,
        };
      },
      analytics: async (_root, args: RangeArgs, ctx: Ctx) =>
        opts.analytics.report({ workspaceId: ctx.workspaceId }, range(args), top(args)),
    },
    Link: {
      shortUrl: (link: Link) => `${opts.publicBaseUrl}/${link.code}`,
      alias: (link: Link) => link.isAlias,
      status: (link: Link) => toView(link, opts.publicBaseUrl).status,
      expiresAt: (link: Link) => link.expiresAt?.toISOString() ?? null,
      createdAt: (link: Link) => link.createdAt.toISOString(),
      updatedAt: (link: Link) => link.updatedAt.toISOString(),
      stats: (
        link: Link,
        args: { days?: number | null; includeBots?: boolean | null },
        ctx: Ctx,
      ) => {
        const days = args.days ?? 30;
        if (!Number.isInteger(days) || days < 1 || days > 1000) {
          throw new AppError('validation_failed', 'days must be 1–1000.');
        }
        return ctx.loaders.stats.load({
          linkId: link.id,
          days,
          includeBots: args.includeBots ?? false,
        });
      },
      analytics: (link: Link, args: RangeArgs, ctx: Ctx) =>
        opts.analytics.report(
          { workspaceId: ctx.workspaceId, linkId: link.id },
          range(args),
          top(args),
        ),
    },
  };

  app.addHook('onRequest', opts.requireKey);
  await app.register(mercurius, {
    schema: typeDefs,
    resolvers,
    path: '/graphql',
    graphiql: false,
    queryDepth: opts.maxDepth,
    context: (request: FastifyRequest) => {
      const workspaceId = request.principal?.workspaceId;
      if (workspaceId === undefined) throw new AppError('unauthorized');
      return { workspaceId, loaders: createLoaders(opts.db, workspaceId) };
    },
    // AppErrors keep their stable code in `extensions.code`; everything else (validation,
    // depth) is formatted by mercurius.
    errorFormatter: (execution, context) =>
      mercurius.defaultErrorFormatter(
        {
          ...execution,
          errors: (execution.errors ?? []).map((e) => {
            const original = (e as { originalError?: unknown }).originalError;
            return isAppError(original)
              ? new GraphQLError(original.message, {
                  ...(e.nodes !== undefined ? { nodes: e.nodes } : {}),
                  ...(e.path !== undefined ? { path: e.path } : {}),
                  extensions: { code: original.code },
                })
              : e;
          }),
        },
        context,
      ),
  });
  // The cost is checked before execution, with the request's variables (first and friends).
  app.graphql.addHook('preExecution', async (schema, document, _context, variables) => {
    const cost = getComplexity({
      schema,
      query: document,
      variables: (variables as Record<string, unknown> | undefined) ?? {},
      estimators: [costEstimator, simpleEstimator({ defaultComplexity: 1 })],
    });
    if (cost > opts.maxCost) {
      throw new GraphQLError(
        `The query costs ${cost}, more than the ${opts.maxCost} allowed: ask for fewer links or fields.`,
        { extensions: { code: 'query_too_costly' } },
      );
    }
  });
}
