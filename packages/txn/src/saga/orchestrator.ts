import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  NonRetryableError,
  SagaBusyError,
  SagaDefinitionError,
  SagaNotFoundError,
  StepTimeoutError,
  TxnConfigError,
  TxnError,
  TxnNotStartedError,
} from '../errors.js';
import {
  checkIdentifier,
  checkPositiveInt,
  isOwnerAlive,
  OwnerLock,
  sleep,
  toPool,
  type Connection,
  type OwnedPool,
} from '../pg-util.js';
import {
  backoffDelay,
  DEFAULT_COMPENSATION_RETRY,
  DEFAULT_STEP_RETRY,
  resolveRetry,
  type ResolvedRetry,
  type RetryPolicy,
} from './retry.js';
import { SagaStore, type SagaRecord, type SagaStatus, type StoredError } from './saga-store.js';

/** What a step's `run` receives. */
export interface StepContext<I> {
  readonly sagaId: string;
  readonly input: I;
  /** Results of the steps that already succeeded, by step name (as stored: JSON). */
  readonly results: Readonly<Record<string, unknown>>;
  /**
   * `<sagaId>:<step>`: the same on every attempt and after a crash. Pass it to the service you
   * call so that running the step again does not repeat its effect.
   */
  readonly idempotencyKey: string;
  /** 1 for the first attempt in this process. */
  readonly attempt: number;
  /** Aborted when the attempt times out; long-running work should stop. */
  readonly signal: AbortSignal;
}

/** What a step's `compensate` receives. */
export interface CompensationContext<I> extends StepContext<I> {
  /** The step's stored result, or `undefined` when the step failed or its outcome is unknown. */
  readonly result: unknown;
}

/** One step of a saga: a local transaction and the action that semantically undoes it. */
export interface SagaStep<I> {
  /** Unique within the saga; part of the idempotency key. */
  readonly name: string;
  /** Does the work. Runs at least once; its result must be JSON-serialisable. */
  readonly run: (ctx: StepContext<I>) => Promise<unknown>;
  /**
   * Undoes the step. Runs for every step that was started (also the one that failed: a failed
   * or timed-out attempt may still have taken effect), in reverse order, at least once. It must
   * be idempotent and treat "nothing to undo" as success.
   */
  readonly compensate?: (ctx: CompensationContext<I>) => Promise<void>;
  /** Retries of `run` (default: orchestrator's `retry`). Throw {@link NonRetryableError} to stop early. */
  readonly retry?: RetryPolicy;
  /** Retries of `compensate` (default: orchestrator's `compensationRetry`). */
  readonly compensationRetry?: RetryPolicy;
  /** Timeout of one attempt of `run` or `compensate` (default: orchestrator's `timeoutMs`). */
  readonly timeoutMs?: number;
}

/** A named sequence of steps. Create it with {@link defineSaga}. */
export interface SagaDefinition<I> {
  readonly name: string;
  readonly steps: readonly SagaStep<I>[];
}

/**
 * Validates and freezes a saga definition.
 *
 * @example
 * const order = defineSaga<{ orderId: string; amount: number }>({
 *   name: 'order',
 *   steps: [
 *     { name: 'charge', run: (ctx) => payments.charge(ctx.idempotencyKey, ctx.input.amount),
 *       compensate: (ctx) => payments.refund(ctx.idempotencyKey) },
 *     { name: 'reserve', run: (ctx) => inventory.reserve(ctx.idempotencyKey, ctx.input.orderId) },
 *   ],
 * });
 */
export function defineSaga<I>(definition: SagaDefinition<I>): SagaDefinition<I> {
  if (!definition || typeof definition !== 'object')
    throw new TxnConfigError('a saga definition must be an object');
  const { name, steps } = definition;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name)) {
    throw new TxnConfigError(
      `saga name must be 1-100 of letters, digits, _ . -; got ${JSON.stringify(name)}`,
    );
  }
  if (!Array.isArray(steps) || steps.length === 0)
    throw new TxnConfigError(`saga "${name}" needs at least one step`);
  const seen = new Set<string>();
  for (const step of steps) {
    if (!step || typeof step.name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(step.name)) {
      throw new TxnConfigError(
        `saga "${name}": step names must be 1-100 of letters, digits, _ . -`,
      );
    }
    if (seen.has(step.name))
      throw new TxnConfigError(`saga "${name}": step "${step.name}" is listed twice`);
    seen.add(step.name);
    if (typeof step.run !== 'function')
      throw new TxnConfigError(`saga "${name}": step "${step.name}" needs run()`);
    if (step.compensate !== undefined && typeof step.compensate !== 'function') {
      throw new TxnConfigError(
        `saga "${name}": step "${step.name}": compensate must be a function`,
      );
    }
    resolveRetry(step.retry, DEFAULT_STEP_RETRY, `step "${step.name}" retry`);
    resolveRetry(
      step.compensationRetry,
      DEFAULT_COMPENSATION_RETRY,
      `step "${step.name}" compensationRetry`,
    );
    if (step.timeoutMs !== undefined)
      checkPositiveInt(step.timeoutMs, `step "${step.name}" timeoutMs`);
  }
  return Object.freeze({ name, steps: Object.freeze([...steps]) });
}

/** Events reported to {@link SagaOrchestratorOptions.onEvent}, awaited, in order. */
export type SagaEvent =
  | {
      readonly type: 'step-started';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
    }
  /** `run` returned; its result is not logged yet (a crash here re-runs the step). */
  | {
      readonly type: 'step-returned';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
    }
  | {
      readonly type: 'step-succeeded';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
    }
  | {
      readonly type: 'step-failed';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
      readonly error: unknown;
      readonly willRetry: boolean;
    }
  | {
      readonly type: 'compensation-started';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
    }
  /** `compensate` returned; not logged yet (a crash here re-runs the compensation). */
  | {
      readonly type: 'compensation-returned';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
    }
  | {
      readonly type: 'compensation-succeeded';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
    }
  | {
      readonly type: 'compensation-failed';
      readonly sagaId: string;
      readonly step: string;
      readonly attempt: number;
      readonly error: unknown;
      readonly willRetry: boolean;
    }
  | { readonly type: 'saga-finished'; readonly sagaId: string; readonly status: SagaStatus };

export interface SagaOrchestratorOptions {
  /** Database of the saga log. */
  readonly connection: Connection;
  /** The sagas this orchestrator can run and resume. */
  readonly sagas: readonly SagaDefinition<never>[];
  /** Prefix of the log tables (`<prefix>s`, `<prefix>_steps`). Default `txn_saga`. */
  readonly tablePrefix?: string;
  /** Default retry of step `run`. Default 3 attempts, 100 ms doubling to 10 s, jittered. */
  readonly retry?: RetryPolicy;
  /** Default retry of `compensate`. Default 10 attempts, 100 ms doubling to 30 s, jittered. */
  readonly compensationRetry?: RetryPolicy;
  /** Default timeout of one attempt. Default 30000 ms. */
  readonly timeoutMs?: number;
  /**
   * Observer of every step transition (awaited); for tracing, metrics and crash tests. An error
   * it throws ends the run like a crash at that point (the saga stays resumable); it never
   * counts as a step failure.
   */
  readonly onEvent?: (event: SagaEvent) => void | Promise<void>;
}

/** How a saga ended. */
export interface SagaOutcome {
  readonly sagaId: string;
  readonly name: string;
  /** `completed`: every step succeeded. `compensated`: a step failed and everything was undone. `compensation_failed`: an undo gave up; an operator must look. */
  readonly status: 'completed' | 'compensated' | 'compensation_failed';
  /** Results of the steps that succeeded, by step name. */
  readonly results: Readonly<Record<string, unknown>>;
  /** The step failure that caused compensation, as logged. */
  readonly failure: (StoredError & { readonly step: string }) | null;
  /** The original error object when the failure happened in this process (e.g. your own domain error). */
  readonly error?: unknown;
}

export interface ExecuteOptions {
  /** Saga id; reuse it to make `execute` itself idempotent. Default: a random UUID. */
  readonly sagaId?: string;
}

interface Resolved {
  readonly def: SagaDefinition<unknown>;
  readonly steps: readonly {
    readonly step: SagaStep<unknown>;
    readonly retry: ResolvedRetry;
    readonly compensationRetry: ResolvedRetry;
    readonly timeoutMs: number;
  }[];
}

const TERMINAL: readonly SagaStatus[] = ['completed', 'compensated', 'compensation_failed'];

/**
 * Orchestrates sagas: runs steps in order with retries, timeouts and idempotency keys, records
 * every transition in a PostgreSQL log, compensates in reverse order when a step fails for
 * good, and resumes sagas whose orchestrator died.
 *
 * @example
 * const sagas = new SagaOrchestrator({ connection: process.env.DATABASE_URL!, sagas: [order] });
 * await sagas.start();
 * await sagas.resumeAll(); // finish what a crashed process left behind
 * const outcome = await sagas.execute(order, { orderId: 'o-1', amount: 1999 });
 * if (outcome.status !== 'completed') console.warn('order undone:', outcome.failure?.message);
 */
export class SagaOrchestrator {
  /** Identity of this orchestrator instance in the log; its liveness lock is keyed on it. */
  readonly owner: string;

  private readonly pool: OwnedPool;
  private readonly store: SagaStore;
  private readonly definitions = new Map<string, Resolved>();
  private readonly onEvent: ((event: SagaEvent) => void | Promise<void>) | undefined;
  private readonly running = new Map<string, Promise<SagaOutcome>>();
  private lock: OwnerLock | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';

  constructor(options: SagaOrchestratorOptions) {
    if (options === null || typeof options !== 'object')
      throw new TxnConfigError('options are required');
    const prefix = checkIdentifier(options.tablePrefix ?? 'txn_saga', 'tablePrefix');
    if (prefix.length > 50) throw new TxnConfigError('tablePrefix must be at most 50 characters');
    const retry = resolveRetry(options.retry, DEFAULT_STEP_RETRY, 'retry');
    const compensationRetry = resolveRetry(
      options.compensationRetry,
      DEFAULT_COMPENSATION_RETRY,
      'compensationRetry',
    );
    const timeoutMs = checkPositiveInt(options.timeoutMs ?? 30_000, 'timeoutMs');
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
      throw new TxnConfigError('onEvent must be a function');
    }
    this.onEvent = options.onEvent;
    if (!Array.isArray(options.sagas) || options.sagas.length === 0) {
      throw new TxnConfigError('sagas must be a non-empty array of definitions');
    }
    for (const raw of options.sagas) {
      const def = defineSaga(raw as SagaDefinition<unknown>);
      if (this.definitions.has(def.name))
        throw new TxnConfigError(`saga "${def.name}" is registered twice`);
      this.definitions.set(def.name, {
        def,
        steps: def.steps.map((step) => ({
          step,
          retry: resolveRetry(step.retry, retry, `step "${step.name}" retry`),
          compensationRetry: resolveRetry(
            step.compensationRetry,
            compensationRetry,
            `step "${step.name}" compensationRetry`,
          ),
          timeoutMs: step.timeoutMs ?? timeoutMs,
        })),
      });
    }
    this.pool = toPool(options.connection, 'connection');
    this.store = new SagaStore(this.pool.pool, prefix);
    this.owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  }

  /**
   * Creates the log tables if needed and takes this instance's liveness lock. Call
   * {@link resumeAll} afterwards to finish sagas a crashed process left behind.
   */
  async start(): Promise<void> {
    if (this.state !== 'new')
      throw new TxnNotStartedError('SagaOrchestrator (start() was already called)');
    await this.store.migrate();
    this.lock = new OwnerLock(this.pool.pool, this.owner);
    await this.lock.acquire();
    this.state = 'started';
  }

  /**
   * Runs a saga to its end and resolves with its outcome; a step failure is an outcome
   * (`compensated`), not a rejection. Rejects only when the log cannot be written or the
   * saga is owned by another live orchestrator ({@link SagaBusyError}). With an existing
   * `sagaId`, returns the stored outcome of a finished saga, or resumes an abandoned one.
   *
   * @example
   * const outcome = await sagas.execute('order', { orderId: 'o-1', amount: 1999 }, { sagaId: 'order:o-1' });
   */
  async execute<I>(
    saga: SagaDefinition<I> | string,
    input: I,
    options: ExecuteOptions = {},
  ): Promise<SagaOutcome> {
    this.assertStarted();
    const name = typeof saga === 'string' ? saga : saga?.name;
    const resolved = typeof name === 'string' ? this.definitions.get(name) : undefined;
    if (!resolved)
      throw new TxnConfigError(
        `saga ${JSON.stringify(name)} is not registered on this orchestrator`,
      );
    const sagaId = options.sagaId ?? randomUUID();
    if (typeof sagaId !== 'string' || sagaId.length === 0 || sagaId.length > 200) {
      throw new TxnConfigError('sagaId must be a string of 1-200 characters');
    }
    let inputJson: string | undefined;
    try {
      inputJson = JSON.stringify(input);
    } catch (err) {
      throw new TxnConfigError(`saga input must be JSON-serialisable: ${(err as Error).message}`);
    }
    if (inputJson === undefined)
      throw new TxnConfigError('saga input must be JSON-serialisable (got undefined)');
    const inProcess = this.running.get(sagaId);
    if (inProcess) return inProcess;
    // Registered before the first await, so a second call with the same id in this process
    // joins this run instead of driving the saga a second time.
    return this.track(sagaId, async () => {
      const created = await this.store.create(
        sagaId,
        resolved.def.name,
        inputJson,
        this.owner,
        resolved.def.steps.map((s) => s.name),
      );
      if (created) {
        const now = new Date();
        return this.drive(sagaId, resolved, {
          id: sagaId,
          name: resolved.def.name,
          status: 'running',
          input: JSON.parse(inputJson) as unknown,
          owner: this.owner,
          failure: null,
          createdAt: now,
          updatedAt: now,
          steps: resolved.def.steps.map((step, index) => ({
            index,
            name: step.name,
            status: 'pending',
            attempts: 0,
            compensationAttempts: 0,
            result: null,
            error: null,
          })),
        });
      }
      const existing = await this.store.get(sagaId);
      if (existing && existing.name !== resolved.def.name) {
        throw new SagaDefinitionError(
          sagaId,
          `this id belongs to a "${existing.name}" saga, not "${resolved.def.name}"`,
        );
      }
      return this.continue(sagaId);
    });
  }

  /**
   * Continues one saga from its log: returns the outcome of a finished saga, takes over one
   * whose owner is dead, and throws {@link SagaBusyError} while a live orchestrator runs it.
   *
   * @example
   * const outcome = await sagas.resume('order:o-1');
   */
  async resume(sagaId: string): Promise<SagaOutcome> {
    this.assertStarted();
    if (typeof sagaId !== 'string' || sagaId.length === 0 || sagaId.length > 200) {
      throw new TxnConfigError('sagaId must be a string of 1-200 characters');
    }
    const inProcess = this.running.get(sagaId);
    if (inProcess) return inProcess;
    return this.track(sagaId, () => this.continue(sagaId));
  }

  private async continue(sagaId: string): Promise<SagaOutcome> {
    const record = await this.store.get(sagaId);
    if (!record) throw new SagaNotFoundError(sagaId);
    if (isTerminal(record.status)) return outcomeOf(record);
    const resolved = this.definitions.get(record.name);
    if (!resolved) {
      throw new SagaDefinitionError(
        sagaId,
        `saga "${record.name}" is not registered on this orchestrator`,
      );
    }
    const names = resolved.def.steps.map((s) => s.name);
    if (record.steps.length !== names.length || record.steps.some((s, i) => s.name !== names[i])) {
      throw new SagaDefinitionError(
        sagaId,
        `its logged steps [${record.steps.map((s) => s.name).join(', ')}] differ from the registered [${names.join(', ')}]`,
      );
    }
    if (record.owner !== this.owner) {
      if (record.owner !== null && (await isOwnerAlive(this.pool.pool, record.owner))) {
        throw new SagaBusyError(sagaId);
      }
      if (!(await this.store.claim(sagaId, record.owner, this.owner)))
        throw new SagaBusyError(sagaId);
    }
    return this.drive(sagaId, resolved);
  }

  /**
   * Resumes every unfinished saga whose orchestrator is gone, one after another, and returns
   * their outcomes. Sagas of live orchestrators, and of kinds not registered here, are left
   * alone.
   *
   * @example
   * await sagas.start();
   * const resumed = await sagas.resumeAll();
   */
  async resumeAll(): Promise<SagaOutcome[]> {
    this.assertStarted();
    const outcomes: SagaOutcome[] = [];
    for (const { id, name } of await this.store.open()) {
      // Sagas of kinds registered elsewhere belong to the orchestrators that know them. Our own
      // unfinished sagas that are not running here (their run failed on a log write) are
      // taken up again too.
      if (this.running.has(id) || !this.definitions.has(name)) continue;
      try {
        outcomes.push(await this.resume(id));
      } catch (err) {
        if (err instanceof SagaBusyError) continue;
        throw err;
      }
    }
    return outcomes;
  }

  /** The logged state of one saga and its steps, or `undefined`. */
  async get(sagaId: string): Promise<SagaRecord | undefined> {
    this.assertStarted();
    return this.store.get(sagaId);
  }

  /**
   * Sagas from the log, oldest first; filter by status (e.g. `['compensation_failed']` for
   * the ones an operator must look at).
   */
  async list(
    filter: { status?: readonly SagaStatus[]; limit?: number } = {},
  ): Promise<SagaRecord[]> {
    this.assertStarted();
    const limit = checkPositiveInt(filter.limit ?? 100, 'limit');
    if (filter.status !== undefined && !Array.isArray(filter.status))
      throw new TxnConfigError('status must be an array');
    return this.store.list({ status: filter.status, limit });
  }

  /** Waits for sagas running in this process, releases the liveness lock and ends the pool it created. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.allSettled([...this.running.values()]);
    await this.lock?.release();
    if (this.pool.owned) await this.pool.pool.end().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------

  private assertStarted(): void {
    if (this.state !== 'started') throw new TxnNotStartedError('SagaOrchestrator');
    if (!this.lock?.healthy)
      throw new TxnNotStartedError(
        'SagaOrchestrator (its connection to the log database was lost)',
      );
  }

  private track(sagaId: string, fn: () => Promise<SagaOutcome>): Promise<SagaOutcome> {
    const p = Promise.resolve()
      .then(fn)
      .finally(() => this.running.delete(sagaId));
    this.running.set(sagaId, p);
    return p;
  }

  private async emit(event: SagaEvent): Promise<void> {
    if (this.onEvent) await this.onEvent(event);
  }

  /** `fresh` is the record of a saga just created here, which spares reading it back. */
  private async drive(
    sagaId: string,
    resolved: Resolved,
    fresh?: SagaRecord,
  ): Promise<SagaOutcome> {
    let record = fresh ?? (await this.mustGet(sagaId));
    const input = record.input;
    const results: Record<string, unknown> = {};
    for (const s of record.steps)
      if (s.status === 'succeeded' || s.result !== null) results[s.name] = s.result;
    let error: unknown;

    if (record.status === 'running') {
      let failedAt: { step: string; error: StoredError } | undefined;
      for (let idx = 0; idx < resolved.steps.length; idx++) {
        const logged = record.steps[idx]!;
        if (logged.status === 'succeeded') continue;
        const { step, retry, timeoutMs } = resolved.steps[idx]!;
        if (logged.status === 'failed') {
          // Failed for good before a crash, which came before the switch to compensating: the
          // verdict stands, the step is not given new attempts.
          failedAt = {
            step: step.name,
            error: logged.error ?? { name: 'Error', message: 'failed' },
          };
          break;
        }
        const failure = await this.runStep(sagaId, idx, step, retry, timeoutMs, input, results);
        if (failure) {
          error = failure;
          failedAt = { step: step.name, error: storedError(failure) };
          break;
        }
      }
      if (failedAt) {
        await this.store.setStatus(sagaId, this.owner, 'compensating', {
          ...failedAt.error,
          step: failedAt.step,
        });
      } else {
        await this.store.setStatus(sagaId, this.owner, 'completed');
        await this.emit({ type: 'saga-finished', sagaId, status: 'completed' });
        return {
          sagaId,
          name: record.name,
          status: 'completed',
          results: { ...results },
          failure: null,
        };
      }
      record = await this.mustGet(sagaId);
    }

    // Compensating: undo every started step, newest first. Steps already compensated (before a
    // crash) are skipped; one whose compensation was interrupted runs it again.
    for (let idx = resolved.steps.length - 1; idx >= 0; idx--) {
      const logged = record.steps[idx]!;
      if (logged.attempts === 0 || logged.status === 'compensated' || logged.status === 'pending')
        continue;
      const { step, compensationRetry, timeoutMs } = resolved.steps[idx]!;
      if (!step.compensate) {
        await this.store.stepCompensated(sagaId, this.owner, idx);
        continue;
      }
      const ok = await this.compensateStep(
        sagaId,
        idx,
        step,
        compensationRetry,
        timeoutMs,
        input,
        results,
        logged.result,
      );
      if (!ok) {
        await this.store.setStatus(sagaId, this.owner, 'compensation_failed');
        await this.emit({ type: 'saga-finished', sagaId, status: 'compensation_failed' });
        return {
          ...outcomeOf(await this.mustGet(sagaId)),
          ...(error !== undefined ? { error } : {}),
        };
      }
    }
    await this.store.setStatus(sagaId, this.owner, 'compensated');
    await this.emit({ type: 'saga-finished', sagaId, status: 'compensated' });
    return { ...outcomeOf(await this.mustGet(sagaId)), ...(error !== undefined ? { error } : {}) };
  }

  /** Runs one step with retries; returns the final error, or undefined on success. */
  private async runStep(
    sagaId: string,
    idx: number,
    step: SagaStep<unknown>,
    retry: ResolvedRetry,
    timeoutMs: number,
    input: unknown,
    results: Record<string, unknown>,
  ): Promise<unknown> {
    // Only the step's own outcome (its error, a timeout, an unserialisable result) counts as a
    // failed attempt. A failed log write or an observer that throws ends this run instead, like
    // a crash would: the saga stays in the log and is resumed.
    for (let attempt = 1; ; attempt++) {
      await this.store.stepStarted(sagaId, this.owner, idx, false);
      await this.emit({ type: 'step-started', sagaId, step: step.name, attempt });
      const ctx = this.context(sagaId, step.name, input, results, attempt);
      let json: string;
      try {
        const value = await withTimeout(step.name, timeoutMs, ctx.controller, () =>
          step.run(ctx.context),
        );
        json = serialiseResult(step.name, value);
      } catch (err) {
        const willRetry = !(err instanceof NonRetryableError) && attempt < retry.maxAttempts;
        await this.store.stepError(
          sagaId,
          this.owner,
          idx,
          storedError(err),
          willRetry ? undefined : 'failed',
        );
        await this.emit({
          type: 'step-failed',
          sagaId,
          step: step.name,
          attempt,
          error: err,
          willRetry,
        });
        if (!willRetry) return err;
        await sleep(backoffDelay(retry, attempt));
        continue;
      }
      await this.emit({ type: 'step-returned', sagaId, step: step.name, attempt });
      await this.store.stepSucceeded(sagaId, this.owner, idx, json);
      results[step.name] = JSON.parse(json);
      await this.emit({ type: 'step-succeeded', sagaId, step: step.name, attempt });
      return undefined;
    }
  }

  private async compensateStep(
    sagaId: string,
    idx: number,
    step: SagaStep<unknown>,
    retry: ResolvedRetry,
    timeoutMs: number,
    input: unknown,
    results: Record<string, unknown>,
    result: unknown,
  ): Promise<boolean> {
    const compensate = step.compensate!;
    for (let attempt = 1; ; attempt++) {
      await this.store.stepStarted(sagaId, this.owner, idx, true);
      await this.emit({ type: 'compensation-started', sagaId, step: step.name, attempt });
      const ctx = this.context(sagaId, step.name, input, results, attempt);
      try {
        await withTimeout(step.name, timeoutMs, ctx.controller, () =>
          compensate({ ...ctx.context, result: result ?? undefined }),
        );
      } catch (err) {
        const willRetry = attempt < retry.maxAttempts;
        await this.store.stepError(
          sagaId,
          this.owner,
          idx,
          storedError(err),
          willRetry ? undefined : 'compensation_failed',
        );
        await this.emit({
          type: 'compensation-failed',
          sagaId,
          step: step.name,
          attempt,
          error: err,
          willRetry,
        });
        if (!willRetry) return false;
        await sleep(backoffDelay(retry, attempt));
        continue;
      }
      await this.emit({ type: 'compensation-returned', sagaId, step: step.name, attempt });
      await this.store.stepCompensated(sagaId, this.owner, idx);
      await this.emit({ type: 'compensation-succeeded', sagaId, step: step.name, attempt });
      return true;
    }
  }

  private context(
    sagaId: string,
    stepName: string,
    input: unknown,
    results: Record<string, unknown>,
    attempt: number,
  ): { context: StepContext<unknown>; controller: AbortController } {
    const controller = new AbortController();
    return {
      controller,
      context: Object.freeze({
        sagaId,
        input,
        results: Object.freeze({ ...results }),
        idempotencyKey: `${sagaId}:${stepName}`,
        attempt,
        signal: controller.signal,
      }),
    };
  }

  private async mustGet(sagaId: string): Promise<SagaRecord> {
    const record = await this.store.get(sagaId);
    if (!record) throw new SagaNotFoundError(sagaId);
    return record;
  }
}

function isTerminal(status: SagaStatus): status is SagaOutcome['status'] {
  return TERMINAL.includes(status);
}

function outcomeOf(record: SagaRecord): SagaOutcome {
  if (!isTerminal(record.status)) throw new SagaBusyError(record.id);
  const results: Record<string, unknown> = {};
  for (const s of record.steps)
    if (s.status === 'succeeded' || (s.result !== null && s.result !== undefined))
      results[s.name] = s.result;
  return {
    sagaId: record.id,
    name: record.name,
    status: record.status,
    results,
    failure: record.failure,
  };
}

function storedError(err: unknown): StoredError {
  if (err instanceof Error) {
    const code = err instanceof TxnError ? err.code : (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

function serialiseResult(step: string, value: unknown): string {
  try {
    return JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    throw new NonRetryableError(
      `step "${step}" returned a value that is not JSON-serialisable: ${(err as Error).message}`,
    );
  }
}

/** Races one attempt against its timeout; on timeout the attempt's signal is aborted. */
async function withTimeout<T>(
  step: string,
  ms: number,
  controller: AbortController,
  fn: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new StepTimeoutError(step, ms);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    const attempt = Promise.resolve().then(fn);
    attempt.catch(() => undefined);
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
