import { randomBytes } from 'node:crypto';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { expect } from 'vitest';
import { buildApp, type BuildOptions, type BuiltApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ADMIN_KEY, auth } from './helpers.js';

export interface BillingService {
  readonly built: BuiltApp;
  readonly linksDb: TestDatabase | undefined;
  readonly billingDb: TestDatabase | undefined;
  close(): Promise<void>;
}

/**
 * A service for billing tests: `embedded` (in-memory PGlite, ledger in it), `same-db`
 * (PostgreSQL, ledger in the links database), `two-db` (links and billing in two PostgreSQL
 * databases: two-phase commit), or `custom` (PostgreSQL links, the billing port given in
 * `options.billing`).
 */
export async function startBillingService(
  kind: 'embedded' | 'same-db' | 'two-db' | 'custom',
  options: BuildOptions & { env?: Record<string, string>; keepDatabases?: boolean } = {},
): Promise<BillingService> {
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    BOOTSTRAP_API_KEY: ADMIN_KEY,
    PUBLIC_BASE_URL: 'http://sho.rt',
    CLICK_FLUSH_MS: '50',
    // 100 parallel claims from one client must not be rate limited.
    RATE_LIMIT_ENABLED: 'false',
    ...options.env,
  };
  let linksDb: TestDatabase | undefined;
  let billingDb: TestDatabase | undefined;
  if (kind === 'embedded') env['DATA_DIR'] = ':memory:';
  else {
    const url = serviceUrl('DATABASE_URL')!;
    linksDb = await createTestDatabase(url);
    env['DATABASE_URL'] = linksDb.url;
    env['REDIS_PREFIX'] = `lftest:${randomBytes(4).toString('hex')}:`;
    if (kind === 'two-db') {
      billingDb = await createTestDatabase(url);
      env['BILLING_DATABASE_URL'] = billingDb.url;
    }
  }
  const built = await buildApp(loadConfig(env), options);
  return {
    built,
    linksDb,
    billingDb,
    async close() {
      await built.app.close();
      if (options.keepDatabases !== true) {
        await linksDb?.drop();
        await billingDb?.drop();
      }
    },
  };
}

/**
 * Claims `count` distinct premium aliases at once with credits for `credits`, and checks the
 * outcome: exactly `credits` links, balance 0, every created alias paid once and every kept
 * payment backed by its alias.
 */
export async function parallelClaims(
  built: BuiltApp,
  prefix: string,
  count: number,
  credits: number,
): Promise<{ created: string[] }> {
  const inject = built.app.inject.bind(built.app);
  const deposit = await inject({
    method: 'POST',
    url: '/api/v1/billing/credits',
    headers: auth(),
    payload: { amount: credits },
  });
  expect(deposit.statusCode).toBe(201);
  const aliases = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
  const announced: string[] = [];
  const off = built.analytics.bus.on('link.created', (e) => {
    if (e.data.link.code.startsWith(prefix)) announced.push(e.data.link.code);
  });
  const responses = await Promise.all(
    aliases.map((alias) =>
      inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: `https://example.com/${alias}`, alias },
      }),
    ),
  );
  const statuses = responses.map((r) => r.statusCode);
  expect(statuses.filter((s) => s === 201)).toHaveLength(credits);
  expect(statuses.filter((s) => s === 402)).toHaveLength(count - credits);
  const created = aliases.filter((_, i) => statuses[i] === 201).sort();

  // The links database holds exactly the created aliases, each with its link.created event
  // (written in the link's transaction, delivered by the relay).
  const rows = await built.runtime.db.query<{ code: string }>(
    `SELECT code FROM links WHERE code LIKE $1 ORDER BY code`,
    [`${prefix}%`],
  );
  expect(rows.map((r) => r.code)).toEqual(created);
  // Their events come through the outbox relay: wait for as many as there are links.
  for (let i = 0; i < 500 && announced.length < created.length; i++)
    await new Promise((r) => setTimeout(r, 20));
  off();
  expect(announced.sort()).toEqual(created);

  // The ledger: balance 0, and the debits not refunded are exactly the created aliases.
  const ledger = built.billing.ledger;
  const workspaceId = 1;
  expect(await ledger.balance(workspaceId)).toMatchObject({ balance: 0 });
  const { items } = await ledger.history(workspaceId, { limit: 10_000 });
  const refunded = new Set(
    items.filter((e) => e.type === 'CreditsRefunded').map((e) => e.debitKey),
  );
  const paid = items
    .filter((e) => e.type === 'CreditsDebited' && !refunded.has(e.key))
    .map((e) => String(e.reference?.['alias']))
    .sort();
  expect(paid).toEqual(created);
  return { created };
}
