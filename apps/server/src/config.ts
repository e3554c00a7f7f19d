import { resolve } from 'node:path';

/** Validated, frozen configuration of one Linkforge process. Built only by {@link loadConfig}. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** PostgreSQL connection string; `undefined` → embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Redis connection string; `undefined` → in-process cache and rate limiter. */
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key and channel, so installations can share one Redis. */
  readonly redisPrefix: string;
  readonly databasePoolMax: number;
  /** Base of short URLs, without a trailing slash, e.g. `https://sho.rt`. */
  readonly publicBaseUrl: string;
  readonly bootstrapApiKey: string | undefined;
  readonly allowAnonymous: boolean;
  readonly rateLimit: {
    readonly enabled: boolean;
    readonly windowSeconds: number;
    /** Creation requests per window for one client IP without an API key. */
    readonly anonymousMax: number;
    /** Creation requests per window for one API key. */
    readonly keyMax: number;
  };
  /** Minimum length of generated codes (base62 characters). */
  readonly codeLength: number;
  /** Secret that keys the code permutation; derived from `dataDir` state when not given. */
  readonly codeSecret: string | undefined;
  /** How often buffered click counts are written to the database. */
  readonly clickFlushMs: number;
  readonly cacheTtlSeconds: number;
  /** How long a verified API key is trusted without a database lookup (0: never cached). */
  readonly apiKeyCacheSeconds: number;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  /** Behind a proxy/load balancer: trust `X-Forwarded-For` for client IPs. */
  readonly trustProxy: boolean;
  /** Durable stream that carries click events to the analytics workers. */
  readonly stream: {
    /** `redis` (default with REDIS_URL), `nats`, `kafka`, or `memory` (in-process, embedded default). */
    readonly adapter: 'redis' | 'nats' | 'kafka' | 'memory';
    readonly natsUrl: string | undefined;
    readonly kafkaBrokers: readonly string[] | undefined;
    /** Stream (topic) name of click events. */
    readonly name: string;
    /** An event delivered to a worker that died unacknowledged is redelivered after this long. */
    readonly redeliverMs: number;
  };
  readonly analytics: {
    /** `serve` runs a click worker in-process (always so with the in-process stream). */
    readonly inProcessWorker: boolean;
    /** Events one worker consumer takes per batch. */
    readonly workerBatchSize: number;
    /** Consumers per `linkforge worker` process (each one a member of the consumer group). */
    readonly workerConsumers: number;
    /** Click events published per stream write. */
    readonly publishBatchSize: number;
    /** Longest a click waits in the publisher before its batch is written. */
    readonly publishLingerMs: number;
  };
  readonly graphql: {
    /** Deepest selection a GraphQL query may have. */
    readonly maxDepth: number;
    /** Highest estimated cost a GraphQL query may have (one per field, times list sizes). */
    readonly maxCost: number;
  };
  /** Lifetime of a dashboard sign-in session. */
  readonly sessionTtlSeconds: number;
  /** CDN in front of the service: redirect caching mode and where purges go. */
  readonly cdn: CdnConfig;
  /** Uploads through pre-signed URLs (docs/uploads.md). */
  readonly uploads: UploadsConfig;
  /** Workspace credits and premium aliases (docs/billing.md). */
  readonly billing: BillingConfig;
}

export interface BillingConfig {
  /** Separate PostgreSQL billing database; `undefined` → the ledger lives in the links database. */
  readonly databaseUrl: string | undefined;
  /** Database of the two-phase commit log; `undefined` → the links database. */
  readonly coordinatorDatabaseUrl: string | undefined;
  /** Aliases of at most this many characters cost credits (0: no premium aliases). */
  readonly premiumAliasMaxLength: number;
  /** Credits one premium alias costs (0: free). */
  readonly premiumAliasCost: number;
}

export interface UploadsConfig {
  /** `local` (default): files under `DATA_DIR/objects`, served by this app. `s3`: a bucket. */
  readonly objectStore: 'local' | 's3';
  /** S3 settings; credentials come from the AWS default provider chain. */
  readonly s3:
    | {
        readonly bucket: string;
        readonly region: string | undefined;
        readonly endpoint: string | undefined;
        readonly forcePathStyle: boolean;
      }
    | undefined;
  /** Largest upload accepted, in bytes. */
  readonly maxBytes: number;
  /** Accepted content types: exact `type/subtype`, `type/*`, or `*` for any. */
  readonly contentTypes: readonly string[];
  /** A pending upload not completed within this long is deleted by the sweeper. */
  readonly pendingTtlSeconds: number;
  /** How often the sweeper runs. */
  readonly sweepIntervalSeconds: number;
}

export interface CdnConfig {
  /** `origin` (default): redirects are `no-store`, counted here. `edge`: a CDN caches them. */
  readonly redirectCache: 'origin' | 'edge';
  readonly edgeTtlSeconds: number;
  readonly edgeStaleSeconds: number;
  readonly purge:
    | { readonly provider: 'none' }
    | { readonly provider: 'varnish'; readonly urls: readonly string[] }
    | { readonly provider: 'fastly'; readonly apiToken: string; readonly serviceId: string }
    | { readonly provider: 'cloudflare'; readonly apiToken: string; readonly zoneId: string }
    | { readonly provider: 'cloudfront'; readonly distributionId: string };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** `:memory:` keeps the embedded database in memory (tests, demos); anything else is a path. */
export const IN_MEMORY = ':memory:';

function dataDir(raw: string | undefined): string {
  if (raw === IN_MEMORY) return IN_MEMORY;
  return resolve(raw ?? '.data');
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw;
}

/**
 * Reads and validates the environment once at start-up. Throws {@link ConfigError} naming the
 * first bad variable.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 3000, 0, 65535);
  const host = str(env, 'HOST') ?? '127.0.0.1';
  const publicBase = url(env, 'PUBLIC_BASE_URL', ['http:', 'https:']);
  if (publicBase !== undefined) {
    const u = new URL(publicBase);
    if (u.search || u.hash || u.username || u.password) {
      throw new ConfigError(
        'PUBLIC_BASE_URL',
        'must not contain credentials, a query or a fragment',
      );
    }
  }
  const displayHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const bootstrapApiKey = str(env, 'BOOTSTRAP_API_KEY');
  if (bootstrapApiKey !== undefined && bootstrapApiKey.length < 24) {
    throw new ConfigError('BOOTSTRAP_API_KEY', 'must be at least 24 characters long');
  }
  const codeSecret = str(env, 'CODE_SECRET');
  if (codeSecret !== undefined && codeSecret.length < 16) {
    throw new ConfigError('CODE_SECRET', 'must be at least 16 characters long');
  }
  const stream = streamConfig(env);
  // The in-process stream lives in the serving process: only a worker there can consume it.
  const inProcessWorker = bool(env, 'ANALYTICS_WORKER', stream.adapter === 'memory');
  if (stream.adapter === 'memory' && !inProcessWorker) {
    throw new ConfigError('ANALYTICS_WORKER', 'cannot be off with STREAM_ADAPTER=memory');
  }
  const config: Config = {
    port,
    host,
    dataDir: dataDir(str(env, 'DATA_DIR')),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: str(env, 'REDIS_PREFIX') ?? 'lf:',
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 1000),
    publicBaseUrl: (
      publicBase ?? `http://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}`
    ).replace(/\/+$/, ''),
    bootstrapApiKey,
    allowAnonymous: bool(env, 'ALLOW_ANONYMOUS', true),
    rateLimit: Object.freeze({
      enabled: bool(env, 'RATE_LIMIT_ENABLED', true),
      windowSeconds: int(env, 'RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
      anonymousMax: int(env, 'RATE_LIMIT_ANONYMOUS_MAX', 60, 1, 1_000_000_000),
      keyMax: int(env, 'RATE_LIMIT_KEY_MAX', 600, 1, 1_000_000_000),
    }),
    codeLength: int(env, 'CODE_LENGTH', 6, 4, 10),
    codeSecret,
    clickFlushMs: int(env, 'CLICK_FLUSH_MS', 1000, 10, 60_000),
    cacheTtlSeconds: int(env, 'CACHE_TTL_SECONDS', 3600, 1, 30 * 86_400),
    apiKeyCacheSeconds: int(env, 'API_KEY_CACHE_SECONDS', 60, 0, 3600),
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    stream,
    analytics: Object.freeze({
      inProcessWorker,
      workerBatchSize: int(env, 'WORKER_BATCH_SIZE', 10_000, 1, 10_000),
      workerConsumers: int(env, 'WORKER_CONSUMERS', 1, 1, 64),
      publishBatchSize: int(env, 'CLICK_PUBLISH_BATCH', 500, 1, 10_000),
      publishLingerMs: int(env, 'CLICK_PUBLISH_LINGER_MS', 20, 0, 10_000),
    }),
    graphql: Object.freeze({
      maxDepth: int(env, 'GRAPHQL_MAX_DEPTH', 8, 2, 50),
      maxCost: int(env, 'GRAPHQL_MAX_COST', 10_000, 10, 10_000_000),
    }),
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', 8 * 3600, 60, 30 * 86_400),
    cdn: cdnConfig(env),
    uploads: uploadsConfig(env),
    billing: billingConfig(env),
  };
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(config.logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${levels.join(', ')}`);
  }
  return Object.freeze(config);
}

function streamConfig(env: Env): Config['stream'] {
  const redisUrl = str(env, 'REDIS_URL');
  const raw =
    str(env, 'STREAM_ADAPTER')?.toLowerCase() ?? (redisUrl !== undefined ? 'redis' : 'memory');
  if (raw !== 'redis' && raw !== 'nats' && raw !== 'kafka' && raw !== 'memory') {
    throw new ConfigError('STREAM_ADAPTER', `must be redis, nats, kafka or memory, got "${raw}"`);
  }
  if (raw === 'redis' && redisUrl === undefined) {
    throw new ConfigError('STREAM_ADAPTER', 'redis needs REDIS_URL');
  }
  const natsUrl = url(env, 'NATS_URL', ['nats:', 'tls:']);
  if (raw === 'nats' && natsUrl === undefined) {
    throw new ConfigError('NATS_URL', 'is required with STREAM_ADAPTER=nats');
  }
  const brokers = str(env, 'KAFKA_BROKERS')
    ?.split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers?.some((b) => !/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(b))) {
    throw new ConfigError('KAFKA_BROKERS', 'must be a comma-separated list of host:port');
  }
  if (raw === 'kafka' && (brokers === undefined || brokers.length === 0)) {
    throw new ConfigError('KAFKA_BROKERS', 'is required with STREAM_ADAPTER=kafka');
  }
  const name = str(env, 'CLICK_STREAM') ?? 'clicks';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new ConfigError('CLICK_STREAM', 'must be 1-64 characters of A-Z a-z 0-9 _ -');
  }
  return Object.freeze({
    adapter: raw,
    natsUrl,
    kafkaBrokers: brokers === undefined ? undefined : Object.freeze(brokers),
    name,
    redeliverMs: int(env, 'STREAM_REDELIVER_MS', 30_000, 100, 3_600_000),
  });
}

function required(env: Env, name: string, provider: string): string {
  const v = str(env, name);
  if (v === undefined) throw new ConfigError(name, `is required with PURGE_PROVIDER=${provider}`);
  return v;
}

function cdnConfig(env: Env): CdnConfig {
  const mode = str(env, 'REDIRECT_CACHE')?.toLowerCase() ?? 'origin';
  if (mode !== 'origin' && mode !== 'edge') {
    throw new ConfigError('REDIRECT_CACHE', `must be origin or edge, got "${mode}"`);
  }
  const provider = str(env, 'PURGE_PROVIDER')?.toLowerCase() ?? 'none';
  let purge: CdnConfig['purge'];
  switch (provider) {
    case 'none':
      purge = { provider };
      break;
    case 'varnish': {
      const urls = required(env, 'VARNISH_PURGE_URLS', provider)
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '');
      for (const u of urls) {
        if (!/^https?:\/\//.test(u) || !URL.canParse(u)) {
          throw new ConfigError(
            'VARNISH_PURGE_URLS',
            `must be comma-separated http(s) URLs, got "${u}"`,
          );
        }
      }
      purge = { provider, urls };
      break;
    }
    case 'fastly':
      purge = {
        provider,
        apiToken: required(env, 'FASTLY_API_TOKEN', provider),
        serviceId: required(env, 'FASTLY_SERVICE_ID', provider),
      };
      break;
    case 'cloudflare':
      purge = {
        provider,
        apiToken: required(env, 'CLOUDFLARE_API_TOKEN', provider),
        zoneId: required(env, 'CLOUDFLARE_ZONE_ID', provider),
      };
      break;
    case 'cloudfront':
      purge = { provider, distributionId: required(env, 'CLOUDFRONT_DISTRIBUTION_ID', provider) };
      break;
    default:
      throw new ConfigError(
        'PURGE_PROVIDER',
        `must be none, varnish, fastly, cloudflare or cloudfront, got "${provider}"`,
      );
  }
  return Object.freeze({
    redirectCache: mode,
    edgeTtlSeconds: int(env, 'EDGE_CACHE_TTL_SECONDS', 3600, 1, 365 * 86_400),
    edgeStaleSeconds: int(env, 'EDGE_STALE_SECONDS', 30, 0, 86_400),
    purge: Object.freeze(purge),
  });
}

/** Served by the app and used as preview images: safe images first, then common documents. */
export const DEFAULT_UPLOAD_CONTENT_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'application/pdf',
  'text/plain',
  'text/csv',
  'application/json',
  'application/zip',
  'application/octet-stream',
  'audio/mpeg',
  'video/mp4',
] as const;

function uploadsConfig(env: Env): UploadsConfig {
  const store = str(env, 'OBJECT_STORE')?.toLowerCase() ?? 'local';
  if (store !== 'local' && store !== 's3') {
    throw new ConfigError('OBJECT_STORE', `must be local or s3, got "${store}"`);
  }
  let s3: UploadsConfig['s3'];
  if (store === 's3') {
    const bucket = str(env, 'S3_BUCKET');
    if (bucket === undefined)
      throw new ConfigError('S3_BUCKET', 'is required with OBJECT_STORE=s3');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ConfigError('S3_BUCKET', 'must be a valid bucket name');
    }
    s3 = Object.freeze({
      bucket,
      region: str(env, 'S3_REGION'),
      endpoint: url(env, 'S3_ENDPOINT', ['http:', 'https:']),
      forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', false),
    });
  }
  const rawTypes = str(env, 'UPLOAD_CONTENT_TYPES');
  const contentTypes =
    rawTypes === undefined
      ? [...DEFAULT_UPLOAD_CONTENT_TYPES]
      : rawTypes
          .split(',')
          .map((t) => t.trim().toLowerCase())
          .filter((t) => t !== '');
  for (const t of contentTypes) {
    if (
      t !== '*' &&
      !/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$/.test(t)
    ) {
      throw new ConfigError(
        'UPLOAD_CONTENT_TYPES',
        `must be comma-separated type/subtype, type/* or *, got "${t}"`,
      );
    }
  }
  if (contentTypes.length === 0) {
    throw new ConfigError('UPLOAD_CONTENT_TYPES', 'must name at least one content type');
  }
  return Object.freeze({
    objectStore: store,
    s3,
    maxBytes: int(env, 'UPLOAD_MAX_BYTES', 100 * 1024 * 1024, 1, 5 * 1024 ** 4),
    contentTypes: Object.freeze(contentTypes),
    pendingTtlSeconds: int(env, 'UPLOAD_PENDING_TTL_SECONDS', 86_400, 300, 30 * 86_400),
    sweepIntervalSeconds: int(env, 'UPLOAD_SWEEP_INTERVAL_SECONDS', 600, 1, 86_400),
  });
}

function billingConfig(env: Env): BillingConfig {
  const pgUrl = ['postgres:', 'postgresql:'];
  const databaseUrl = url(env, 'BILLING_DATABASE_URL', pgUrl);
  const coordinatorDatabaseUrl = url(env, 'BILLING_COORDINATOR_DATABASE_URL', pgUrl);
  if (databaseUrl !== undefined && str(env, 'DATABASE_URL') === undefined) {
    throw new ConfigError(
      'BILLING_DATABASE_URL',
      'needs DATABASE_URL: a separate billing database is a server-mode setting',
    );
  }
  return Object.freeze({
    // The same database as the links is no separate billing database: one local transaction.
    databaseUrl: databaseUrl === str(env, 'DATABASE_URL') ? undefined : databaseUrl,
    coordinatorDatabaseUrl,
    premiumAliasMaxLength: int(env, 'PREMIUM_ALIAS_MAX_LENGTH', 4, 0, 64),
    premiumAliasCost: int(env, 'PREMIUM_ALIAS_COST', 1, 0, 1_000_000),
  });
}
