import type { FastifyInstance } from 'fastify';
import type { Guard } from '../auth/guards.js';
import type { Config } from '../config.js';
import { exportRoutes } from '../exports/routes.js';
import { graphqlRoutes } from '../graphql/plugin.js';
import type { Database } from '../infra/db/database.js';
import type { LinkService } from '../links/link-service.js';
import { analyticsRoutes } from './routes.js';
import type { AnalyticsRuntime } from './setup.js';

export interface AnalyticsApiOptions {
  readonly config: Config;
  readonly db: Database;
  readonly analytics: AnalyticsRuntime;
  readonly links: LinkService;
  readonly guards: { readonly requireKey: Guard };
}

/** The read side over clicks: REST analytics, exports and GraphQL. */
export async function analyticsApi(app: FastifyInstance, opts: AnalyticsApiOptions): Promise<void> {
  const { requireKey } = opts.guards;
  await app.register(analyticsRoutes, {
    analytics: opts.analytics.service,
    links: opts.links,
    requireKey,
  });
  await app.register(exportRoutes, { db: opts.db, links: opts.links, requireKey });
  await app.register(graphqlRoutes, {
    db: opts.db,
    links: opts.links,
    analytics: opts.analytics.service,
    requireKey,
    publicBaseUrl: opts.config.publicBaseUrl,
    maxDepth: opts.config.graphql.maxDepth,
    maxCost: opts.config.graphql.maxCost,
  });
}
