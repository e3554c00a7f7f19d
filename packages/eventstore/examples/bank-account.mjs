// @ts-check
// The seed's bank account, event-sourced: every deposit and withdrawal is an event in the
// account's stream, the balance is the replay of those events, and the account refuses a
// withdrawal that would overdraw it — checked against the state rebuilt from the events and
// made safe against concurrent withdrawals by the expected version.
//
// Run (embedded PGlite, nothing to install):
//   npm run build -w @linkforge/eventstore && node packages/eventstore/examples/bank-account.mjs
// Against PostgreSQL: DATABASE_URL=postgres://… node packages/eventstore/examples/bank-account.mjs
import { pathToFileURL } from 'node:url';
import { createEventStore, migrate, pgliteDatabase, pgPoolDatabase } from '@linkforge/eventstore';

/** Thrown by the aggregate when a withdrawal exceeds the balance. */
export class InsufficientFundsError extends Error {
  /** @param {string} accountId @param {number} balance @param {number} amount */
  constructor(accountId, balance, amount) {
    super(`account ${accountId}: cannot withdraw ${amount}, balance is ${balance}`);
    this.name = 'InsufficientFundsError';
    this.balance = balance;
    this.amount = amount;
  }
}

/**
 * @typedef {{ balance: number, transactions: number }} Account
 * @typedef {import('@linkforge/eventstore').RecordedEvent} RecordedEvent
 * @typedef {import('@linkforge/eventstore').EventStore} EventStore
 */

/** How the balance is rebuilt: fold the events, oldest first. */
export const account = {
  /** @returns {Account} */
  initialState: () => ({ balance: 0, transactions: 0 }),
  /** @param {Account} state @param {RecordedEvent} event @returns {Account} */
  evolve(state, event) {
    const { amount } = /** @type {{ amount: number }} */ (event.data);
    switch (event.type) {
      case 'deposit':
        return { balance: state.balance + amount, transactions: state.transactions + 1 };
      case 'withdrawal':
        return { balance: state.balance - amount, transactions: state.transactions + 1 };
      default:
        return state;
    }
  },
  // Replays start from a snapshot once an account has a long history.
  snapshot: { name: 'account', schemaVersion: 1, every: 50 },
};

/** @param {number} amount */
function checkAmount(amount) {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new RangeError(`amount must be a positive integer (cents), got ${amount}`);
  }
}

const streamOf = (/** @type {string} */ accountId) => `account-${accountId}`;

/** @param {EventStore} store @param {string} accountId @param {number} amount */
export async function deposit(store, accountId, amount) {
  checkAmount(amount);
  const result = await store.handle(streamOf(accountId), account, () => [
    { type: 'deposit', data: { amount } },
  ]);
  return result.state.balance;
}

/**
 * The aggregate decides: a withdrawal larger than the replayed balance is refused and nothing
 * is written. Two concurrent withdrawals cannot both pass the check: the second append fails
 * its expected version, `handle` replays again and decides again on the new balance.
 *
 * @param {EventStore} store @param {string} accountId @param {number} amount
 */
export async function withdraw(store, accountId, amount) {
  checkAmount(amount);
  const result = await store.handle(
    streamOf(accountId),
    account,
    (state) => {
      if (amount > state.balance) {
        throw new InsufficientFundsError(accountId, state.balance, amount);
      }
      return [{ type: 'withdrawal', data: { amount } }];
    },
    // Each lost race means another withdrawal went through, so retries stay bounded; allow
    // enough for a burst of concurrent withdrawals on one account.
    { maxRetries: 20 },
  );
  return result.state.balance;
}

/** Balance by replaying the account's events (from its snapshot when there is one). */
export async function balance(/** @type {EventStore} */ store, /** @type {string} */ accountId) {
  return (await store.aggregateStream(streamOf(accountId), account)).state.balance;
}

/** Balance after the account's first `version` events: state at any point in its history. */
export async function balanceAt(
  /** @type {EventStore} */ store,
  /** @type {string} */ accountId,
  /** @type {number} */ version,
) {
  const { events } = await store.readStream(streamOf(accountId), { toVersion: version });
  return events.reduce(account.evolve, account.initialState()).balance;
}

async function openDatabase() {
  const url = process.env['DATABASE_URL'];
  if (url) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url });
    return { db: pgPoolDatabase(pool), close: () => pool.end(), mode: 'PostgreSQL' };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create();
  return { db: pgliteDatabase(pglite), close: () => pglite.close(), mode: 'PGlite (in memory)' };
}

async function main() {
  const { db, close, mode } = await openDatabase();
  try {
    const schema = process.env['EVENTSTORE_SCHEMA'] ?? 'bank_example';
    await migrate(db, { schema });
    const store = createEventStore({ db, schema });
    const id = process.env['ACCOUNT_ID'] ?? `acc-${Date.now().toString(36)}`;
    console.log(`database: ${mode}, account ${id}`);

    console.log(`deposit 100    -> balance ${await deposit(store, id, 100)}`);
    console.log(`withdraw 30    -> balance ${await withdraw(store, id, 30)}`);
    console.log(`deposit 50     -> balance ${await deposit(store, id, 50)}`);
    try {
      await withdraw(store, id, 500);
    } catch (err) {
      if (!(err instanceof InsufficientFundsError)) throw err;
      console.log(`withdraw 500   -> refused: ${err.message}`);
    }

    // Two withdrawals of 80 at once from 120: the expected version lets only one through.
    const race = await Promise.allSettled([withdraw(store, id, 80), withdraw(store, id, 80)]);
    const refused = race.filter((r) => r.status === 'rejected').length;
    console.log(`2 × withdraw 80 at once -> ${2 - refused} accepted, ${refused} refused`);

    const { events } = await store.readStream(streamOf(id));
    console.log('history:');
    for (const e of events) {
      const { amount } = /** @type {{ amount: number }} */ (e.data);
      console.log(`  v${e.streamVersion} ${e.type} ${amount} at ${e.createdAt.toISOString()}`);
    }
    console.log(`balance after v2 (replay of 2 events): ${await balanceAt(store, id, 2)}`);
    console.log(`balance by replay: ${await balance(store, id)}`);
  } finally {
    await close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
