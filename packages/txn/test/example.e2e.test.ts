import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopState } from '../examples/order-saga.mjs';

const url = serviceUrl('DATABASE_URL');
const example = fileURLToPath(new URL('../examples/order-saga.mjs', import.meta.url));
const run = promisify(execFile);

interface Printed extends ShopState {
  outcome: {
    status: string;
    failure: { step: string; code?: string } | null;
    results: Record<string, unknown>;
  };
}

describe.skipIf(!url)('examples/order-saga.mjs (order → payment → inventory)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(url!, 'lf_txn_example');
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function order(args: string[]): Promise<Printed> {
    const { stdout } = await run(process.execPath, [example, ...args], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    return JSON.parse(stdout) as Printed;
  }

  it('with stock available, charges once, reserves and confirms the order', async () => {
    const out = await order([
      '--order',
      'ok-1',
      '--item',
      'lamp',
      '--qty',
      '2',
      '--amount',
      '1999',
      '--stock',
      '5',
    ]);
    expect(out.outcome.status).toBe('completed');
    expect(out.order?.status).toBe('confirmed');
    expect(out.payments).toEqual([
      { idempotency_key: 'order:ok-1:charge-payment', amount_cents: 1999, status: 'charged' },
    ]);
    expect(out.stock).toBe(3);
    expect(out.reserved).toBe(2);
  });

  it('when inventory refuses, refunds the payment and cancels the order', async () => {
    const out = await order([
      '--order',
      'short-1',
      '--item',
      'chair',
      '--qty',
      '9',
      '--amount',
      '4999',
      '--stock',
      '3',
    ]);
    expect(out.outcome.status).toBe('compensated');
    expect(out.outcome.failure).toMatchObject({ step: 'reserve-inventory', code: 'OUT_OF_STOCK' });
    expect(out.order?.status).toBe('cancelled');
    expect(out.payments).toEqual([
      { idempotency_key: 'order:short-1:charge-payment', amount_cents: 4999, status: 'refunded' },
    ]);
    expect(out.stock).toBe(3);
    expect(out.reserved).toBe(0);
  });

  it('running the same order again is idempotent: same outcome, still one payment', async () => {
    const out = await order([
      '--order',
      'ok-1',
      '--item',
      'lamp',
      '--qty',
      '2',
      '--amount',
      '1999',
    ]);
    expect(out.outcome.status).toBe('completed');
    expect(out.payments).toHaveLength(1);
    expect(out.stock).toBe(3);
  });

  it('rejects a bad quantity with a clear message and exit code 1', async () => {
    const err = (await run(process.execPath, [example, '--qty', 'many'], {
      env: { ...process.env, DATABASE_URL: db.url },
    }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/--qty must be an integer/);
  });
});

describe.skipIf(!url)(
  'examples/order-2pc.mjs (orders, payments, inventory in three databases)',
  () => {
    const example2pc = fileURLToPath(new URL('../examples/order-2pc.mjs', import.meta.url));
    const dbs: TestDatabase[] = [];
    let env: Record<string, string>;

    beforeAll(async () => {
      for (const name of ['orders', 'payments', 'inventory']) {
        dbs.push(await createTestDatabase(url!, `lf_txn_ex_${name}`));
      }
      env = {
        ORDERS_DATABASE_URL: dbs[0]!.url,
        PAYMENTS_DATABASE_URL: dbs[1]!.url,
        INVENTORY_DATABASE_URL: dbs[2]!.url,
      };
    });
    afterAll(async () => {
      await Promise.all(dbs.map((d) => d.drop()));
    });

    interface Printed2pc {
      outcome: { status: string; code?: string };
      order: { id: string; qty: number } | null;
      payment: { amount_cents: number } | null;
      stock: number | null;
    }

    async function order(args: string[]): Promise<Printed2pc> {
      const { stdout } = await run(process.execPath, [example2pc, ...args], {
        env: { ...process.env, ...env },
      });
      return JSON.parse(stdout) as Printed2pc;
    }

    it('commits the order, the payment and the reservation together', async () => {
      const out = await order([
        '--order',
        'p-1',
        '--item',
        'desk',
        '--qty',
        '2',
        '--amount',
        '300',
        '--stock',
        '5',
      ]);
      expect(out).toEqual({
        outcome: { status: 'committed' },
        order: { id: 'p-1', qty: 2 },
        payment: { amount_cents: 300 },
        stock: 3,
      });
    });

    it('when stock is short, none of the three databases keeps anything — no refund needed', async () => {
      const out = await order([
        '--order',
        'p-2',
        '--item',
        'desk',
        '--qty',
        '9',
        '--amount',
        '900',
      ]);
      expect(out).toEqual({
        outcome: { status: 'rolled back', reason: 'out of stock: 9 × desk', code: 'OUT_OF_STOCK' },
        order: null,
        payment: null,
        stock: 3,
      });
    });
  },
);
