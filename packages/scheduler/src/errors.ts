import type { RunReport } from './types.js';

/** Stable machine-readable codes carried by every error this package throws. */
export type SchedulerErrorCode =
  | 'INVALID_OPTIONS'
  | 'INVALID_TASK'
  | 'UNKNOWN_DEPENDENCY'
  | 'DEPENDENCY_CYCLE'
  | 'INVALID_STATE'
  | 'TASK_TIMEOUT'
  | 'TASK_CANCELLED'
  | 'RUN_FAILED'
  | 'RUN_CANCELLED';

/** Base class of every error thrown by `@linkforge/scheduler`; switch on `code`. */
export class SchedulerError extends Error {
  readonly code: SchedulerErrorCode;

  constructor(code: SchedulerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The scheduler options are malformed (unknown key, wrong type, out of range). */
export class InvalidOptionsError extends SchedulerError {
  constructor(message: string) {
    super('INVALID_OPTIONS', message);
  }
}

/** A task definition is malformed (missing `run`, bad `dependsOn`, duplicate name …). */
export class InvalidTaskError extends SchedulerError {
  readonly task: string;

  constructor(task: string, message: string) {
    super('INVALID_TASK', `task "${task}": ${message}`);
    this.task = task;
  }
}

/** One or more tasks depend on names that are not defined. Thrown before anything runs. */
export class UnknownDependencyError extends SchedulerError {
  /** Every offending edge, in definition order. */
  readonly missing: ReadonlyArray<{ readonly task: string; readonly dependency: string }>;

  constructor(missing: ReadonlyArray<{ task: string; dependency: string }>) {
    const list = missing.map((m) => `"${m.task}" depends on unknown task "${m.dependency}"`);
    super('UNKNOWN_DEPENDENCY', `unknown dependencies: ${list.join('; ')}`);
    this.missing = missing;
  }
}

/** The dependency graph has a cycle. Thrown before anything runs. */
export class CycleError extends SchedulerError {
  /** The tasks on the cycle; the first name is repeated at the end (`['A', 'B', 'A']`). */
  readonly cycle: readonly string[];

  constructor(cycle: readonly string[]) {
    super(
      'DEPENDENCY_CYCLE',
      `dependency cycle: ${cycle.map((n) => `"${n}"`).join(' depends on ')}`,
    );
    this.cycle = cycle;
  }
}

/** The scheduler was used in a state that does not allow the call (e.g. `run()` twice). */
export class SchedulerStateError extends SchedulerError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/** A task attempt ran longer than its `timeout`; its signal was aborted with this error. */
export class TaskTimeoutError extends SchedulerError {
  readonly task: string;
  readonly timeoutMs: number;

  constructor(task: string, timeoutMs: number) {
    super('TASK_TIMEOUT', `task "${task}" timed out after ${timeoutMs} ms`);
    this.task = task;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The reason a task's signal is aborted with when the task is cancelled: by
 * `cancel()`, its own `signal`, the run's `signal`/`abort()`, or fail-fast.
 */
export class TaskCancelledError extends SchedulerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TASK_CANCELLED', message, options);
  }
}

/**
 * `run()` rejects with this when not every task succeeded. `report` holds every
 * task's outcome and the results of the tasks that did succeed.
 */
export class RunError extends SchedulerError {
  readonly report: RunReport;

  constructor(report: RunReport, options?: { cause?: unknown }) {
    const bad = [...report.tasks.values()].filter((t) => t.status !== 'succeeded');
    const shown = bad.slice(0, 5).map((t) => {
      if (t.status === 'failed') return `"${t.name}" failed: ${describeError(t.error)}`;
      return `"${t.name}" ${t.status}: ${t.reason ?? ''}`;
    });
    const more = bad.length > shown.length ? `; … ${bad.length - shown.length} more` : '';
    super(
      report.status === 'cancelled' ? 'RUN_CANCELLED' : 'RUN_FAILED',
      `${bad.length} of ${report.tasks.size} tasks did not succeed: ${shown.join('; ')}${more}`,
      options,
    );
    this.report = report;
  }
}

/** One-line description of any thrown value, for messages and reasons. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
