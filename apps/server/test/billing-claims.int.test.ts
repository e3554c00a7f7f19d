import { PGlite } from '@electric-sql/pglite';
import { pgliteDatabase } from '@linkforge/eventstore';
import { serviceUrl } from '@linkforge/testkit';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { nonPreparingBilling } from '../src/billing/billing-port.js';
import type { PremiumAliasGate } from '../src/billing/premium-aliases.js';
import { parallelClaims, startBillingService } from './billing-helpers.js';
import { auth } from './helpers.js';

const strategyOf = (gate: PremiumAliasGate | undefined) => gate?.strategy.kind;

/** Prepared transactions left on a database (they would hold locks until someone decides). */
async function preparedOn(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
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

describe('premium aliases under concurrency: 100 parallel claims with credits for 10', () => {
  it('embedded (one PGlite database, one local transaction per claim)', async () => {
    const svc = await startBillingService('embedded');
    try {
      expect(strategyOf(svc.built.billing.gate)).toBe('local');
      await parallelClaims(svc.built, 'e', 100, 10);
    } finally {
      await svc.close();
    }
  });

  describe.skipIf(!serviceUrl('DATABASE_URL'))('server mode', () => {
    it('two PostgreSQL databases (two-phase commit); nothing is left prepared', async () => {
      const svc = await startBillingService('two-db');
      try {
        expect(strategyOf(svc.built.billing.gate)).toBe('two-phase');
        await parallelClaims(svc.built, 't', 100, 10);
        expect(await preparedOn(svc.linksDb!.url)).toBe(0);
        expect(await preparedOn(svc.billingDb!.url)).toBe(0);
      } finally {
        await svc.close();
      }
    });

    it('one PostgreSQL database without BILLING_DATABASE_URL (local transaction)', async () => {
      const svc = await startBillingService('same-db');
      try {
        expect(strategyOf(svc.built.billing.gate)).toBe('local');
        await parallelClaims(svc.built, 'l', 100, 10);
      } finally {
        await svc.close();
      }
    });

    it('billing that cannot prepare (PGlite ledger): sagas, failed debits leave no trace', async () => {
      const pglite = await PGlite.create();
      const port = await nonPreparingBilling(pgliteDatabase(pglite), 'pglite');
      const svc = await startBillingService('custom', { billing: port });
      try {
        expect(strategyOf(svc.built.billing.gate)).toBe('saga');
        await parallelClaims(svc.built, 's', 100, 10);
      } finally {
        await svc.close();
        await pglite.close();
      }
    });
  });
});

describe.skipIf(!serviceUrl('DATABASE_URL'))('the saga path', () => {
  it('refunds the debit when the reserve step fails because the alias is taken', async () => {
    const pglite = await PGlite.create();
    const port = await nonPreparingBilling(pgliteDatabase(pglite), 'pglite');
    const svc = await startBillingService('custom', { billing: port });
    try {
      const inject = svc.built.app.inject.bind(svc.built.app);
      await inject({
        method: 'POST',
        url: '/api/v1/billing/credits',
        headers: auth(),
        payload: { amount: 2 },
      });
      // The first claim pays and takes the alias.
      const first = await inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: 'https://example.com/first', alias: 'gold' },
      });
      expect(first.statusCode).toBe(201);
      expect((await port.ledger.balance(1)).balance).toBe(1);

      const second = await inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: 'https://example.com/second', alias: 'gold' },
      });
      expect(second.statusCode).toBe(409);
      expect(second.json()).toMatchObject({ code: 'alias_taken' });

      // Debited, then refunded: the balance is back, and the ledger shows both.
      expect((await port.ledger.balance(1)).balance).toBe(1);
      const { items } = await port.ledger.history(1, { limit: 10 });
      expect(items.map((e) => e.type)).toEqual([
        'CreditsRefunded',
        'CreditsDebited',
        'CreditsDebited',
        'CreditsDeposited',
      ]);
      expect(items[0]!.debitKey).toBe(items[1]!.key);
      expect(items[1]!.reference).toMatchObject({ alias: 'gold' });
      const link = await svc.built.runtime.db.query<{ url: string }>(
        `SELECT url FROM links WHERE code = 'gold'`,
      );
      expect(link).toEqual([{ url: 'https://example.com/first' }]);

      // The saga log records the compensation.
      const sagas = await svc.built.runtime.db.query<{ status: string }>(
        `SELECT status FROM billing_sagas ORDER BY created_at`,
      );
      expect(sagas.map((s) => s.status)).toEqual(['completed', 'compensated']);
    } finally {
      await svc.close();
      await pglite.close();
    }
  });
});
