import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { analyticsApi } from './analytics/api.js';
import { composeSinks } from './analytics/click-sinks.js';
import { startAnalytics, type AnalyticsRuntime } from './analytics/setup.js';
import { ApiKeyService, defaultWorkspaceId } from './auth/api-keys.js';
import type { BillingPort } from './billing/billing-port.js';
import { billingRoutes } from './billing/routes.js';
import { startBilling, type BillingRuntime } from './billing/setup.js';
import { makeGuards, makeRateLimitGuard } from './auth/guards.js';
import { keyRoutes } from './auth/routes.js';
import type { Config } from './config.js';
import {
  DEFAULT_DASHBOARD_DIR,
  dashboardRoutes,
  sessionIdentifier,
  sessionRoutes,
  SessionStore,
} from './dashboard/index.js';
import { healthRoutes } from './http/health.js';
import { Metrics } from './http/metrics.js';
import { registerErrorHandling } from './http/problem.js';
import { openRuntime, type Runtime } from './infra/runtime.js';
import { ClickBuffer } from './links/click-buffer.js';
import { CodeGenerator } from './links/codes.js';
import { IdAllocator } from './links/id-allocator.js';
import { LinkService } from './links/link-service.js';
import { redirectRoutes } from './links/redirect-routes.js';
import { LinkResolver } from './links/resolve-link.js';
import { linkRoutes } from './links/routes.js';
import { registerApiEtags } from './cdn/api-etag.js';
import { createPurger, startPurging } from './cdn/setup.js';
import type { PurgeQueue } from './cdn/purge/purge-queue.js';
import type { ClickSink } from './links/click-buffer.js';
import { fetchPreview } from '@linkforge/preview';
import { LinkMedia } from './previews/link-media.js';
import { previewPages } from './previews/pages.js';
import type { PreviewFetcher, PreviewWorker } from './previews/preview-worker.js';
import { startPreviews } from './previews/setup.js';
import { qrRoutes } from './qr/routes.js';
import { openObjectStore } from './uploads/object-store.js';
import { localObjectRoutes, uploadRoutes } from './uploads/routes.js';
import { UploadSweeper } from './uploads/sweeper.js';
import { UploadService } from './uploads/upload-service.js';

export interface BuiltApp {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly links: LinkService;
  readonly keys: ApiKeyService;
  readonly clicks: ClickBuffer;
  readonly analytics: AnalyticsRuntime;
  /** Where every counted click goes (click counter + analytics events). */
  readonly clickSink: ClickSink;
  readonly resolver: LinkResolver;
  /** CDN purges, when a purge provider is configured. */
  readonly purges: PurgeQueue | undefined;
  readonly uploads: UploadService;
  /** Fetches link previews after `link.created`. */
  readonly previews: PreviewWorker;
  /** Workspace credits and the premium-alias gate. */
  readonly billing: BillingRuntime;
}

/** Replaceable parts of the app (tests). */
export interface BuildOptions {
  /** How link previews are fetched. Default: `fetchPreview` of @linkforge/preview (SSRF-safe). */
  readonly previewFetcher?: PreviewFetcher;
  /** Billing adapter. Default: from the config (links database, or BILLING_DATABASE_URL). */
  readonly billing?: BillingPort;
}

/**
 * Builds the whole service from a validated config: adapters (embedded or server mode),
 * domain services and HTTP routes. `app.close()` flushes buffered clicks and closes every
 * connection. It does not listen: `main` does.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<BuiltApp> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    // Access logs belong to the proxy in front; per-request lines would cost on the redirect path.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // No type coercion: a wrong type is a 400, never silently converted (0 must not become null).
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: false,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const runtime = await openRuntime(config, app.log);
  const metrics = new Metrics();
  const keys = await ApiKeyService.create(runtime.db, {
    broadcast: runtime.broadcast,
    cacheTtlMs: config.apiKeyCacheSeconds * 1000,
  });
  if (config.bootstrapApiKey !== undefined) await keys.ensureBootstrapKey(config.bootstrapApiKey);
  const workspaceId = await defaultWorkspaceId(runtime.db);

  const ownHosts = new Set([new URL(config.publicBaseUrl).hostname.toLowerCase()]);
  const objects = await openObjectStore(config, runtime.db);
  const uploads = new UploadService({
    db: runtime.db,
    store: objects.store,
    config: config.uploads,
  });
  const media = new LinkMedia({ db: runtime.db, uploads, publicBaseUrl: config.publicBaseUrl });
  const billing = await startBilling({
    config,
    db: runtime.db,
    ...(options.billing !== undefined ? { port: options.billing } : {}),
  });
  const links = new LinkService({
    db: runtime.db,
    cache: runtime.cache,
    codes: new CodeGenerator(runtime.codeKey, config.codeLength),
    ids: new IdAllocator(runtime.db),
    ownHosts,
    extension: media,
    ...(billing.gate !== undefined ? { aliasGate: billing.gate } : {}),
  });
  const clicks = new ClickBuffer(runtime.db, {
    flushMs: config.clickFlushMs,
    onError: (err) => app.log.warn({ err }, 'click flush failed; counts kept for the next flush'),
    onFlush: (_links, n) => metrics.clicksFlushed.inc(n),
  });
  clicks.start();
  const analytics = await startAnalytics({
    config,
    db: runtime.db,
    log: app.log,
    registry: metrics.registry,
  });
  const resolver = new LinkResolver(runtime.db, runtime.cache, runtime.clickCap, {
    cacheHit: () => metrics.cacheLookups.inc({ result: 'hit' }),
    cacheMiss: () => metrics.cacheLookups.inc({ result: 'miss' }),
  });

  const clickSink = composeSinks(clicks, analytics.sink);
  const purger = createPurger(config.cdn, config.publicBaseUrl);
  const purging = purger === undefined ? undefined : startPurging(analytics.bus, purger, app.log);
  const previews = startPreviews({
    bus: analytics.bus,
    db: runtime.db,
    fetcher: options.previewFetcher ?? ((url) => fetchPreview(url)),
    ownHosts,
    onError: (err) => app.log.warn({ err }, 'link preview fetch failed'),
  });
  const sweeper = new UploadSweeper(uploads, config.uploads.sweepIntervalSeconds * 1000, (err) =>
    app.log.warn({ err }, 'upload sweep failed; retrying next round'),
  );
  sweeper.start();

  app.addHook('onClose', async () => {
    try {
      await previews.stop().catch((err: unknown) => app.log.error({ err }, 'previews close'));
      await sweeper.close();
      await purging?.stop().catch((err: unknown) => app.log.error({ err }, 'purge queue close'));
      await analytics.close().catch((err: unknown) => app.log.error({ err }, 'analytics close'));
      await clicks.close();
      await billing.close().catch((err: unknown) => app.log.error({ err }, 'billing close'));
      keys.close();
    } finally {
      await runtime.close();
      await objects.close();
    }
  });

  registerErrorHandling(app);
  registerApiEtags(app);
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
      },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Linkforge API',
        version: '1.0.0',
        description: 'Short links with analytics.',
      },
      servers: [{ url: config.publicBaseUrl }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const sessions = new SessionStore(runtime.db, keys, { ttlSeconds: config.sessionTtlSeconds });
  const guards = makeGuards({
    keys,
    allowAnonymous: config.allowAnonymous,
    defaultWorkspaceId: workspaceId,
    sessions: sessionIdentifier(sessions, config.publicBaseUrl),
  });
  const rateLimit = makeRateLimitGuard({
    limiter: runtime.rateLimiter,
    ...config.rateLimit,
    onLimited: () => metrics.rateLimited.inc(),
  });
  await app.register(linkRoutes, {
    links,
    publicBaseUrl: config.publicBaseUrl,
    metrics,
    guards: { ...guards, rateLimit },
    media,
  });
  await app.register(keyRoutes, { keys, requireAdmin: guards.requireAdmin });
  await app.register(billingRoutes, {
    ledger: billing.ledger,
    guards,
    premium: {
      maxLength: config.billing.premiumAliasMaxLength,
      cost: config.billing.premiumAliasCost,
    },
  });
  await app.register(healthRoutes, { runtime, metrics });
  await app.register(redirectRoutes, {
    resolver,
    clicks: clickSink,
    metrics,
    policy: {
      mode: config.cdn.redirectCache,
      ttlSeconds: config.cdn.edgeTtlSeconds,
      staleSeconds: config.cdn.edgeStaleSeconds,
    },
    previews: previewPages({
      db: runtime.db,
      publicBaseUrl: config.publicBaseUrl,
      policy: {
        mode: config.cdn.redirectCache,
        ttlSeconds: config.cdn.edgeTtlSeconds,
        staleSeconds: config.cdn.edgeStaleSeconds,
      },
    }),
  });
  await app.register(uploadRoutes, {
    uploads,
    publicBaseUrl: config.publicBaseUrl,
    guards: { requireKey: guards.requireKey, rateLimit },
  });
  if (objects.local !== undefined) await app.register(localObjectRoutes, { store: objects.local });
  await app.register(qrRoutes, {
    links,
    publicBaseUrl: config.publicBaseUrl,
    guards: { requireKey: guards.requireKey },
  });
  await app.register(analyticsApi, { config, db: runtime.db, analytics, links, guards });
  await app.register(sessionRoutes, {
    sessions,
    ttlSeconds: config.sessionTtlSeconds,
    publicBaseUrl: config.publicBaseUrl,
    rateLimit,
  });
  await app.register(dashboardRoutes, { dir: DEFAULT_DASHBOARD_DIR });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: 'https://linkforge.dev/errors/not_found',
        title: 'Not found',
        status: 404,
        code: 'not_found',
        detail: `No route ${request.method} ${request.url.split('?')[0]}`,
      }),
  );

  return {
    app,
    runtime,
    links,
    keys,
    clicks,
    analytics,
    clickSink,
    resolver,
    purges: purging?.queue,
    uploads,
    previews: previews.worker,
    billing,
  };
}
