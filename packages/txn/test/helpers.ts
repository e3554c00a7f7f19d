import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@linkforge/testkit';
import pg from 'pg';

/** Coordinator database plus two participant databases, each with an `items` table. */
export interface TwoPcDatabases {
  readonly coordinator: TestDatabase;
  readonly a: TestDatabase;
  readonly b: TestDatabase;
  drop(): Promise<void>;
}

export async function createTwoPcDatabases(serverUrl: string): Promise<TwoPcDatabases> {
  const coordinator = await createTestDatabase(serverUrl, 'lf_txn_coord');
  const a = await createTestDatabase(serverUrl, 'lf_txn_a');
  const b = await createTestDatabase(serverUrl, 'lf_txn_b');
  for (const db of [a, b]) {
    await withClient(db.url, (c) => c.query('CREATE TABLE items (id text PRIMARY KEY, note text)'));
  }
  return {
    coordinator,
    a,
    b,
    drop: async () => {
      // Prepared transactions pin a database: clear any left by a failed test first.
      for (const db of [a, b]) {
        await withClient(db.url, async (c) => {
          const { rows } = await c.query<{ gid: string }>(
            'SELECT gid FROM pg_prepared_xacts WHERE database = current_database()',
          );
          for (const { gid } of rows)
            await c.query(`ROLLBACK PREPARED '${gid.replace(/'/g, "''")}'`);
        });
      }
      await Promise.all([coordinator.drop(), a.drop(), b.drop()]);
    },
  };
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function itemIds(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ id: string }>('SELECT id FROM items ORDER BY id');
    return rows.map((r) => r.id);
  });
}

/** Prepared transactions on the whole server whose GID starts with `prefix:`. */
export async function preparedWithPrefix(serverUrl: string, prefix: string): Promise<string[]> {
  return withClient(serverUrl, async (c) => {
    const { rows } = await c.query<{ gid: string }>(
      'SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1) ORDER BY gid',
      [`${prefix}:`],
    );
    return rows.map((r) => r.gid);
  });
}

/** A GID prefix no other test run uses. */
export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

export async function logStates(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ state: string }>(
      'SELECT state FROM txn_2pc_log ORDER BY created_at',
    );
    return rows.map((r) => r.state);
  });
}

/** `url` with `application_name` set, so a test can find the sessions it opened. */
export function tagged(url: string, applicationName: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', applicationName);
  return u.toString();
}

/**
 * Waits until the server has ended every session named `applicationName`: after a SIGKILL the
 * backends notice the closed socket a moment later, and only then release their locks.
 */
export async function waitForSessionsGone(
  serverUrl: string,
  applicationName: string,
): Promise<void> {
  await withClient(serverUrl, async (c) => {
    for (let i = 0; i < 200; i++) {
      const { rowCount } = await c.query(
        'SELECT 1 FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      if (!rowCount) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`sessions of ${applicationName} are still open after 5 s`);
  });
}
