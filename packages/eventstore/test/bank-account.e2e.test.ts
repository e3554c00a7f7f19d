import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { createTestDatabase, serviceUrl } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStore, migrate, pgliteDatabase, type EventStore } from '../src/index.js';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../examples/bank-account.mjs', import.meta.url));

/** The example's exports (it is plain JavaScript, so typed here). */
interface BankAccountExample {
  deposit(store: EventStore, id: string, amount: number): Promise<number>;
  withdraw(store: EventStore, id: string, amount: number): Promise<number>;
  balance(store: EventStore, id: string): Promise<number>;
  balanceAt(store: EventStore, id: string, version: number): Promise<number>;
  InsufficientFundsError: new (...args: never[]) => Error;
}

const EXPECTED_OUTPUT = [
  'deposit 100    -> balance 100',
  'withdraw 30    -> balance 70',
  'deposit 50     -> balance 120',
  'withdraw 500   -> refused: ',
  'cannot withdraw 500, balance is 120',
  '2 × withdraw 80 at once -> 1 accepted, 1 refused',
  'balance after v2 (replay of 2 events): 70',
  'balance by replay: 40',
];

describe('examples/bank-account.mjs', () => {
  let bank: BankAccountExample;
  let pglite: PGlite;
  let store: EventStore;

  beforeAll(async () => {
    bank = (await import(pathToFileURL(example).href)) as BankAccountExample;
    pglite = await PGlite.create();
    const db = pgliteDatabase(pglite);
    await migrate(db);
    store = createEventStore({ db });
  });
  afterAll(async () => {
    await pglite?.close();
  });

  it('runs on embedded PGlite and prints the seed scenario: deposits, withdrawals, a refused overdraft, balance by replay', async () => {
    const env = { ...process.env };
    delete env['DATABASE_URL'];
    const { stdout } = await run(process.execPath, [example], { env, timeout: 60_000 });
    for (const line of EXPECTED_OUTPUT) expect(stdout).toContain(line);
    expect(stdout).toMatch(/v1 deposit 100 at \d{4}-\d\d-\d\dT/);
  });

  it('the balance is the replay of deposits and withdrawals, at the end and at any past version', async () => {
    await bank.deposit(store, 'a1', 500);
    await bank.withdraw(store, 'a1', 120);
    await bank.deposit(store, 'a1', 20);
    expect(await bank.balance(store, 'a1')).toBe(400);
    expect(await bank.balanceAt(store, 'a1', 1)).toBe(500);
    expect(await bank.balanceAt(store, 'a1', 2)).toBe(380);
  });

  it('an overdraft is refused by the aggregate and writes nothing', async () => {
    await bank.deposit(store, 'a2', 50);
    await expect(bank.withdraw(store, 'a2', 51)).rejects.toBeInstanceOf(
      bank.InsufficientFundsError,
    );
    expect((await store.readStream('account-a2')).version).toBe(1);
    expect(await bank.balance(store, 'a2')).toBe(50);
  });

  it('ten concurrent withdrawals of 20 from 100 accept exactly five and never overdraw', async () => {
    await bank.deposit(store, 'a3', 100);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => bank.withdraw(store, 'a3', 20)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(bank.InsufficientFundsError);
    }
    expect(await bank.balance(store, 'a3')).toBe(0);
  });

  it('refuses a non-positive or fractional amount', async () => {
    await expect(bank.deposit(store, 'a4', 0)).rejects.toThrow(RangeError);
    await expect(bank.withdraw(store, 'a4', 1.5)).rejects.toThrow(RangeError);
    expect((await store.readStream('account-a4')).exists).toBe(false);
  });
});

const url = serviceUrl('DATABASE_URL');

describe.skipIf(!url)('examples/bank-account.mjs on PostgreSQL', () => {
  it('runs against DATABASE_URL with the same outcome', async () => {
    const database = await createTestDatabase(url!, 'lf_eventstore_example');
    try {
      const { stdout } = await run(process.execPath, [example], {
        env: {
          ...process.env,
          DATABASE_URL: database.url,
          EVENTSTORE_SCHEMA: `bank_${randomBytes(4).toString('hex')}`,
        },
        timeout: 60_000,
      });
      expect(stdout).toContain('database: PostgreSQL');
      for (const line of EXPECTED_OUTPUT) expect(stdout).toContain(line);
    } finally {
      await database.drop();
    }
  });
});
