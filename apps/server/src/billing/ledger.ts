import { randomUUID } from 'node:crypto';
import {
  createEventStore,
  migrate as migrateEventStore,
  type AggregateOptions,
  type EventStore,
  type Projection,
  type RecordedEvent,
  type SqlDatabase,
  type SqlExecutor,
} from '@linkforge/eventstore';
import { AppError } from '../errors.js';

/** Event types of a workspace's credit account. */
export const CREDITS_DEPOSITED = 'CreditsDeposited';
export const CREDITS_DEBITED = 'CreditsDebited';
export const CREDITS_REFUNDED = 'CreditsRefunded';

/** PostgreSQL schema of the ledger's event tables. */
export const LEDGER_SCHEMA = 'billing_ledger';

/** Largest single deposit, and largest balance an account may hold. */
export const MAX_DEPOSIT = 1_000_000;
export const MAX_BALANCE = 1_000_000_000;

export interface CreditsDepositedData {
  readonly amount: number;
  readonly key: string;
  readonly note?: string;
}
export interface CreditsDebitedData {
  readonly amount: number;
  readonly key: string;
  /** What was paid for, e.g. `{ kind: 'premium-alias', alias, linkId }`. */
  readonly reference: Readonly<Record<string, string | number>>;
}
export interface CreditsRefundedData {
  readonly amount: number;
  readonly key: string;
  /** Key of the debit this refund undoes. */
  readonly debitKey: string;
}

export interface Balance {
  readonly workspaceId: number;
  readonly balance: number;
  /** Number of ledger events so far (the account stream's version). */
  readonly version: number;
}

export interface LedgerEntry {
  readonly version: number;
  readonly type: string;
  readonly amount: number;
  /** Signed change of the balance. */
  readonly delta: number;
  readonly key: string;
  readonly reference?: Readonly<Record<string, string | number>>;
  readonly debitKey?: string;
  readonly note?: string;
  readonly at: string;
}

export interface LedgerPage {
  readonly items: readonly LedgerEntry[];
  /** Pass as `before` for the next (older) page; `null` at the first entry. */
  readonly nextBefore: number | null;
}

export interface DebitInput {
  readonly workspaceId: number;
  readonly amount: number;
  /** Idempotency key: a second debit with the same key returns the first one's balance. */
  readonly key: string;
  readonly reference: Readonly<Record<string, string | number>>;
}

interface AccountState {
  readonly balance: number;
}

const account: AggregateOptions<AccountState> = {
  initialState: () => ({ balance: 0 }),
  evolve: (state, event) => ({ balance: state.balance + delta(event) }),
  // Replays stay short however long an account's history grows.
  snapshot: { name: 'credit-account', schemaVersion: 1, every: 100 },
};

function delta(event: RecordedEvent): number {
  const { amount } = event.data as { amount: number };
  switch (event.type) {
    case CREDITS_DEPOSITED:
    case CREDITS_REFUNDED:
      return amount;
    case CREDITS_DEBITED:
      return -amount;
    default:
      return 0;
  }
}

const streamOf = (workspaceId: number) => `credits-${workspaceId}`;

const KIND: Record<string, 'deposit' | 'debit' | 'refund'> = {
  [CREDITS_DEPOSITED]: 'deposit',
  [CREDITS_DEBITED]: 'debit',
  [CREDITS_REFUNDED]: 'refund',
};

/**
 * Keeps `billing_accounts` and `billing_operations` in step with the events, inside the
 * appending transaction (an inline projection), so balance reads and idempotency checks never
 * see a state the events do not.
 */
const readModel: Projection = {
  name: 'billing-read-model',
  eventTypes: [CREDITS_DEPOSITED, CREDITS_DEBITED, CREDITS_REFUNDED],
  async handle(events, tx) {
    for (const event of events) {
      const workspaceId = Number(event.streamId.slice('credits-'.length));
      const { amount, key } = event.data as { amount: number; key: string };
      // The CHECK (balance >= 0) also applies to the proposed insert row, so a debit must not
      // propose a negative one; the row always exists by then (the commands lock it first).
      await tx.query(
        `INSERT INTO billing_accounts (workspace_id, balance, version, updated_at)
         VALUES ($1, greatest($2::bigint, 0), $3, now())
         ON CONFLICT (workspace_id) DO UPDATE
           SET balance = billing_accounts.balance + $2::bigint, version = $3, updated_at = now()`,
        [workspaceId, delta(event), event.streamVersion],
      );
      await tx.query(
        `INSERT INTO billing_operations (op_key, workspace_id, kind, amount, stream_version)
         VALUES ($1, $2, $3, $4, $5)`,
        [key, workspaceId, KIND[event.type], amount, event.streamVersion],
      );
    }
  },
};

const KEY = /^[\x21-\x7e]{1,200}$/;

function checkAmount(amount: number, max: number, what: string): void {
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > max) {
    throw new AppError('validation_failed', `${what} must be an integer from 1 to ${max}.`);
  }
}

/**
 * A workspace's credits as an event-sourced account: the balance is the replay of
 * `CreditsDeposited`, `CreditsDebited` and `CreditsRefunded` events (with snapshots), and the
 * aggregate refuses an overdraft. Works over any {@link SqlDatabase} (PostgreSQL or PGlite);
 * the `*In(tx, …)` operations write inside a transaction the caller owns (a local transaction
 * shared with the links database, or one participant of a two-phase commit).
 *
 * @example
 * const ledger = new CreditLedger(pgPoolDatabase(pool));
 * await ledger.migrate();
 * await ledger.deposit(1, 10);
 * await ledger.debit({ workspaceId: 1, amount: 1, key: 'claim-42', reference: { alias: 'abc' } });
 * (await ledger.balance(1)).balance; // 9
 */
export class CreditLedger {
  readonly store: EventStore;

  constructor(readonly db: SqlDatabase) {
    this.store = createEventStore({ db, schema: LEDGER_SCHEMA, inlineProjections: [readModel] });
  }

  /** Creates the event tables (the read-model tables come from migration 030). */
  async migrate(): Promise<void> {
    await migrateEventStore(this.db, { schema: LEDGER_SCHEMA });
  }

  async balance(workspaceId: number, tx: SqlExecutor = this.db): Promise<Balance> {
    const { rows } = await tx.query(
      `SELECT balance::text AS balance, version::text AS version
         FROM billing_accounts WHERE workspace_id = $1`,
      [workspaceId],
    );
    const row = rows[0] as { balance: string; version: string } | undefined;
    return {
      workspaceId,
      balance: row === undefined ? 0 : Number(row.balance),
      version: row === undefined ? 0 : Number(row.version),
    };
  }

  /** Ledger entries, newest first, `limit` per page, older than stream version `before`. */
  async history(
    workspaceId: number,
    page: { before?: number | undefined; limit: number },
  ): Promise<LedgerPage> {
    const { version } = await this.balance(workspaceId);
    const toVersion = Math.min(version, (page.before ?? Number.MAX_SAFE_INTEGER) - 1);
    if (toVersion < 1) return { items: [], nextBefore: null };
    const fromVersion = Math.max(1, toVersion - page.limit + 1);
    const { events } = await this.store.readStream(streamOf(workspaceId), {
      fromVersion,
      toVersion,
    });
    const items = [...events].reverse().map((e): LedgerEntry => {
      const data = e.data as Partial<
        CreditsDebitedData & CreditsRefundedData & CreditsDepositedData
      >;
      return {
        version: e.streamVersion,
        type: e.type,
        amount: data.amount ?? 0,
        delta: delta(e),
        key: data.key ?? '',
        ...(data.reference !== undefined ? { reference: data.reference } : {}),
        ...(data.debitKey !== undefined ? { debitKey: data.debitKey } : {}),
        ...(data.note !== undefined ? { note: data.note } : {}),
        at: e.createdAt.toISOString(),
      };
    });
    return { items, nextBefore: fromVersion > 1 ? fromVersion : null };
  }

  /** Adds credits (an administrator's top-up). */
  async deposit(
    workspaceId: number,
    amount: number,
    options: { key?: string; note?: string } = {},
  ): Promise<Balance> {
    checkAmount(amount, MAX_DEPOSIT, 'amount');
    const key = options.key ?? `deposit:${randomUUID()}`;
    return this.db.transaction(async (tx) => {
      await this.#lock(tx, workspaceId);
      if (await this.#operation(tx, key)) return this.balance(workspaceId, tx);
      const result = await this.store.handle(
        streamOf(workspaceId),
        account,
        (state) => {
          if (state.balance + amount > MAX_BALANCE) {
            throw new AppError(
              'validation_failed',
              `A balance may not exceed ${MAX_BALANCE} credits (now ${state.balance}).`,
            );
          }
          const data: CreditsDepositedData =
            options.note === undefined ? { amount, key } : { amount, key, note: options.note };
          return [{ type: CREDITS_DEPOSITED, data }];
        },
        { tx, maxRetries: 0 },
      );
      return { workspaceId, balance: result.state.balance, version: result.nextExpectedVersion };
    });
  }

  /**
   * Debits inside the caller's transaction. Refuses (402 `payment_required`) when the balance
   * is short; a debit whose key is already recorded changes nothing. The workspace's account
   * row stays locked until the caller's transaction ends, so concurrent debits serialise.
   */
  async debitIn(tx: SqlExecutor, input: DebitInput): Promise<Balance> {
    checkAmount(input.amount, MAX_BALANCE, 'amount');
    if (!KEY.test(input.key)) throw new AppError('validation_failed', 'Bad idempotency key.');
    await this.#lock(tx, input.workspaceId);
    if (await this.#operation(tx, input.key)) return this.balance(input.workspaceId, tx);
    const result = await this.store.handle(
      streamOf(input.workspaceId),
      account,
      (state) => {
        if (state.balance < input.amount) throw insufficient(state.balance, input.amount);
        const data: CreditsDebitedData = {
          amount: input.amount,
          key: input.key,
          reference: input.reference,
        };
        return [{ type: CREDITS_DEBITED, data }];
      },
      { tx, maxRetries: 0 },
    );
    return {
      workspaceId: input.workspaceId,
      balance: result.state.balance,
      version: result.nextExpectedVersion,
    };
  }

  /** {@link debitIn} in a transaction of its own. */
  async debit(input: DebitInput): Promise<Balance> {
    return this.db.transaction((tx) => this.debitIn(tx, input));
  }

  /**
   * Refunds the debit recorded under `debitKey`, once. Nothing to refund (no such debit, or
   * already refunded) is not an error. Returns whether a refund was written now.
   */
  async refund(debitKey: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const debit = await this.#operation(tx, debitKey);
      if (debit === undefined || debit.kind !== 'debit') return false;
      const key = `refund:${debitKey}`;
      await this.#lock(tx, debit.workspaceId);
      if (await this.#operation(tx, key)) return false;
      const data: CreditsRefundedData = { amount: debit.amount, key, debitKey };
      await this.store.handle(
        streamOf(debit.workspaceId),
        account,
        () => [{ type: CREDITS_REFUNDED, data }],
        { tx, maxRetries: 0 },
      );
      return true;
    });
  }

  /** Whether a debit under `key` is recorded and not refunded. */
  async isPaid(key: string): Promise<boolean> {
    const debit = await this.#operation(this.db, key);
    if (debit === undefined || debit.kind !== 'debit') return false;
    return (await this.#operation(this.db, `refund:${key}`)) === undefined;
  }

  async #lock(tx: SqlExecutor, workspaceId: number): Promise<void> {
    await tx.query(
      `INSERT INTO billing_accounts (workspace_id) VALUES ($1) ON CONFLICT (workspace_id) DO NOTHING`,
      [workspaceId],
    );
    await tx.query(`SELECT 1 FROM billing_accounts WHERE workspace_id = $1 FOR UPDATE`, [
      workspaceId,
    ]);
  }

  async #operation(
    tx: SqlExecutor,
    key: string,
  ): Promise<{ workspaceId: number; kind: string; amount: number } | undefined> {
    const { rows } = await tx.query(
      `SELECT workspace_id::text AS workspace_id, kind, amount::text AS amount
         FROM billing_operations WHERE op_key = $1`,
      [key],
    );
    const row = rows[0] as { workspace_id: string; kind: string; amount: string } | undefined;
    return row === undefined
      ? undefined
      : { workspaceId: Number(row.workspace_id), kind: row.kind, amount: Number(row.amount) };
  }
}

function insufficient(balance: number, required: number): AppError {
  return new AppError(
    'payment_required',
    `This needs ${required} credit${required === 1 ? '' : 's'}; the workspace has ${balance}.`,
    { extra: { balance, required } },
  );
}
