import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ADMIN_KEY, auth } from './helpers.js';

const CHILD = fileURLToPath(new URL('./billing-crash-child.ts', import.meta.url));
const url = serviceUrl('DATABASE_URL');

async function prepared(dbUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM pg_prepared_xacts WHERE database = current_database()',
    );
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

describe.skipIf(!url)('premium claims after a coordinator crash mid two-phase commit', () => {
  let linksDb: TestDatabase;
  let billingDb: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    linksDb = await createTestDatabase(url!);
    billingDb = await createTestDatabase(url!);
    env = {
      LOG_LEVEL: 'warn',
      BOOTSTRAP_API_KEY: ADMIN_KEY,
      DATABASE_URL: linksDb.url,
      BILLING_DATABASE_URL: billingDb.url,
      PUBLIC_BASE_URL: 'http://sho.rt',
    };
    const built = await buildApp(loadConfig(env));
    const res = await built.app.inject({
      method: 'POST',
      url: '/api/v1/billing/credits',
      headers: auth(),
      payload: { amount: 5 },
    });
    expect(res.statusCode).toBe(201);
    await built.app.close();
  });
  afterAll(async () => {
    await linksDb?.drop();
    await billingDb?.drop();
  });

  /** Runs a claim in a child process that SIGKILLs itself at `crashAt`. */
  async function crashedClaim(crashAt: 'prepared' | 'decided', alias: string): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { PATH: process.env['PATH'] ?? '', ...env, CRASH_AT: crashAt, ALIAS: alias },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect({ code, signal, out }).toMatchObject({ signal: 'SIGKILL' });
  }

  /** Restarts the service on the same databases (start-up recovers), and reads the outcome. */
  async function restart(alias: string) {
    const built = await buildApp(loadConfig(env));
    try {
      const links = await built.runtime.db.query(`SELECT id FROM links WHERE code = $1`, [alias]);
      const { items } = await built.billing.ledger.history(1, { limit: 100 });
      const debits = items.filter(
        (e) => e.type === 'CreditsDebited' && e.reference?.['alias'] === alias,
      );
      const balance = (await built.billing.ledger.balance(1)).balance;
      return { links: links.length, debits: debits.length, balance };
    } finally {
      await built.app.close();
    }
  }

  it('decided commit: the restarted service commits both the alias and its debit', async () => {
    await crashedClaim('decided', 'cdec');
    // Both sides are in doubt, holding their locks, until a coordinator decides.
    expect(await prepared(linksDb.url)).toBe(1);
    expect(await prepared(billingDb.url)).toBe(1);
    expect(await restart('cdec')).toEqual({ links: 1, debits: 1, balance: 4 });
    expect(await prepared(linksDb.url)).toBe(0);
    expect(await prepared(billingDb.url)).toBe(0);
  });

  it('prepared but undecided: the restarted service rolls both back', async () => {
    await crashedClaim('prepared', 'cpre');
    expect(await prepared(linksDb.url)).toBe(1);
    expect(await prepared(billingDb.url)).toBe(1);
    expect(await restart('cpre')).toEqual({ links: 0, debits: 0, balance: 4 });
    expect(await prepared(linksDb.url)).toBe(0);
    expect(await prepared(billingDb.url)).toBe(0);
  });
});
