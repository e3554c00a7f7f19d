/**
 * The one seam between the event store and a database driver.
 *
 * Anything with a `query(sql, params)` method that resolves to `{ rows }` is an executor: a
 * `pg` `Pool`, `Client` or `PoolClient`, and PGlite or a PGlite transaction all fit as they
 * are. The store only needs a {@link SqlDatabase} (an executor that can also open a
 * transaction) for the operations that must be atomic; a caller who already holds a
 * transaction passes it as a plain executor and the store writes inside it.
 */
export interface SqlExecutor {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** An executor that can run a function inside one transaction on one connection. */
export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` inside `BEGIN … COMMIT` on a single connection; rolls back and rethrows when `fn`
   * throws.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/** The part of a `pg` `PoolClient` the adapter uses. */
export interface PgPoolClientLike extends SqlExecutor {
  release(err?: Error | boolean): void;
}

/** The part of a `pg` `Pool` the adapter uses. */
export interface PgPoolLike extends SqlExecutor {
  connect(): Promise<PgPoolClientLike>;
}

/**
 * Adapts a `pg` `Pool` (server mode). Plain queries go through the pool; a transaction checks
 * out one client, runs `BEGIN`/`COMMIT` on it and returns it to the pool. A client whose
 * `ROLLBACK` failed is destroyed rather than returned, so a broken connection is never reused.
 *
 * @example
 * import pg from 'pg';
 * const db = pgPoolDatabase(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * const store = createEventStore({ db });
 */
export function pgPoolDatabase(pool: PgPoolLike): SqlDatabase {
  return {
    query: (sql, params) => pool.query(sql, params),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
      } catch (err) {
        client.release(err instanceof Error ? err : true);
        throw err;
      }
      let result: T;
      try {
        result = await fn(client);
      } catch (err) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch (rollbackError) {
          client.release(rollbackError instanceof Error ? rollbackError : true);
        }
        throw err;
      }
      try {
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : true);
        throw err;
      }
      return result;
    },
  };
}

/** The part of a PGlite instance the adapter uses. */
export interface PGliteLike extends SqlExecutor {
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/**
 * Adapts PGlite (embedded mode). PGlite is one connection: its own `transaction()` holds it for
 * the duration, so statements from elsewhere wait instead of landing inside the transaction.
 *
 * @example
 * import { PGlite } from '@electric-sql/pglite';
 * const db = pgliteDatabase(await PGlite.create('./.data/events'));
 * const store = createEventStore({ db });
 */
export function pgliteDatabase(db: PGliteLike): SqlDatabase {
  return {
    query: (sql, params) => db.query(sql, params),
    transaction: (fn) => db.transaction((tx) => fn(tx)),
  };
}

/** Runs a query and returns its rows typed as `R` (the SQL decides the shape). */
export async function rowsOf<R>(
  executor: SqlExecutor,
  sql: string,
  params?: unknown[],
): Promise<R[]> {
  const result = await executor.query(sql, params);
  return result.rows as R[];
}
