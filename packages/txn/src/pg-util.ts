import { createHash } from 'node:crypto';
import pg from 'pg';
import { TxnConfigError } from './errors.js';

/**
 * How to reach a PostgreSQL database: a connection string, a `pg` pool config, or a
 * `pg.Pool` you own (the package then never ends it).
 */
export type Connection = string | pg.PoolConfig | pg.Pool;

/** A pool plus whether we created it (and so must end it on close). */
export interface OwnedPool {
  readonly pool: pg.Pool;
  readonly owned: boolean;
}

/** Duck-typed so that a pool from another copy of `pg` in the app is still recognised. */
export function isPool(value: unknown): value is pg.Pool {
  if (value instanceof pg.Pool) return true;
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['connect'] === 'function' &&
    typeof v['query'] === 'function' &&
    typeof v['end'] === 'function'
  );
}

export function toPool(connection: Connection, label: string): OwnedPool {
  if (isPool(connection)) return { pool: connection, owned: false };
  let pool: pg.Pool;
  if (typeof connection === 'string') {
    if (connection.trim() === '') throw new TxnConfigError(`${label}: connection string is empty`);
    pool = new pg.Pool({ connectionString: connection });
  } else if (connection === null || typeof connection !== 'object') {
    throw new TxnConfigError(`${label}: connection must be a string, a pg.PoolConfig or a pg.Pool`);
  } else {
    pool = new pg.Pool(connection);
  }
  // An idle client dropped by the server (restart, failover, pg_terminate_backend) is removed
  // from the pool and the next query reconnects; without a listener the 'error' event would
  // crash the process.
  pool.on('error', () => undefined);
  return { pool, owned: true };
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates a table name we interpolate into SQL (identifiers cannot be parameters). */
export function checkIdentifier(value: unknown, label: string): string {
  if (typeof value !== 'string' || !IDENT.test(value)) {
    throw new TxnConfigError(
      `${label} must be a lower-case SQL identifier (letters, digits, _; at most 63), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function checkPositiveInt(value: unknown, label: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TxnConfigError(`${label} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** SQL string literal; only used for GIDs, which PREPARE/COMMIT PREPARED cannot take as parameters. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** SQLSTATE of a pg error, if any. */
export function sqlState(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * 64-bit advisory-lock key of an owner (a coordinator or orchestrator instance). A live
 * instance holds the session lock on its key; anyone else can then tell "alive" from "dead"
 * by trying the same key, without heartbeats or clocks.
 */
export function ownerLockKey(owner: string): string {
  const digest = createHash('sha256').update(`linkforge-txn-owner:${owner}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Holds the session-level advisory lock that says "this owner is alive" on a dedicated
 * connection. When the process dies the connection drops and PostgreSQL releases the lock.
 */
export class OwnerLock {
  private client: pg.PoolClient | undefined;
  private lost = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly owner: string,
  ) {}

  async acquire(): Promise<void> {
    // A pool client kept checked out for the instance's lifetime is the dedicated session.
    const client = await this.pool.connect();
    client.on('error', () => {
      // The connection dropped: our liveness lock is gone, so recovery elsewhere may take
      // over our transactions. Callers check `healthy` before starting new work.
      this.lost = true;
    });
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [ownerLockKey(this.owner)]);
    } catch (err) {
      client.release(true);
      throw err;
    }
    this.client = client;
  }

  get healthy(): boolean {
    return this.client !== undefined && !this.lost;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    // Destroying the session (not returning it to the pool) is what frees the lock.
    client?.release(true);
  }
}

/**
 * True when `owner` holds its liveness lock right now. Uses a transaction-scoped try-lock so
 * a crash of the checker never leaves a lock behind.
 */
export async function isOwnerAlive(pool: pg.Pool, owner: string): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ got: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1::bigint) AS got',
      [ownerLockKey(owner)],
    );
    await client.query('COMMIT');
    return rows[0]?.got !== true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Runs DDL under a transaction-scoped advisory lock so concurrent starts do not race. */
export async function migrate(
  pool: pg.Pool,
  lockName: string,
  statements: readonly string[],
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
      ownerLockKey(`migrate:${lockName}`),
    ]);
    for (const sql of statements) await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
