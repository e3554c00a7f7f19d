import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { buildApp, type BuiltApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';

export type Mode = 'embedded' | 'server';

/** Both modes when the services are there; embedded alone otherwise (outside CI). */
export function availableModes(): Mode[] {
  const db = serviceUrl('DATABASE_URL');
  const redis = serviceUrl('REDIS_URL');
  return db !== undefined && redis !== undefined ? ['embedded', 'server'] : ['embedded'];
}

export const ADMIN_KEY = `test-admin-${'x'.repeat(24)}`;

export interface TestService {
  readonly built: BuiltApp;
  readonly config: Config;
  close(): Promise<void>;
}

/**
 * A service in the given mode with its own storage: an in-memory PGlite, or a throwaway
 * PostgreSQL database and a unique Redis prefix.
 */
export async function startService(
  mode: Mode,
  env: Record<string, string> = {},
): Promise<TestService> {
  let database: TestDatabase | undefined;
  const base: Record<string, string> = {
    LOG_LEVEL: 'warn',
    BOOTSTRAP_API_KEY: ADMIN_KEY,
    PUBLIC_BASE_URL: 'http://sho.rt',
    CLICK_FLUSH_MS: '50',
  };
  if (mode === 'embedded') base['DATA_DIR'] = ':memory:';
  else {
    database = await createTestDatabase(serviceUrl('DATABASE_URL')!);
    base['DATABASE_URL'] = database.url;
    base['REDIS_URL'] = serviceUrl('REDIS_URL')!;
    base['REDIS_PREFIX'] = `lftest:${randomBytes(4).toString('hex')}:`;
  }
  const config = loadConfig({ ...base, ...env });
  const built = await buildApp(config);
  return {
    built,
    config,
    async close() {
      // The click stream outlives the app on Redis: drop this test's stream key too.
      const streamKey = `${config.redisPrefix}stream:${config.stream.name}`;
      const redis = mode === 'server' ? new Redis(config.redisUrl!) : undefined;
      try {
        await built.app.close();
        await redis?.del(streamKey);
      } finally {
        redis?.disconnect();
        await database?.drop();
      }
    },
  };
}

export const auth = (key: string = ADMIN_KEY) => ({ authorization: `Bearer ${key}` });
