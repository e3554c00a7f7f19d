#!/usr/bin/env node
// The order → payment → inventory saga: each service keeps its own table and its own local
// transactions; the orchestrator runs them in order and, when inventory refuses, refunds the
// payment and cancels the order.
//
//   DATABASE_URL=postgres://… node examples/order-saga.mjs --order o-1 --item widget --qty 2 --amount 1999 --stock 5
//   DATABASE_URL=postgres://… node examples/order-saga.mjs --order o-2 --item widget --qty 9 --amount 4999
//
// Prints the saga outcome and the resulting rows as JSON.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { defineSaga, NonRetryableError, SagaOrchestrator } from '@linkforge/txn';

/** Tables of the three "services". Every write is keyed so that running it twice is harmless. */
export const SHOP_SCHEMA = `
  CREATE TABLE IF NOT EXISTS shop_orders (
    id text PRIMARY KEY,
    item text NOT NULL,
    qty integer NOT NULL CHECK (qty > 0),
    amount_cents integer NOT NULL CHECK (amount_cents >= 0),
    status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled'))
  );
  CREATE TABLE IF NOT EXISTS shop_payments (
    id bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    order_id text NOT NULL,
    amount_cents integer NOT NULL,
    status text NOT NULL CHECK (status IN ('charged', 'refunded')),
    refunded_at timestamptz
  );
  CREATE TABLE IF NOT EXISTS shop_inventory (
    item text PRIMARY KEY,
    stock integer NOT NULL CHECK (stock >= 0)
  );
  CREATE TABLE IF NOT EXISTS shop_reservations (
    idempotency_key text PRIMARY KEY,
    order_id text NOT NULL,
    item text NOT NULL,
    qty integer NOT NULL
  );
`;

/** Creates the tables and sets the stock of `item`. */
export async function setupShop(pool, { item, stock }) {
  await pool.query(SHOP_SCHEMA);
  if (stock !== undefined) {
    await pool.query(
      `INSERT INTO shop_inventory (item, stock) VALUES ($1, $2)
       ON CONFLICT (item) DO UPDATE SET stock = EXCLUDED.stock`,
      [item, stock],
    );
  }
}

async function inTransaction(pool, fn) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The saga definition. `input` is `{ orderId, item, qty, amountCents }`.
 * @param {pg.Pool} pool the shop database
 */
export function orderSaga(pool) {
  return defineSaga({
    name: 'order',
    steps: [
      {
        name: 'create-order',
        run: async ({ input }) => {
          await pool.query(
            `INSERT INTO shop_orders (id, item, qty, amount_cents, status) VALUES ($1, $2, $3, $4, 'pending')
             ON CONFLICT (id) DO NOTHING`,
            [input.orderId, input.item, input.qty, input.amountCents],
          );
          return { orderId: input.orderId };
        },
        compensate: async ({ input }) => {
          await pool.query(
            `UPDATE shop_orders SET status = 'cancelled' WHERE id = $1 AND status <> 'cancelled'`,
            [input.orderId],
          );
        },
      },
      {
        name: 'charge-payment',
        run: async ({ input, idempotencyKey }) => {
          // The idempotency key makes a re-run (retry or crash) find the first charge.
          await pool.query(
            `INSERT INTO shop_payments (idempotency_key, order_id, amount_cents, status)
             VALUES ($1, $2, $3, 'charged') ON CONFLICT (idempotency_key) DO NOTHING`,
            [idempotencyKey, input.orderId, input.amountCents],
          );
          const { rows } = await pool.query(
            'SELECT id FROM shop_payments WHERE idempotency_key = $1',
            [idempotencyKey],
          );
          return { paymentId: rows[0].id };
        },
        compensate: async ({ idempotencyKey }) => {
          await pool.query(
            `UPDATE shop_payments SET status = 'refunded', refunded_at = now()
             WHERE idempotency_key = $1 AND status = 'charged'`,
            [idempotencyKey],
          );
        },
      },
      {
        name: 'reserve-inventory',
        run: ({ input, idempotencyKey }) =>
          inTransaction(pool, async (c) => {
            const done = await c.query(
              'SELECT 1 FROM shop_reservations WHERE idempotency_key = $1',
              [idempotencyKey],
            );
            if (done.rowCount) return { reserved: input.qty };
            const { rowCount } = await c.query(
              'UPDATE shop_inventory SET stock = stock - $2 WHERE item = $1 AND stock >= $2',
              [input.item, input.qty],
            );
            if (!rowCount) {
              // A business refusal: retrying cannot help, so the saga compensates at once.
              throw new NonRetryableError(`out of stock: ${input.qty} × ${input.item}`, {
                code: 'OUT_OF_STOCK',
              });
            }
            await c.query(
              'INSERT INTO shop_reservations (idempotency_key, order_id, item, qty) VALUES ($1, $2, $3, $4)',
              [idempotencyKey, input.orderId, input.item, input.qty],
            );
            return { reserved: input.qty };
          }),
        compensate: ({ idempotencyKey }) =>
          inTransaction(pool, async (c) => {
            const { rows } = await c.query(
              'DELETE FROM shop_reservations WHERE idempotency_key = $1 RETURNING item, qty',
              [idempotencyKey],
            );
            for (const r of rows) {
              await c.query('UPDATE shop_inventory SET stock = stock + $2 WHERE item = $1', [
                r.item,
                r.qty,
              ]);
            }
          }),
      },
      {
        name: 'confirm-order',
        run: async ({ input }) => {
          await pool.query(`UPDATE shop_orders SET status = 'confirmed' WHERE id = $1`, [
            input.orderId,
          ]);
          return null;
        },
      },
    ],
  });
}

/** The rows an order left behind, for printing and for tests. */
export async function shopState(pool, orderId, item) {
  const order = await pool.query('SELECT id, status FROM shop_orders WHERE id = $1', [orderId]);
  const payments = await pool.query(
    'SELECT idempotency_key, amount_cents, status FROM shop_payments WHERE order_id = $1 ORDER BY id',
    [orderId],
  );
  const stock = await pool.query('SELECT stock FROM shop_inventory WHERE item = $1', [item]);
  const reservations = await pool.query('SELECT qty FROM shop_reservations WHERE order_id = $1', [
    orderId,
  ]);
  return {
    order: order.rows[0] ?? null,
    payments: payments.rows,
    stock: stock.rows[0]?.stock ?? null,
    reserved: reservations.rows.reduce((n, r) => n + r.qty, 0),
  };
}

function positiveInt(name, value, min = 1) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

async function main() {
  const { values } = parseArgs({
    options: {
      order: { type: 'string', default: `o-${Date.now().toString(36)}` },
      item: { type: 'string', default: 'widget' },
      qty: { type: 'string', default: '1' },
      amount: { type: 'string', default: '1000' },
      stock: { type: 'string' },
    },
  });
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: point it at a PostgreSQL database');
  const input = {
    orderId: values.order,
    item: values.item,
    qty: positiveInt('qty', values.qty),
    amountCents: positiveInt('amount', values.amount, 0),
  };
  const stock = values.stock === undefined ? undefined : positiveInt('stock', values.stock, 0);

  const pool = new pg.Pool({ connectionString: databaseUrl });
  pool.on('error', (err) => console.error(`idle database connection lost: ${err.message}`));
  const sagas = new SagaOrchestrator({ connection: pool, sagas: [orderSaga(pool)] });
  try {
    await setupShop(pool, { item: input.item, stock });
    await sagas.start();
    await sagas.resumeAll();
    const outcome = await sagas.execute('order', input, { sagaId: `order:${input.orderId}` });
    const { error: _error, ...printable } = outcome;
    console.log(
      JSON.stringify(
        { outcome: printable, ...(await shopState(pool, input.orderId, input.item)) },
        null,
        2,
      ),
    );
  } finally {
    await sagas.close();
    await pool.end();
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
