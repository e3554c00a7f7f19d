import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { IN_MEMORY, type Config } from '../config.js';
import { MemoryClickCap, MemoryLinkCache } from './cache/memory-cache.js';
import type { ClickCap, LinkCache } from './cache/link-cache.js';
import { RedisClickCap, RedisLinkCache } from './cache/redis-cache.js';
import { memoryBroadcast, redisBroadcast, type Broadcast } from './broadcast.js';
import { lockDataDir } from './db/data-dir-lock.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { openPglite } from './db/pglite.js';
import { openPostgres } from './db/postgres.js';
import { memoryRateLimiter, redisRateLimiter, type RateLimiter } from './ratelimit/rate-limiter.js';

/** The adapters one process runs on, chosen from the config: embedded default or server mode. */
export interface Runtime {
  readonly mode: 'embedded' | 'server';
  readonly db: Database;
  readonly cache: LinkCache;
  readonly clickCap: ClickCap;
  readonly rateLimiter: RateLimiter;
  readonly redis: Redis | undefined;
  /** Messages to every instance (Redis pub/sub in server mode). */
  readonly broadcast: Broadcast;
  /** Key of the code permutation, shared by every instance. */
  readonly codeKey: Buffer;
  close(): Promise<void>;
}

export interface RuntimeLogger {
  warn(obj: object, msg: string): void;
}

export async function openDatabase(
  config: Config,
): Promise<{ db: Database; release: () => Promise<void> }> {
  if (config.databaseUrl !== undefined) {
    return {
      db: await openPostgres(config.databaseUrl, config.databasePoolMax),
      release: async () => {},
    };
  }
  if (config.dataDir === IN_MEMORY)
    return { db: await openPglite(undefined), release: async () => {} };
  const unlock = await lockDataDir(config.dataDir);
  try {
    return { db: await openPglite(join(config.dataDir, 'pg')), release: unlock };
  } catch (err) {
    await unlock();
    throw err;
  }
}

async function loadCodeKey(db: Database, config: Config): Promise<Buffer> {
  if (config.codeSecret !== undefined)
    return createHash('sha256').update(config.codeSecret).digest();
  await db.query(
    `INSERT INTO app_secrets (name, value) VALUES ('code_key', $1) ON CONFLICT (name) DO NOTHING`,
    [randomBytes(32)],
  );
  const rows = await db.query<{ value: Buffer | Uint8Array }>(
    `SELECT value FROM app_secrets WHERE name = 'code_key'`,
  );
  return Buffer.from(rows[0]!.value);
}

export async function openRuntime(config: Config, log: RuntimeLogger): Promise<Runtime> {
  const { db, release } = await openDatabase(config);
  const closers: (() => Promise<unknown>)[] = [release, () => db.close()];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    await migrate(db);
    const codeKey = await loadCodeKey(db, config);
    const cacheOptions = {
      ttlSeconds: config.cacheTtlSeconds,
      negativeTtlSeconds: Math.min(60, config.cacheTtlSeconds),
      maxEntries: 100_000,
    };
    const onStoreError = (err: unknown) =>
      log.warn({ err }, 'rate limiter store failed; request let through');
    if (config.redisUrl === undefined) {
      return {
        mode: config.databaseUrl === undefined ? 'embedded' : 'server',
        db,
        cache: new MemoryLinkCache(cacheOptions),
        clickCap: new MemoryClickCap(),
        rateLimiter: memoryRateLimiter({
          windowSeconds: config.rateLimit.windowSeconds,
          onStoreError,
        }),
        redis: undefined,
        broadcast: memoryBroadcast(),
        codeKey,
        close: closeAll,
      };
    }
    // Commands issued in one event-loop turn (rate limits, cache reads and invalidations of
    // concurrent requests) go to Redis as one pipeline.
    const redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 3,
      enableAutoPipelining: true,
    });
    redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
    closers.push(async () => redis.disconnect());
    await redis.connect();
    const cache = await RedisLinkCache.create(redis, {
      ...cacheOptions,
      prefix: config.redisPrefix,
      l1TtlMs: 30_000,
    });
    closers.push(() => cache.close());
    const broadcast = await redisBroadcast(redis, config.redisPrefix);
    closers.push(() => broadcast.close());
    return {
      mode: 'server',
      db,
      cache,
      clickCap: new RedisClickCap(redis, config.redisPrefix),
      rateLimiter: redisRateLimiter(redis, config.redisPrefix, {
        windowSeconds: config.rateLimit.windowSeconds,
        onStoreError,
      }),
      redis,
      broadcast,
      codeKey,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
