/** What a task ended as. */
export type TaskStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** How the run reacts to a task that failed after its last retry. */
export type ErrorHandling = 'fail-fast' | 'continue';

/**
 * The function a task runs. It receives the results of its `dependsOn` tasks, in
 * `dependsOn` order, followed by a {@link TaskContext}. It may return a value or a
 * promise.
 *
 * The parameters are typed loosely on purpose: the seed's shape
 * `run: async (a) => a * 3` must type-check without annotations.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
export type TaskFunction = (...args: any[]) => unknown;

/** Passed to every task function as its last argument. */
export interface TaskContext {
  /** The task's name. */
  readonly name: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /**
   * Aborted when this attempt times out (reason: `TaskTimeoutError`), when the task
   * or the whole run is cancelled, or when fail-fast stops the run (reason:
   * `TaskCancelledError`). Pass it on to `fetch`, `child_process`, timers …
   */
  readonly signal: AbortSignal;
  /** The dependencies' results by name (the same values as the positional arguments). */
  readonly dependencies: Readonly<Record<string, unknown>>;
}

/** Computes the delay before retry number `attempt` (1 = first retry). */
export type BackoffFunction = (attempt: number, error: unknown) => number;

/** Exponential backoff: `delay * factor^(attempt-1)`, capped at `maxDelay`. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. Default 100. */
  readonly delay?: number;
  /** Multiplier per further retry. Default 2. */
  readonly factor?: number;
  /** Upper bound for any delay, in ms. Default 30 000. */
  readonly maxDelay?: number;
  /** "Full jitter": pick uniformly in [0, computed delay]. Default false. */
  readonly jitter?: boolean;
}

/** One task: what it runs, what it waits for, and how it is run. */
export interface TaskDefinition {
  /** Names of tasks whose results this task needs. Default `[]`. */
  readonly dependsOn?: readonly string[];
  /** The work. See {@link TaskFunction}. */
  readonly run: TaskFunction;
  /** Among ready tasks, higher runs first (ties: first ready, first run). Default 0. */
  readonly priority?: number;
  /** Retries after a failed attempt. Default: the scheduler's `retryCount`. */
  readonly retries?: number;
  /** Delay between retries. Default: the scheduler's `backoff`. */
  readonly backoff?: BackoffOptions | BackoffFunction;
  /** Per-attempt time limit in ms. Default: the scheduler's `timeout` (none). */
  readonly timeout?: number;
  /** Concurrency slots this task occupies while it runs. Default 1. */
  readonly weight?: number;
  /** Amounts of named resources held while running; limits are in the options' `resources`. */
  readonly resources?: Readonly<Record<string, number>>;
  /** Cancels this task alone: pending → cancelled, running → its signal is aborted. */
  readonly signal?: AbortSignal;
}

/** Task definitions by name: a plain object (the seed's shape) or a `Map`. */
export type TaskDefinitions =
  Readonly<Record<string, TaskDefinition>> | ReadonlyMap<string, TaskDefinition>;

/** Counters describing how far a run is. */
export interface Progress {
  readonly total: number;
  /** Waiting for dependencies, for a slot, or for a retry. */
  readonly pending: number;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
  /** succeeded + failed + skipped + cancelled */
  readonly settled: number;
  /** settled / total × 100 (100 when there are no tasks). */
  readonly percent: number;
}

/** Options of {@link Scheduler}. The first six keys are the seed's configuration keys. */
export interface SchedulerOptions {
  /** Concurrency cap, in weight units (a task weighs 1 unless it says otherwise). Default `Infinity`. */
  readonly maxConcurrentTasks?: number;
  /** Honour task `priority`; when false, ready tasks start first-ready-first-run. Default true. */
  readonly enablePriority?: boolean;
  /** Default `'fail-fast'`. */
  readonly errorHandling?: ErrorHandling;
  /** Default per-attempt time limit in ms. Default none. */
  readonly timeout?: number;
  /** Default retries per task. Default 0. */
  readonly retryCount?: number;
  /** `true` logs "Progress: 40.0% (2/5)" lines with `console.log`; a function receives each {@link Progress}. Default false. */
  readonly progressReporting?: boolean | ((progress: Progress) => void);
  /** Default delay between retries. Default `{ delay: 100, factor: 2, maxDelay: 30000, jitter: false }`. */
  readonly backoff?: BackoffOptions | BackoffFunction;
  /** Limits of named resources tasks may claim, e.g. `{ db: 2, gpu: 1 }`. Default `{}`. */
  readonly resources?: Readonly<Record<string, number>>;
  /** Cancels the whole run. */
  readonly signal?: AbortSignal;
  /**
   * How long, after aborting a running task's signal, the scheduler keeps its slot
   * and waits for it to settle before giving up on it, in ms. `Infinity` waits
   * for ever (the CLI does, so that killed processes are reaped). Default 1000.
   */
  readonly abortGracePeriod?: number;
}

/** How one task ended. */
export interface TaskOutcome {
  readonly name: string;
  readonly status: TaskStatus;
  /** The task's result, when it succeeded. */
  readonly value?: unknown;
  /** What the last attempt threw, when it failed (a `TaskTimeoutError` on timeout). */
  readonly error?: unknown;
  /** Why it was skipped or cancelled, e.g. `dependency "A" failed (via "B")`. */
  readonly reason?: string;
  /** Number of attempts started (0 when it never started). */
  readonly attempts: number;
  /** When its first attempt started, in ms since `run()` was called. */
  readonly startedAtMs?: number;
  /** When it settled, in ms since `run()` was called. */
  readonly finishedAtMs?: number;
}

/** Everything a run produced. */
export interface RunReport {
  /** `succeeded` when every task did; `cancelled` when the run was aborted; else `failed`. */
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  /** Results of the tasks that succeeded, in completion order (the seed's `Map`). */
  readonly results: Map<string, unknown>;
  /** Every task's outcome, in definition order. */
  readonly tasks: Map<string, TaskOutcome>;
  readonly counts: Readonly<Record<TaskStatus, number>>;
  readonly durationMs: number;
}

/** Events emitted by the scheduler, and yielded by `scheduler.events()`. */
export interface SchedulerEventMap {
  /** An attempt started. */
  taskStart: { readonly name: string; readonly attempt: number };
  /** An attempt failed and another one is scheduled after `delayMs`. */
  taskRetry: {
    readonly name: string;
    readonly attempt: number;
    readonly error: unknown;
    readonly delayMs: number;
  };
  /** A task reached its final status. */
  taskSettled: TaskOutcome;
  /** Counters changed (after every start and every settlement). */
  progress: Progress;
  /** The run finished. */
  done: RunReport;
}

/** A tagged event, as yielded by `scheduler.events()`. */
export type SchedulerEvent = {
  [K in keyof SchedulerEventMap]: { readonly type: K; readonly data: SchedulerEventMap[K] };
}[keyof SchedulerEventMap];
