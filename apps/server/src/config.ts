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
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  /** Behind a proxy/load balancer: trust `X-Forwarded-For` for client IPs. */
  readonly trustProxy: boolean;
  /** Lifetime of a dashboard sign-in session. */
  readonly sessionTtlSeconds: number;
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
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', 8 * 3600, 60, 30 * 86_400),
  };
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(config.logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${levels.join(', ')}`);
  }
  return Object.freeze(config);
}
