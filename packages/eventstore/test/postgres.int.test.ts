import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import pg from 'pg';
import { describe } from 'vitest';
import { pgPoolDatabase } from '../src/index.js';
import { eventStoreContract } from './contract.js';

const url = serviceUrl('DATABASE_URL');

describe.skipIf(!url)('PostgreSQL (pg Pool)', () => {
  let database: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  eventStoreContract('PostgreSQL', {
    concurrentTransactions: true,
    async open() {
      database = await createTestDatabase(url!, 'lf_eventstore');
      pool = new pg.Pool({ connectionString: database.url, max: 10 });
      // Dropping the database at the end terminates idle connections; that is expected.
      pool.on('error', () => undefined);
      return pgPoolDatabase(pool);
    },
    async close() {
      await pool?.end();
      await database?.drop();
    },
  });
});
