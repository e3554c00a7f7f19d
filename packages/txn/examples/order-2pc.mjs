#!/usr/bin/env node
// The seed's 2PC scenario: an order, its payment and its stock reservation live in three
// databases (they may be on three servers) and commit together or not at all. Unlike the saga
// version, a refusal needs no refund: nothing was ever committed.
//
//   ORDERS_DATABASE_URL=postgres://…/orders PAYMENTS_DATABASE_URL=postgres://…/payments \
//   INVENTORY_DATABASE_URL=postgres://…/inventory \
//   node examples/order-2pc.mjs --order o-1 --item widget --qty 2 --amount 1999 --stock 5
//
// The coordinator logs its decisions in the orders database unless COORDINATOR_DATABASE_URL
// says otherwise. Prints the outcome and each database's rows as JSON.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { TwoPhaseCoordinator } from '@linkforge/txn';

const SCHEMAS = {
  orders: `CREATE TABLE IF NOT EXISTS orders (
    id text PRIMARY KEY, item text NOT NULL, qty integer NOT NULL CHECK (qty > 0), amount_cents integer NOT NULL
  )`,
  payments: `CREATE TABLE IF NOT EXISTS payments (
    order_id text PRIMARY KEY, amount_cents integer NOT NULL CHECK (amount_cents >= 0)
  )`,
  inventory: `CREATE TABLE IF NOT EXISTS inventory (item text PRIMARY KEY, stock integer NOT NULL CHECK (stock >= 0))`,
};

/** Thrown by the work when stock is short; `run` rethrows it after rolling back everywhere. */
export class OutOfStockError extends Error {
  code = 'OUT_OF_STOCK';
}

/** Places one order atomically across the three databases. */
export function placeOrder(coordinator, { orderId, item, qty, amountCents }) {
  return coordinator.run(async ({ orders, payments, inventory }) => {
    await orders.query('INSERT INTO orders (id, item, qty, amount_cents) VALUES ($1, $2, $3, $4)', [
      orderId,
      item,
      qty,
      amountCents,
    ]);
    await payments.query('INSERT INTO payments (order_id, amount_cents) VALUES ($1, $2)', [
      orderId,
      amountCents,
    ]);
    const reserved = await inventory.query(
      'UPDATE inventory SET stock = stock - $2 WHERE item = $1 AND stock >= $2',
      [item, qty],
    );
    if (reserved.rowCount !== 1) throw new OutOfStockError(`out of stock: ${qty} × ${item}`);
    return { orderId };
  });
}

function positiveInt(name, value, min = 1) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
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
  const input = {
    orderId: values.order,
    item: values.item,
    qty: positiveInt('qty', values.qty),
    amountCents: positiveInt('amount', values.amount, 0),
  };
  const urls = {
    orders: required('ORDERS_DATABASE_URL'),
    payments: required('PAYMENTS_DATABASE_URL'),
    inventory: required('INVENTORY_DATABASE_URL'),
  };
  const pools = Object.fromEntries(
    Object.entries(urls).map(([name, url]) => {
      const pool = new pg.Pool({ connectionString: url });
      pool.on('error', (err) => console.error(`idle ${name} connection lost: ${err.message}`));
      return [name, pool];
    }),
  );
  const coordinator = new TwoPhaseCoordinator({
    log: process.env.COORDINATOR_DATABASE_URL || urls.orders,
    participants: Object.entries(pools).map(([name, pool]) => ({ name, connection: pool })),
    gidPrefix: 'example-order',
  });
  try {
    for (const [name, pool] of Object.entries(pools)) await pool.query(SCHEMAS[name]);
    if (values.stock !== undefined) {
      await pools.inventory.query(
        'INSERT INTO inventory (item, stock) VALUES ($1, $2) ON CONFLICT (item) DO UPDATE SET stock = EXCLUDED.stock',
        [input.item, positiveInt('stock', values.stock, 0)],
      );
    }
    await coordinator.start();
    let outcome;
    try {
      await placeOrder(coordinator, input);
      outcome = { status: 'committed' };
    } catch (err) {
      if (!(err instanceof OutOfStockError)) throw err;
      outcome = { status: 'rolled back', reason: err.message, code: err.code };
    }
    const order = await pools.orders.query('SELECT id, qty FROM orders WHERE id = $1', [
      input.orderId,
    ]);
    const payment = await pools.payments.query(
      'SELECT amount_cents FROM payments WHERE order_id = $1',
      [input.orderId],
    );
    const stock = await pools.inventory.query('SELECT stock FROM inventory WHERE item = $1', [
      input.item,
    ]);
    console.log(
      JSON.stringify(
        {
          outcome,
          order: order.rows[0] ?? null,
          payment: payment.rows[0] ?? null,
          stock: stock.rows[0]?.stock ?? null,
        },
        null,
        2,
      ),
    );
  } finally {
    await coordinator.close();
    await Promise.all(Object.values(pools).map((p) => p.end()));
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
