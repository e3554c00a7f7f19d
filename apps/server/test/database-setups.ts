import { createTestDatabase, serviceUrl } from '@linkforge/testkit';
import type { Database } from '../src/infra/db/database.js';
import { openPglite } from '../src/infra/db/pglite.js';
import { openPostgres } from '../src/infra/db/postgres.js';

/** One database a suite runs against: in-process PGlite, and PostgreSQL when configured. */
export interface DatabaseSetup {
  readonly name: 'PGlite' | 'PostgreSQL';
  open(): Promise<{ db: Database; cleanup(): Promise<void>; url?: string }>;
}

/**
 * PGlite always; a fresh PostgreSQL database (pool of `poolMax`) when `DATABASE_URL` is set —
 * and in CI, where it must be.
 */
export function databaseSetups(poolMax: number): DatabaseSetup[] {
  const setups: DatabaseSetup[] = [
    {
      name: 'PGlite',
      async open() {
        const db = await openPglite(undefined);
        return { db, cleanup: () => db.close() };
      },
    },
  ];
  const pgUrl = serviceUrl('DATABASE_URL');
  if (pgUrl !== undefined) {
    setups.push({
      name: 'PostgreSQL',
      async open() {
        const tdb = await createTestDatabase(pgUrl);
        const db = await openPostgres(tdb.url, poolMax);
        return {
          db,
          url: tdb.url,
          cleanup: async () => {
            await db.close();
            await tdb.drop();
          },
        };
      },
    });
  }
  return setups;
}
