import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import {
  CommitPendingError,
  DatabaseUnreachableError,
  DecisionConflictError,
  PrepareFailedError,
  PreparedTransactionsDisabledError,
  PrepareTimeoutError,
  ResolutionIncompleteError,
  TxnAlreadyDecidedError,
  TxnConfigError,
  TxnInFlightError,
  TxnNotFoundError,
  TxnNotPreparedError,
  TxnNotStartedError,
  TxnOutcomeUnknownError,
} from '../errors.js';
import {
  checkIdentifier,
  checkPositiveInt,
  isOwnerAlive,
  isPool,
  OwnerLock,
  quoteLiteral,
  sleep,
  sqlState,
  toPool,
  type Connection,
  type OwnedPool,
} from '../pg-util.js';
import { LogStore, type LogParticipant, type LogRow, type LogState } from './log-store.js';

/** One database that takes part in distributed transactions. */
export interface ParticipantOptions<P extends string = string> {
  /** Unique name; the key of this participant in {@link TwoPhaseCoordinator.run}'s callback. */
  readonly name: P;
  /** Where it lives. Participants may be on different servers. */
  readonly connection: Connection;
}

/** Points in the protocol reported to {@link CoordinatorOptions.onStep}, in order. */
export type TwoPhaseStep =
  | { readonly type: 'before-prepare'; readonly txid: string }
  | {
      readonly type: 'prepared';
      readonly txid: string;
      readonly participant: string;
      readonly index: number;
    }
  | { readonly type: 'decided'; readonly txid: string; readonly decision: 'commit' | 'abort' }
  | {
      readonly type: 'committed';
      readonly txid: string;
      readonly participant: string;
      readonly index: number;
    };

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface CoordinatorOptions<P extends string> {
  /** The coordinator's own database, which holds the durable decision log. */
  readonly log: Connection;
  /** The participants; at least one, names unique. */
  readonly participants: readonly ParticipantOptions<P>[];
  /**
   * Prefix of every GID this coordinator prepares (`<prefix>:<txid>:<index>`). Recovery only
   * touches prepared transactions with its own prefix. Letters, digits, `_`, `-`; at most 40.
   * Default `lftxn`. Coordinators sharing a prefix must share the log.
   */
  readonly gidPrefix?: string;
  /** Name of the log table in the coordinator database. Default `txn_2pc_log`. */
  readonly logTable?: string;
  /** How long one participant may take to answer PREPARE before the coordinator aborts. Default 5000. */
  readonly prepareTimeoutMs?: number;
  /** Attempts at COMMIT/ROLLBACK PREPARED per participant in phase two before giving up to recovery. Default 3. */
  readonly phaseTwoAttempts?: number;
  /** First delay between phase-two attempts, doubled each time. Default 100 ms. */
  readonly phaseTwoRetryDelayMs?: number;
  /**
   * Send PREPARE (and COMMIT PREPARED) to all participants at once rather than one after the
   * other. Parallel costs one round of disk flushes per phase instead of one per participant;
   * sequential stops at the first "no". Default true.
   */
  readonly parallelPhases?: boolean;
  /** Isolation level of each participant's transaction. Default `read committed`. */
  readonly isolationLevel?: IsolationLevel;
  /** Run {@link TwoPhaseCoordinator.recover} inside `start()`. Default true. */
  readonly recoverOnStart?: boolean;
  /**
   * After `start()`, run `recover()` again every this many ms, so transactions left by a
   * participant that was down, or by a coordinator that died while we run, still finish.
   * 0 disables. Default 60000.
   */
  readonly recoveryIntervalMs?: number;
  /** Receives the report (or error) of every background recovery pass. */
  readonly onRecovery?: (result: RecoveryReport | Error) => void;
  /**
   * Called at each protocol step (awaited). For tracing, metrics and crash testing; an error it
   * throws is treated like a crash at that point.
   */
  readonly onStep?: (step: TwoPhaseStep) => void | Promise<void>;
}

/** A participant's open transaction, handed to the work callback of `run()`. */
export interface ParticipantTx {
  /** The participant's name. */
  readonly name: string;
  /**
   * Runs a parameterised query inside the participant's transaction. Do not send
   * COMMIT/ROLLBACK yourself: the coordinator owns the transaction's outcome.
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
  /**
   * The session itself, for libraries that want a `pg` client (an event store appending in
   * this transaction, say). Same rules: no COMMIT, ROLLBACK or release — a transaction ended
   * behind the coordinator's back votes "no" at PREPARE and everything rolls back.
   */
  readonly client: pg.ClientBase;
}

export interface RunOptions<S extends string> {
  /** Only open transactions on these participants (default: all). */
  readonly participants?: readonly S[];
}

/** One participant's side of an in-doubt transaction. */
export interface InDoubtParticipant {
  readonly name: string;
  readonly gid: string;
  /** Whether a prepared transaction with this GID exists now; `unreachable` when we could not ask. */
  readonly prepared: boolean | 'unreachable';
  readonly preparedAt?: Date;
}

/** A transaction whose outcome is not yet applied everywhere, as the admin view shows it. */
export interface InDoubtTransaction {
  readonly txid: string;
  /** Log state; `unlogged` for prepared transactions with our prefix that the log never saw. */
  readonly state: LogState | 'unlogged';
  /** What recovery will do: `commit` for a logged commit decision, `abort` otherwise, `wait` while the owner is alive and undecided. */
  readonly resolution: 'commit' | 'abort' | 'wait';
  readonly owner: string | null;
  readonly ownerAlive: boolean;
  readonly createdAt: Date | null;
  readonly participants: readonly InDoubtParticipant[];
}

/** What one `recover()` pass did. */
export interface RecoveryReport {
  readonly committed: readonly string[];
  readonly rolledBack: readonly string[];
  /** Transactions left alone because a live coordinator owns them. */
  readonly inFlight: readonly string[];
  /** Transactions that could not be finished (e.g. a participant is down); retried next pass. */
  readonly failed: readonly { readonly txid: string; readonly error: Error }[];
}

const PREFIX = /^[A-Za-z0-9_-]{1,40}$/;
const GID_REST = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(\d{1,4})$/;
const ISOLATION: readonly IsolationLevel[] = ['read committed', 'repeatable read', 'serializable'];

interface Participant {
  readonly name: string;
  readonly pool: pg.Pool;
  readonly owned: boolean;
}

interface Candidate {
  readonly txid: string;
  row: LogRow | undefined;
  /** participant name → prepared xact seen on it */
  readonly prepared: Map<string, { gid: string; preparedAt: Date }>;
  readonly unreachable: Map<string, Error>;
}

type Slot =
  | { phase: 'open'; client: pg.PoolClient }
  | { phase: 'prepared'; client: pg.PoolClient | undefined }
  | { phase: 'lost'; pid: number }
  | { phase: 'done' };

/**
 * Two-phase commit coordinator over PostgreSQL participants, with a durable decision log,
 * presumed-abort recovery and an admin view of in-doubt transactions.
 *
 * @example
 * const coordinator = new TwoPhaseCoordinator({
 *   log: process.env.COORDINATOR_DATABASE_URL!,
 *   participants: [
 *     { name: 'billing', connection: process.env.BILLING_DATABASE_URL! },
 *     { name: 'links', connection: process.env.DATABASE_URL! },
 *   ],
 * });
 * await coordinator.start(); // creates the log table and recovers in-doubt transactions
 * await coordinator.run(async ({ billing, links }) => {
 *   await billing.query('UPDATE accounts SET credits = credits - 1 WHERE id = $1', [workspace]);
 *   await links.query('INSERT INTO aliases (alias, workspace) VALUES ($1, $2)', [alias, workspace]);
 * });
 * await coordinator.close();
 */
export class TwoPhaseCoordinator<P extends string = string> {
  /** Identity of this coordinator instance in the log; its liveness lock is keyed on it. */
  readonly owner: string;
  readonly gidPrefix: string;

  private readonly logPool: OwnedPool;
  private readonly log: LogStore;
  private readonly participants = new Map<string, Participant>();
  private readonly prepareTimeoutMs: number;
  private readonly phaseTwoAttempts: number;
  private readonly phaseTwoRetryDelayMs: number;
  private readonly begin: string;
  private readonly recoverOnStart: boolean;
  private readonly parallel: boolean;
  private readonly onStep: ((step: TwoPhaseStep) => void | Promise<void>) | undefined;
  private readonly active = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly recoveryIntervalMs: number;
  private readonly onRecovery: ((result: RecoveryReport | Error) => void) | undefined;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private recovering: Promise<unknown> | undefined;
  private lock: OwnerLock | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';

  constructor(options: CoordinatorOptions<P>) {
    if (options === null || typeof options !== 'object')
      throw new TxnConfigError('options are required');
    const prefix = options.gidPrefix ?? 'lftxn';
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw new TxnConfigError(
        `gidPrefix must match ${PREFIX.source}, got ${JSON.stringify(prefix)}`,
      );
    }
    this.gidPrefix = prefix;
    const table = checkIdentifier(options.logTable ?? 'txn_2pc_log', 'logTable');
    this.prepareTimeoutMs = checkPositiveInt(options.prepareTimeoutMs ?? 5000, 'prepareTimeoutMs');
    this.phaseTwoAttempts = checkPositiveInt(options.phaseTwoAttempts ?? 3, 'phaseTwoAttempts');
    this.phaseTwoRetryDelayMs = checkPositiveInt(
      options.phaseTwoRetryDelayMs ?? 100,
      'phaseTwoRetryDelayMs',
      0,
    );
    const isolation = options.isolationLevel ?? 'read committed';
    if (!ISOLATION.includes(isolation)) {
      throw new TxnConfigError(
        `isolationLevel must be one of ${ISOLATION.join(', ')}, got ${JSON.stringify(isolation)}`,
      );
    }
    this.begin = `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}`;
    if (options.onStep !== undefined && typeof options.onStep !== 'function') {
      throw new TxnConfigError('onStep must be a function');
    }
    this.onStep = options.onStep;
    this.recoverOnStart = options.recoverOnStart ?? true;
    this.parallel = options.parallelPhases ?? true;
    if (typeof this.parallel !== 'boolean')
      throw new TxnConfigError('parallelPhases must be a boolean');
    this.recoveryIntervalMs = checkPositiveInt(
      options.recoveryIntervalMs ?? 60_000,
      'recoveryIntervalMs',
      0,
    );
    if (options.onRecovery !== undefined && typeof options.onRecovery !== 'function') {
      throw new TxnConfigError('onRecovery must be a function');
    }
    this.onRecovery = options.onRecovery;
    if (!Array.isArray(options.participants) || options.participants.length === 0) {
      throw new TxnConfigError('participants must be a non-empty array');
    }
    if (options.participants.length > 1000) throw new TxnConfigError('at most 1000 participants');
    for (const p of options.participants) {
      if (!p || typeof p.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(p.name)) {
        throw new TxnConfigError(
          `participant name must be an identifier-like string, got ${JSON.stringify(p?.name)}`,
        );
      }
      if (this.participants.has(p.name))
        throw new TxnConfigError(`participant "${p.name}" is listed twice`);
      // Pools are created last so that a config error above leaks nothing.
      this.participants.set(p.name, {
        name: p.name,
        pool: undefined as unknown as pg.Pool,
        owned: false,
      });
    }
    // One run holds a client of every participant and then needs a log client: sharing one
    // pg.Pool between them can exhaust it with every holder waiting for another (a deadlock).
    const given = [options.log, ...options.participants.map((p) => p.connection)].filter(isPool);
    if (new Set(given).size !== given.length) {
      throw new TxnConfigError(
        'the log and each participant need their own pg.Pool (or a connection string): a shared pool can deadlock',
      );
    }
    this.logPool = toPool(options.log, 'log');
    for (const p of options.participants) {
      const { pool, owned } = toPool(p.connection, `participant "${p.name}"`);
      this.participants.set(p.name, { name: p.name, pool, owned });
    }
    this.log = new LogStore(this.logPool.pool, table, prefix);
    this.owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  }

  /**
   * Checks every participant can prepare, creates the log table if needed, takes this
   * instance's liveness lock and (unless `recoverOnStart: false`) recovers in-doubt
   * transactions. Returns the recovery report (empty when recovery was skipped).
   *
   * @example
   * const report = await coordinator.start();
   * if (report.failed.length) console.warn('in-doubt transactions remain', report.failed);
   */
  async start(): Promise<RecoveryReport> {
    if (this.state !== 'new')
      throw new TxnNotStartedError('TwoPhaseCoordinator (start() was already called)');
    for (const p of this.participants.values()) {
      const { rows } = await p.pool
        .query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions')
        .catch((err: unknown) => {
          throw new DatabaseUnreachableError(p.name, err);
        });
      if (Number(rows[0]?.max_prepared_transactions ?? 0) === 0)
        throw new PreparedTransactionsDisabledError(p.name);
    }
    await this.logPool.pool.query('SELECT 1').catch((err: unknown) => {
      throw new DatabaseUnreachableError('log', err);
    });
    await this.log.migrate();
    this.lock = new OwnerLock(this.logPool.pool, this.owner);
    await this.lock.acquire();
    this.state = 'started';
    const report = this.recoverOnStart
      ? await this.recover()
      : { committed: [], rolledBack: [], inFlight: [], failed: [] };
    if (this.recoveryIntervalMs > 0) {
      this.recoveryTimer = setInterval(() => this.backgroundRecovery(), this.recoveryIntervalMs);
      // Background recovery must never keep a process alive on its own.
      this.recoveryTimer.unref();
    }
    return report;
  }

  /**
   * Runs `work` inside one transaction per participant and commits them atomically with
   * two-phase commit. If `work` throws, every transaction is rolled back and its error is
   * rethrown unchanged. Resolves with `work`'s result once every participant has committed.
   *
   * Throws {@link PrepareFailedError} / {@link PrepareTimeoutError} when a participant votes
   * no (all rolled back), {@link DecisionConflictError} when recovery elsewhere aborted it first,
   * and {@link CommitPendingError} when the commit is decided but a participant could not be
   * reached in phase two (recovery finishes it).
   *
   * @example
   * const aliasId = await coordinator.run(async ({ billing, links }) => {
   *   await billing.query('UPDATE credits SET balance = balance - $2 WHERE workspace = $1', [ws, 1]);
   *   const { rows } = await links.query<{ id: string }>('INSERT INTO aliases (alias) VALUES ($1) RETURNING id', ['ab']);
   *   return rows[0]!.id;
   * });
   */
  async run<T, S extends P = P>(
    work: (tx: Record<S, ParticipantTx>) => Promise<T>,
    options: RunOptions<S> = {},
  ): Promise<T> {
    this.assertStarted();
    const running = this.runOnce(work, options);
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.finally(() => this.inflight.delete(settled));
    return running;
  }

  private async runOnce<T, S extends P = P>(
    work: (tx: Record<S, ParticipantTx>) => Promise<T>,
    options: RunOptions<S>,
  ): Promise<T> {
    if (typeof work !== 'function') throw new TxnConfigError('run(work): work must be a function');
    const names = this.selectParticipants(options.participants);
    const txid = randomUUID();
    const entries: LogParticipant[] = names.map((name, i) => ({
      name,
      gid: `${this.gidPrefix}:${txid}:${i}`,
    }));
    const slots: Slot[] = [];
    this.active.add(txid);
    try {
      // Work phase: an ordinary transaction on each participant.
      const tx = {} as Record<S, ParticipantTx>;
      try {
        for (const name of names) {
          const client = await this.participant(name).pool.connect();
          slots.push({ phase: 'open', client });
          await client.query(this.begin);
          tx[name as S] = {
            name,
            query: (text, values) => client.query(text, values as unknown[]),
            client,
          };
        }
      } catch (err) {
        await this.rollbackOpen(slots);
        throw err;
      }
      let result: T;
      try {
        result = await work(tx);
      } catch (err) {
        await this.rollbackOpen(slots);
        throw err;
      }
      try {
        // The intent record must be durable before the first PREPARE: recovery finds every
        // prepared GID of ours through it (or presumes abort when it is missing).
        await this.log.begin(txid, this.owner, entries);
      } catch (err) {
        await this.rollbackOpen(slots);
        throw err;
      }
      await this.step({ type: 'before-prepare', txid });

      // Phase one. In parallel mode every participant prepares at once (one round of fsyncs);
      // sequential mode stops at the first "no". Hooks run in participant order either way.
      const votes: Awaited<ReturnType<typeof this.prepareOne>>[] = [];
      if (this.parallel) {
        votes.push(...(await Promise.all(entries.map((e, i) => this.prepareOne(slots, i, e.gid)))));
      }
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        const vote = this.parallel ? votes[i]! : await this.prepareOne(slots, i, entry.gid);
        if (vote !== 'yes') {
          const failure =
            vote === 'timeout'
              ? new PrepareTimeoutError(txid, entry.name, this.prepareTimeoutMs)
              : new PrepareFailedError(txid, entry.name, vote.reason, vote.cause);
          await this.abort(txid, entries, slots);
          throw failure;
        }
        await this.step({ type: 'prepared', txid, participant: entry.name, index: i });
      }

      // The decision point: once this row says committing, the transaction commits.
      let decided: LogState | undefined;
      try {
        decided = await this.log.decide(txid, 'committing', this.owner);
      } catch (err) {
        // The write may have landed with only its answer lost: asking again is safe, since the
        // compare-and-set returns the state that won either way.
        try {
          decided = await this.log.decide(txid, 'committing', this.owner);
        } catch {
          throw new TxnOutcomeUnknownError(txid, err);
        }
      }
      if (decided !== 'committing') {
        await this.abort(txid, entries, slots);
        throw new DecisionConflictError(txid, decided ?? 'missing');
      }
      await this.step({ type: 'decided', txid, decision: 'commit' });

      // Phase two.
      const commitOne = async (i: number): Promise<unknown> => {
        const entry = entries[i]!;
        const slot = slots[i]!;
        const client = slot.phase === 'prepared' ? slot.client : undefined;
        try {
          await this.finishPrepared(entry.name, entry.gid, 'COMMIT', client);
          slots[i] = { phase: 'done' };
          client?.release();
          return undefined;
        } catch (err) {
          return err ?? new Error('COMMIT PREPARED failed');
        }
      };
      const commitErrors: unknown[] = [];
      if (this.parallel)
        commitErrors.push(...(await Promise.all(entries.map((_, i) => commitOne(i)))));
      const pending: string[] = [];
      let lastError: unknown;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        const err = this.parallel ? commitErrors[i] : await commitOne(i);
        if (err !== undefined) {
          pending.push(entry.name);
          lastError = err;
          continue;
        }
        await this.step({ type: 'committed', txid, participant: entry.name, index: i });
      }
      if (pending.length > 0) throw new CommitPendingError(txid, pending, lastError);
      // Every participant committed: a failure to mark the row finished only leaves work for
      // recovery (which finds nothing prepared and closes it), so it must not fail the call.
      await this.log.finish(txid, 'committed').catch(() => undefined);
      return result;
    } finally {
      for (const slot of slots) {
        if (slot.phase === 'open' || (slot.phase === 'prepared' && slot.client))
          slot.client?.release(true);
      }
      this.active.delete(txid);
    }
  }

  /**
   * Resolves every in-doubt transaction of this coordinator's prefix: a logged commit decision
   * is committed, anything else (undecided with a dead owner, decided abort, or prepared
   * transactions the log never saw) is rolled back. Transactions owned by a live coordinator
   * are left alone. Safe to run at any time and from several processes at once.
   *
   * @example
   * const { committed, rolledBack, failed } = await coordinator.recover();
   */
  async recover(): Promise<RecoveryReport> {
    this.assertStarted();
    const committed: string[] = [];
    const rolledBack: string[] = [];
    const inFlight: string[] = [];
    const failed: { txid: string; error: Error }[] = [];
    for (const c of (await this.inspect()).values()) {
      try {
        const outcome = await this.resolve(c, 'recover');
        if (outcome === 'commit') committed.push(c.txid);
        else if (outcome === 'abort') rolledBack.push(c.txid);
        else inFlight.push(c.txid);
      } catch (err) {
        failed.push({ txid: c.txid, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    return { committed, rolledBack, inFlight, failed };
  }

  /**
   * Admin view: every transaction of this prefix that is logged but not finished, or that
   * still has a prepared transaction on some participant.
   *
   * @example
   * for (const t of await coordinator.listInDoubt()) console.log(t.txid, t.state, t.resolution);
   */
  async listInDoubt(): Promise<InDoubtTransaction[]> {
    this.assertStarted();
    const out: InDoubtTransaction[] = [];
    for (const c of (await this.inspect()).values()) {
      const row = c.row;
      const ownerAlive = row ? await this.ownerAlive(row) : false;
      let resolution: InDoubtTransaction['resolution'];
      if (!row) resolution = 'abort';
      else if (row.state === 'committing' || row.state === 'committed') resolution = 'commit';
      else if (row.state === 'preparing' && ownerAlive) resolution = 'wait';
      else resolution = 'abort';
      out.push({
        txid: c.txid,
        state: row?.state ?? 'unlogged',
        resolution,
        owner: row?.owner ?? null,
        ownerAlive,
        createdAt: row?.createdAt ?? null,
        participants: this.participantsOf(c).map(({ name, gid }) => {
          const seen = c.prepared.get(name);
          if (c.unreachable.has(name)) return { name, gid, prepared: 'unreachable' as const };
          return seen
            ? { name, gid, prepared: true, preparedAt: seen.preparedAt }
            : { name, gid, prepared: false };
        }),
      });
    }
    return out.sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
  }

  /**
   * Operator override: commits an in-doubt transaction. Allowed when commit is already decided,
   * or when it is undecided, its owner is dead and every participant holds its prepared
   * transaction. Throws {@link TxnAlreadyDecidedError}, {@link TxnNotPreparedError},
   * {@link TxnInFlightError} or {@link TxnNotFoundError} otherwise, changing nothing.
   *
   * @example
   * await coordinator.forceCommit('0b8f…');
   */
  async forceCommit(txid: string): Promise<void> {
    await this.force(txid, 'commit');
  }

  /**
   * Operator override: rolls back an in-doubt transaction that is not decided commit.
   * Throws {@link TxnAlreadyDecidedError} for a logged commit decision, {@link TxnInFlightError}
   * while its owner is alive, {@link TxnNotFoundError} for an unknown id.
   *
   * @example
   * await coordinator.forceRollback('0b8f…');
   */
  async forceRollback(txid: string): Promise<void> {
    await this.force(txid, 'abort');
  }

  /** Deletes finished log records older than `olderThanMs` (default one week); returns how many. */
  async pruneLog(olderThanMs = 7 * 24 * 3600 * 1000): Promise<number> {
    this.assertStarted();
    checkPositiveInt(olderThanMs, 'olderThanMs', 0);
    return this.log.prune(olderThanMs);
  }

  /**
   * Stops taking new transactions, waits for the ones running, releases the liveness lock and
   * ends the pools this coordinator created.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.recoveryTimer);
    await Promise.all([...this.inflight]);
    await this.recovering;
    await this.lock?.release();
    const pools = [this.logPool, ...this.participants.values()]
      .filter((p) => p.owned)
      .map((p) => p.pool);
    await Promise.all([...new Set(pools)].map((pool) => pool.end().catch(() => undefined)));
  }

  // ---------------------------------------------------------------------------------------

  private backgroundRecovery(): void {
    if (this.recovering || this.state !== 'started') return;
    this.recovering = this.recover()
      .then(
        (report) => this.onRecovery?.(report),
        (err: unknown) => this.onRecovery?.(err instanceof Error ? err : new Error(String(err))),
      )
      .catch(() => undefined)
      .finally(() => {
        this.recovering = undefined;
      });
  }

  private assertStarted(): void {
    if (this.state !== 'started') throw new TxnNotStartedError('TwoPhaseCoordinator');
    if (!this.lock?.healthy) {
      throw new TxnNotStartedError(
        'TwoPhaseCoordinator (its connection to the log database was lost)',
      );
    }
  }

  private selectParticipants<S extends P>(selected: readonly S[] | undefined): string[] {
    if (selected === undefined) return [...this.participants.keys()];
    if (!Array.isArray(selected) || selected.length === 0) {
      throw new TxnConfigError('run(): options.participants must be a non-empty array');
    }
    const seen = new Set<string>();
    for (const name of selected) {
      if (!this.participants.has(name))
        throw new TxnConfigError(`run(): unknown participant "${String(name)}"`);
      if (seen.has(name)) throw new TxnConfigError(`run(): participant "${name}" is listed twice`);
      seen.add(name);
    }
    return [...seen];
  }

  private participant(name: string): Participant {
    const p = this.participants.get(name);
    if (!p) throw new TxnConfigError(`participant "${name}" is not configured on this coordinator`);
    return p;
  }

  private async step(step: TwoPhaseStep): Promise<void> {
    if (this.onStep) await this.onStep(step);
  }

  private async rollbackOpen(slots: Slot[]): Promise<void> {
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      if (slot.phase !== 'open') continue;
      slots[i] = { phase: 'done' };
      try {
        await slot.client.query('ROLLBACK');
        slot.client.release();
      } catch {
        // A broken session rolls back on its own when PostgreSQL sees it close.
        slot.client.release(true);
      }
    }
  }

  /** Phase one for one participant. The slot becomes `prepared`, `lost` (timed out) or stays `open`. */
  private async prepareOne(
    slots: Slot[],
    i: number,
    gid: string,
  ): Promise<'yes' | 'timeout' | { reason: string; cause?: unknown }> {
    const slot = slots[i]!;
    if (slot.phase !== 'open') return { reason: 'its session is gone' };
    const client = slot.client;
    const query = client.query(`PREPARE TRANSACTION ${quoteLiteral(gid)}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.prepareTimeoutMs);
    });
    try {
      const res = await Promise.race([query, timeout]);
      if (res === 'timeout') {
        query.catch(() => undefined);
        const pid = (client as unknown as { processID: number }).processID;
        client.release(true);
        slots[i] = { phase: 'lost', pid };
        return 'timeout';
      }
      // A failed transaction answers PREPARE with ROLLBACK instead of an error.
      if (res.command !== 'PREPARE') {
        slots[i] = { phase: 'done' };
        client.release();
        return { reason: 'its transaction had already failed, PostgreSQL rolled it back' };
      }
      slots[i] = { phase: 'prepared', client };
      return 'yes';
    } catch (err) {
      slots[i] = { phase: 'done' };
      if (
        sqlState(err) === '55000' &&
        /prepared transactions are disabled/i.test(String((err as Error).message))
      ) {
        client.release();
        return { reason: 'max_prepared_transactions is 0 on its server', cause: err };
      }
      // The session may be in any state after an error: do not reuse it.
      client.release(true);
      return { reason: (err as Error).message, cause: err };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Decides abort (unless decided otherwise already) and rolls back every participant. */
  private async abort(
    txid: string,
    entries: readonly LogParticipant[],
    slots: Slot[],
  ): Promise<void> {
    await this.rollbackOpen(slots);
    const state = await this.log.decide(txid, 'aborting', this.owner).catch(() => undefined);
    if (state === 'committing') return; // cannot happen while we own it; recovery will commit
    if (state === 'aborting') await this.step({ type: 'decided', txid, decision: 'abort' });
    let allDone = true;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const slot = slots[i];
      try {
        if (slot?.phase === 'lost') await this.terminate(entry.name, slot.pid);
        const client = slot?.phase === 'prepared' ? slot.client : undefined;
        await this.finishPrepared(entry.name, entry.gid, 'ROLLBACK', client);
        if (client) client.release();
        slots[i] = { phase: 'done' };
      } catch {
        allDone = false;
      }
    }
    if (allDone && state === 'aborting') {
      await this.log.finish(txid, 'aborted').catch(() => undefined);
    }
  }

  /**
   * Ends the backend of a session whose PREPARE timed out and waits until it is gone, so that
   * whether it prepared or not is settled before we roll back.
   */
  private async terminate(name: string, pid: number): Promise<void> {
    const pool = this.participant(name).pool;
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    for (let i = 0; i < 100; i++) {
      const { rowCount } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (!rowCount) return;
      await sleep(50);
    }
    throw new Error(
      `participant "${name}": backend ${pid} did not exit after pg_terminate_backend`,
    );
  }

  /**
   * COMMIT PREPARED / ROLLBACK PREPARED with retries. "Does not exist" counts as done: either
   * it was never prepared (abort) or someone already finished it (recovery running in parallel).
   */
  private async finishPrepared(
    name: string,
    gid: string,
    verb: 'COMMIT' | 'ROLLBACK',
    client: pg.PoolClient | undefined,
  ): Promise<void> {
    const sql = `${verb} PREPARED ${quoteLiteral(gid)}`;
    let delay = this.phaseTwoRetryDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (client && attempt === 1) await client.query(sql);
        else await this.participant(name).pool.query(sql);
        return;
      } catch (err) {
        if (sqlState(err) === '42704') return;
        if (attempt >= this.phaseTwoAttempts) throw err;
        await sleep(delay);
        delay *= 2;
      }
    }
  }

  private async ownerAlive(row: LogRow): Promise<boolean> {
    if (row.owner === this.owner) return this.active.has(row.txid);
    return isOwnerAlive(this.logPool.pool, row.owner);
  }

  /** Gathers open log rows and our prepared transactions on every participant, by txid. */
  private async inspect(only?: string): Promise<Map<string, Candidate>> {
    const candidates = new Map<string, Candidate>();
    const get = (txid: string): Candidate => {
      let c = candidates.get(txid);
      if (!c) {
        c = { txid, row: undefined, prepared: new Map(), unreachable: new Map() };
        candidates.set(txid, c);
      }
      return c;
    };
    const scans = await Promise.all(
      [...this.participants.values()].map(async (p) => {
        try {
          const { rows } = await p.pool.query<{ gid: string; prepared: Date }>(
            `SELECT gid, prepared FROM pg_prepared_xacts
             WHERE database = current_database() AND starts_with(gid, $1)`,
            [`${this.gidPrefix}:`],
          );
          return { p, rows, error: undefined };
        } catch (error) {
          return { p, rows: [], error: error as Error };
        }
      }),
    );
    for (const { p, rows } of scans) {
      for (const r of rows) {
        const m = GID_REST.exec(r.gid.slice(this.gidPrefix.length + 1));
        if (!m) continue; // our prefix but not our format: not ours to touch
        const txid = m[1]!;
        if (only !== undefined && txid !== only) continue;
        get(txid).prepared.set(p.name, { gid: r.gid, preparedAt: r.prepared });
      }
    }
    const open = only !== undefined ? await this.log.getMany([only]) : await this.log.open();
    for (const row of open) get(row.txid).row = row;
    const missing = [...candidates.values()].filter((c) => !c.row).map((c) => c.txid);
    for (const row of await this.log.getMany(missing)) candidates.get(row.txid)!.row = row;
    for (const c of candidates.values()) {
      for (const { p, error } of scans) if (error) c.unreachable.set(p.name, error);
      // A finished row with nothing prepared anywhere is history, not in doubt.
      if (
        c.row &&
        (c.row.state === 'committed' || c.row.state === 'aborted') &&
        c.prepared.size === 0
      ) {
        candidates.delete(c.txid);
      }
    }
    return candidates;
  }

  private participantsOf(c: Candidate): LogParticipant[] {
    const list: LogParticipant[] = [...(c.row?.participants ?? [])];
    for (const [name, { gid }] of c.prepared) {
      if (!list.some((e) => e.gid === gid)) list.push({ name, gid });
    }
    return list;
  }

  private async force(txid: string, want: 'commit' | 'abort'): Promise<void> {
    this.assertStarted();
    if (
      typeof txid !== 'string' ||
      !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(txid)
    ) {
      throw new TxnConfigError(`txid must be a transaction id (uuid), got ${JSON.stringify(txid)}`);
    }
    const c = (await this.inspect(txid)).get(txid);
    if (!c) throw new TxnNotFoundError(txid);
    await this.resolve(c, want);
  }

  /**
   * Brings one candidate to its outcome. `recover` applies presumed abort and skips live
   * owners; `commit`/`abort` are operator overrides with their safety checks.
   */
  private async resolve(
    c: Candidate,
    mode: 'recover' | 'commit' | 'abort',
  ): Promise<'commit' | 'abort' | 'skipped'> {
    // A run of this very instance is driving it right now (possibly in phase two).
    if (mode === 'recover' && this.active.has(c.txid)) return 'skipped';
    let row = c.row;
    if (!row) {
      // Prepared under our prefix, but the log never recorded it: presumed abort.
      if (mode === 'commit') throw new TxnAlreadyDecidedError(c.txid, 'abort');
      row = await this.log.presumeAbort(c.txid, this.owner, this.participantsOf(c));
      if (!row) throw new TxnNotFoundError(c.txid);
    }
    if (row.state === 'preparing') {
      if (await this.ownerAlive(row)) {
        if (mode === 'recover') return 'skipped';
        throw new TxnInFlightError(c.txid);
      }
      if (mode === 'commit') {
        const unreachable = row.participants
          .filter((e) => c.unreachable.has(e.name))
          .map((e) => e.name);
        if (unreachable.length > 0)
          throw new ResolutionIncompleteError(
            c.txid,
            'commit',
            unreachable.map((n) => `participant "${n}" is unreachable`),
          );
        const missing = row.participants.filter((e) => !c.prepared.has(e.name)).map((e) => e.name);
        if (missing.length > 0) throw new TxnNotPreparedError(c.txid, missing);
      }
      const state = await this.log.decide(
        c.txid,
        mode === 'commit' ? 'committing' : 'aborting',
        this.owner,
      );
      row = { ...row, state: state ?? row.state };
    } else if (mode === 'recover' && row.owner !== this.owner && (await this.ownerAlive(row))) {
      // Decided and its live owner is busy with phase two: let it finish.
      return 'skipped';
    }
    const decision = row.state === 'committing' || row.state === 'committed' ? 'commit' : 'abort';
    if (mode !== 'recover' && mode !== decision) throw new TxnAlreadyDecidedError(c.txid, decision);

    const failures: string[] = [];
    for (const entry of this.participantsOf({ ...c, row })) {
      if (c.unreachable.has(entry.name) || !this.participants.has(entry.name)) {
        failures.push(
          `participant "${entry.name}" is ${this.participants.has(entry.name) ? 'unreachable' : 'not configured here'}`,
        );
        continue;
      }
      if (!c.prepared.has(entry.name)) continue;
      try {
        await this.finishPrepared(
          entry.name,
          entry.gid,
          decision === 'commit' ? 'COMMIT' : 'ROLLBACK',
          undefined,
        );
      } catch (err) {
        failures.push(`participant "${entry.name}": ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) throw new ResolutionIncompleteError(c.txid, decision, failures);
    await this.log.finish(c.txid, decision === 'commit' ? 'committed' : 'aborted');
    return decision;
  }
}
