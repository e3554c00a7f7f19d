import { rowsOf, type SqlDatabase } from './executor.js';
import { MIGRATIONS } from './migrations/index.js';
import { DEFAULT_SCHEMA, quoteSchema } from './schema.js';

export interface MigrateOptions {
  /** PostgreSQL schema for the tables; default `"eventstore"`. */
  readonly schema?: string;
}

export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was already current). */
  readonly applied: readonly number[];
  /** The schema version now in place. */
  readonly version: number;
}

/**
 * Creates or upgrades the store's tables. Idempotent and safe to run from several processes
 * at once: it takes a transaction-scoped advisory lock, applies the missing numbered
 * migrations in order and records each in `<schema>.schema_migrations`, all in one
 * transaction (a failure leaves the schema as it was).
 *
 * @example
 * await migrate(db);                      // tables in schema "eventstore"
 * await migrate(db, { schema: 'billing' });
 */
export async function migrate(
  db: SqlDatabase,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const s = quoteSchema(schema);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `linkforge-eventstore-migrate:${schema}`,
    ]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version    integer PRIMARY KEY,
         name       text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await rowsOf<{ version: number }>(tx, `SELECT version FROM ${s}.schema_migrations`)).map(
        (r) => Number(r.version),
      ),
    );
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements(s)) await tx.query(statement);
      await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    return { applied, version: Math.max(latest, ...done) };
  });
}
