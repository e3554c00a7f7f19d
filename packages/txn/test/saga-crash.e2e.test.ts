import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SagaOrchestrator } from '../src/index.js';
import { tagged, waitForSessionsGone } from './helpers.js';
import { orderSaga, shopState } from '../examples/order-saga.mjs';

const url = serviceUrl('DATABASE_URL');
const child = fileURLToPath(new URL('./fixtures/saga-child.mjs', import.meta.url));

function runChild(
  env: Record<string, string>,
): Promise<{ signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${stderr}`));
      else resolve({ signal, stdout });
    });
  });
}

// Where the orchestrator dies, whether the order can be served, and how it must end.
interface CrashCase {
  at: string;
  qty: number;
  end: 'completed' | 'compensated';
  /** Stock set before resuming. */
  restock?: number;
}

const cases: CrashCase[] = [
  { at: 'step-started:charge-payment', qty: 2, end: 'completed' },
  // Charged, but the result was not logged: the step runs again and must not charge twice.
  { at: 'step-returned:charge-payment', qty: 2, end: 'completed' },
  { at: 'step-returned:reserve-inventory', qty: 2, end: 'completed' },
  { at: 'step-succeeded:confirm-order', qty: 2, end: 'completed' },
  // Inventory refuses (qty above stock): killed once the refusal is logged but before the saga
  // turns to compensating (the refusal must stand), then while refunding, before and after it.
  // Stock arrives before the resume: a re-run would now succeed, so only a kept verdict passes.
  { at: 'step-failed:reserve-inventory', qty: 50, end: 'compensated', restock: 100 },
  { at: 'compensation-started:charge-payment', qty: 50, end: 'compensated' },
  { at: 'compensation-returned:charge-payment', qty: 50, end: 'compensated' },
  { at: 'compensation-started:create-order', qty: 50, end: 'compensated' },
];

describe.skipIf(!url)('saga orchestrator killed with SIGKILL mid-saga, then resumed', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase(url!, 'lf_txn_sagacrash');
    pool = new pg.Pool({ connectionString: db.url });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it.each(cases)(
    'killed at $at (qty $qty): a new orchestrator resumes it to $end',
    async ({ at, qty, end, restock }) => {
      const orderId = `o-${at.replace(/[^a-z]/g, '')}`;
      const item = `item-${orderId}`;
      const app = `txn-saga-${orderId}`;
      const killed = await runChild({
        DATABASE_URL: tagged(db.url, app),
        ORDER_ID: orderId,
        ITEM: item,
        QTY: String(qty),
        STOCK: '10',
        SAGA_CRASH_AT: at,
      });
      expect(killed.signal).toBe('SIGKILL');
      expect(killed.stdout).toContain(at);
      expect(killed.stdout).not.toContain('finished');
      await waitForSessionsGone(url!, app);
      if (restock !== undefined) {
        await pool.query('UPDATE shop_inventory SET stock = $2 WHERE item = $1', [item, restock]);
      }

      const sagas = new SagaOrchestrator({ connection: pool, sagas: [orderSaga(pool)] });
      await sagas.start();
      try {
        const outcomes = await sagas.resumeAll();
        const mine = outcomes.find((o) => o.sagaId === `order:${orderId}`);
        expect(mine?.status).toBe(end);
      } finally {
        await sagas.close();
      }
      const state = await shopState(pool, orderId, item);
      // Exactly one payment whatever the number of runs, thanks to the idempotency key.
      expect(state.payments).toHaveLength(1);
      if (end === 'completed') {
        expect(state.order?.status).toBe('confirmed');
        expect(state.payments[0]?.status).toBe('charged');
        expect(state.stock).toBe(10 - qty);
        expect(state.reserved).toBe(qty);
      } else {
        expect(state.order?.status).toBe('cancelled');
        expect(state.payments[0]?.status).toBe('refunded');
        expect(state.stock).toBe(restock ?? 10);
        expect(state.reserved).toBe(0);
      }
    },
  );
});
