import { pgPoolDatabase, type SqlDatabase, type SqlExecutor } from '@linkforge/eventstore';
import pg from 'pg';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Postgrator from 'postgrator';
import type { Database, Queryable } from '../infra/db/database.js';
import { INT8_OID, parseInt8 } from '../infra/db/database.js';
import { MIGRATIONS_DIR } from '../infra/db/migrate.js';
import { CreditLedger } from './ledger.js';

/**
 * Where the credit ledger lives and how a premium-alias claim can be made atomic with it.
 * Three adapters:
 * - {@link linksDatabaseBilling}: the ledger in the links database (`sharesLinksDatabase`): the
 *   claim is one local transaction.
 * - {@link postgresBilling}: a separate PostgreSQL database that can `PREPARE TRANSACTION`
 *   (`twoPhase`): the claim is a two-phase commit.
 * - {@link nonPreparingBilling}: a ledger that cannot take part in a transaction of ours (an
 *   external payment service, or here any {@link SqlDatabase} such as PGlite): the claim is a
 *   saga — debit, reserve the alias, refund when the reserve fails.
 */
export interface BillingPort {
  /** Shown in logs and `/healthz`-style diagnostics. */
  readonly name: string;
  /** The workspace credit accounts. */
  readonly ledger: CreditLedger;
  /** The ledger is in the links database: debit inside the links transaction. */
  readonly sharesLinksDatabase: boolean;
  /** Present when the billing database can join a two-phase commit as a participant. */
  readonly twoPhase?: { readonly connection: pg.PoolConfig };
  /** Releases connections the port opened. */
  close(): Promise<void>;
}

/** 64-bit integers as JS numbers, as in the rest of the service. */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format);
  },
};

/** The app's {@link Queryable} as the event store's executor. */
export function executorOf(q: Queryable): SqlExecutor {
  return { query: async (sql, params) => ({ rows: await q.query(sql, params) }) };
}

/** A node-postgres client or 2PC participant as the app's {@link Queryable}. */
export function queryableOf(c: {
  query(sql: string, params?: readonly unknown[]): Promise<{ rows: unknown[] }>;
}): Queryable {
  return {
    query: async <R>(sql: string, params?: readonly unknown[]) =>
      (await c.query(sql, params ?? [])).rows as R[],
    exec: async (sql: string) => {
      await c.query(sql);
    },
  };
}

/** The app's {@link Database} as the event store's {@link SqlDatabase}. */
export function sqlDatabaseOf(db: Database): SqlDatabase {
  const root = executorOf(db);
  return {
    query: root.query,
    transaction: (fn) => db.transaction((tx) => fn(executorOf(tx))),
  };
}

/** The ledger in the links database (embedded default, and server mode without BILLING_DATABASE_URL). */
export async function linksDatabaseBilling(db: Database): Promise<BillingPort> {
  const ledger = new CreditLedger(sqlDatabaseOf(db));
  await ledger.migrate();
  return {
    name: `${db.kind} (links database)`,
    ledger,
    sharesLinksDatabase: true,
    close: async () => {},
  };
}

// Only the billing migrations (030–039) belong to a separate billing database.
const BILLING_MIGRATIONS = `${MIGRATIONS_DIR}03[0-9].do.*.sql`;
const BILLING_MIGRATION_LOCK = 4_747_030;
const BILLING_READ_MODEL = '030.do.billing-ledger.sql';

/**
 * A separate PostgreSQL billing database (`BILLING_DATABASE_URL`). It offers two-phase commit
 * when the server allows prepared transactions (`max_prepared_transactions > 0`); otherwise
 * claims fall back to a saga.
 */
export async function postgresBilling(url: string, poolMax = 10): Promise<BillingPort> {
  const config: pg.PoolConfig = { connectionString: url, max: poolMax, types: pgTypes };
  const pool = new pg.Pool(config);
  pool.on('error', () => undefined);
  try {
    await migrateBillingDatabase(pool);
    const ledger = new CreditLedger(pgPoolDatabase(pool));
    await ledger.migrate();
    const { rows } = await pool.query<{ max_prepared_transactions: string }>(
      'SHOW max_prepared_transactions',
    );
    const canPrepare = Number(rows[0]?.max_prepared_transactions ?? 0) > 0;
    return {
      name: 'postgresql',
      ledger,
      sharesLinksDatabase: false,
      ...(canPrepare ? { twoPhase: { connection: config } } : {}),
      close: () => pool.end(),
    };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

/**
 * A ledger on a database that cannot join our transactions (PGlite, or the stand-in for an
 * external payment service): claims run as sagas with idempotent debit and refund.
 *
 * @example
 * const port = await nonPreparingBilling(pgliteDatabase(await PGlite.create()));
 */
export async function nonPreparingBilling(
  db: SqlDatabase,
  name = 'non-preparing',
): Promise<BillingPort> {
  // Idempotent DDL, one statement at a time (the seam runs single parameterised statements).
  const sql = await readFile(join(MIGRATIONS_DIR, BILLING_READ_MODEL), 'utf8');
  for (const statement of sql.split(/;\s*\n/)) {
    const code = statement.replace(/^\s*--.*$/gm, '').trim();
    if (code !== '') await db.query(code);
  }
  const ledger = new CreditLedger(db);
  await ledger.migrate();
  return { name, ledger, sharesLinksDatabase: false, close: async () => {} };
}

async function migrateBillingDatabase(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [BILLING_MIGRATION_LOCK]);
    try {
      const postgrator = new Postgrator({
        migrationPattern: BILLING_MIGRATIONS,
        driver: 'pg',
        schemaTable: 'billing_schema_migrations',
        execQuery: async (sql) => ({ rows: (await client.query(sql)).rows }),
        execSqlScript: async (sql) => {
          try {
            await client.query(`BEGIN;\n${sql}\nCOMMIT;`);
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        },
      });
      await postgrator.migrate();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [BILLING_MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
