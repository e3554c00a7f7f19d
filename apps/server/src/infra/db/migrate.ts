import { fileURLToPath } from 'node:url';
import Postgrator from 'postgrator';
import type { Database } from './database.js';

/** Numbered SQL files, `NNN.do.name.sql`, shipped beside the code. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

// Arbitrary constant: every instance takes this advisory lock so that two instances starting
// together never apply the same migration twice.
const MIGRATION_LOCK = 4_747_001;

export interface MigrationResult {
  readonly applied: string[];
  readonly version: number;
}

/** Brings the schema up to date with Postgrator, one migration per transaction. */
export async function migrate(db: Database): Promise<MigrationResult> {
  return db.session(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const postgrator = new Postgrator({
        migrationPattern: `${MIGRATIONS_DIR}*.sql`,
        driver: 'pg',
        schemaTable: 'schema_migrations',
        execQuery: async (sql) => ({ rows: await session.query(sql) }),
        execSqlScript: async (sql) => {
          try {
            await session.exec(`BEGIN;\n${sql}\nCOMMIT;`);
          } catch (err) {
            await session.exec('ROLLBACK').catch(() => undefined);
            throw err;
          }
        },
      });
      const applied = await postgrator.migrate();
      const version = Number(await postgrator.getDatabaseVersion());
      return { applied: applied.map((m) => m.filename), version };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  });
}
