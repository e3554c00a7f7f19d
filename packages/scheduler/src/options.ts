import { InvalidOptionsError, InvalidTaskError } from './errors.js';
import type {
  BackoffFunction,
  BackoffOptions,
  ErrorHandling,
  Progress,
  SchedulerOptions,
  TaskDefinition,
} from './types.js';

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  readonly maxConcurrentTasks: number;
  readonly enablePriority: boolean;
  readonly errorHandling: ErrorHandling;
  readonly timeout: number | undefined;
  readonly retryCount: number;
  readonly onProgress: ((progress: Progress) => void) | undefined;
  readonly backoff: BackoffFunction;
  readonly resources: ReadonlyMap<string, number>;
  readonly signal: AbortSignal | undefined;
  readonly abortGracePeriod: number;
  /** The policy of every task that sets none of its keys (shared, not copied per task). */
  readonly defaultPolicy: TaskPolicy;
}

const OPTION_KEYS = new Set<string>([
  'maxConcurrentTasks',
  'enablePriority',
  'errorHandling',
  'timeout',
  'retryCount',
  'progressReporting',
  'backoff',
  'resources',
  'signal',
  'abortGracePeriod',
]);

const TASK_KEYS = new Set<string>([
  'dependsOn',
  'run',
  'priority',
  'retries',
  'backoff',
  'timeout',
  'weight',
  'resources',
  'signal',
]);

const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);

const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  delay: 100,
  factor: 2,
  maxDelay: 30_000,
  jitter: false,
};

function isPositiveNumber(v: unknown): v is number {
  return typeof v === 'number' && v > 0 && !Number.isNaN(v);
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function isTimeout(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 2 ** 31 - 1;
}

function isSignal(v: unknown): v is AbortSignal {
  return typeof v === 'object' && v !== null && v instanceof AbortSignal;
}

function progressLogger(p: Progress): void {
  console.log(`Progress: ${p.percent.toFixed(1)}% (${p.settled}/${p.total})`);
}

/** Turns backoff options (or a function) into a delay function; `fail` reports bad input. */
export function resolveBackoff(
  value: BackoffOptions | BackoffFunction,
  fail: (message: string) => never,
): BackoffFunction {
  if (typeof value === 'function') {
    return (attempt, error) => {
      const ms = value(attempt, error);
      // A broken user function must not stall the run: treat garbage as "retry now".
      return typeof ms === 'number' && ms > 0 && Number.isFinite(ms) ? ms : 0;
    };
  }
  if (typeof value !== 'object' || value === null) {
    fail('backoff must be an object or a function');
  }
  for (const key of Object.keys(value)) {
    if (!(key in DEFAULT_BACKOFF)) fail(`unknown backoff option "${key}"`);
  }
  const b = { ...DEFAULT_BACKOFF, ...value };
  if (typeof b.delay !== 'number' || !(b.delay >= 0) || !Number.isFinite(b.delay)) {
    fail('backoff.delay must be a finite number >= 0');
  }
  if (typeof b.factor !== 'number' || !(b.factor >= 1) || !Number.isFinite(b.factor)) {
    fail('backoff.factor must be a finite number >= 1');
  }
  if (typeof b.maxDelay !== 'number' || !(b.maxDelay >= 0)) {
    fail('backoff.maxDelay must be a number >= 0');
  }
  if (typeof b.jitter !== 'boolean') fail('backoff.jitter must be a boolean');
  return (attempt) => {
    const ms = Math.min(b.maxDelay, b.delay * b.factor ** (attempt - 1));
    return b.jitter ? Math.random() * ms : ms;
  };
}

/** Validates scheduler options and fills in defaults. Throws {@link InvalidOptionsError}. */
export function resolveOptions(options: SchedulerOptions | undefined): ResolvedOptions {
  const o: SchedulerOptions = options ?? {};
  const fail = (message: string): never => {
    throw new InvalidOptionsError(message);
  };
  if (typeof o !== 'object' || o === null) fail('options must be an object');
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) {
      fail(`unknown option "${key}" (known: ${[...OPTION_KEYS].join(', ')})`);
    }
  }
  const max = o.maxConcurrentTasks ?? Infinity;
  if (!(max === Infinity || (Number.isInteger(max) && max >= 1))) {
    fail('maxConcurrentTasks must be an integer >= 1 or Infinity');
  }
  const errorHandling = o.errorHandling ?? 'fail-fast';
  if (errorHandling !== 'fail-fast' && errorHandling !== 'continue') {
    fail(`errorHandling must be 'fail-fast' or 'continue', got ${JSON.stringify(errorHandling)}`);
  }
  if (o.enablePriority !== undefined && typeof o.enablePriority !== 'boolean') {
    fail('enablePriority must be a boolean');
  }
  if (o.timeout !== undefined && !isTimeout(o.timeout)) {
    fail('timeout must be a number of ms between 1 and 2147483647');
  }
  const retryCount = o.retryCount ?? 0;
  if (!isNonNegativeInt(retryCount)) fail('retryCount must be an integer >= 0');
  const pr = o.progressReporting;
  let onProgress: ((p: Progress) => void) | undefined;
  if (pr === true) onProgress = progressLogger;
  else if (typeof pr === 'function') onProgress = pr;
  else if (pr !== undefined && pr !== false) {
    fail('progressReporting must be a boolean or a function');
  }
  const resources = new Map<string, number>();
  if (o.resources !== undefined) {
    if (typeof o.resources !== 'object' || o.resources === null) {
      fail('resources must be an object of name -> limit');
    }
    for (const [name, limit] of Object.entries(o.resources)) {
      if (!isPositiveNumber(limit)) fail(`resources.${name} must be a number > 0`);
      resources.set(name, limit);
    }
  }
  if (o.signal !== undefined && !isSignal(o.signal)) fail('signal must be an AbortSignal');
  const grace = o.abortGracePeriod ?? 1000;
  if (!(grace === Infinity || (typeof grace === 'number' && grace >= 0 && grace <= 2 ** 31 - 1))) {
    fail('abortGracePeriod must be a number of ms >= 0, or Infinity');
  }
  const backoff = resolveBackoff(o.backoff ?? DEFAULT_BACKOFF, fail);
  return {
    maxConcurrentTasks: max,
    enablePriority: o.enablePriority ?? true,
    errorHandling,
    timeout: o.timeout,
    retryCount,
    onProgress,
    backoff,
    resources,
    signal: o.signal,
    abortGracePeriod: grace,
    defaultPolicy: Object.freeze({
      retries: retryCount,
      backoff,
      timeout: o.timeout,
      weight: 1,
      resources: undefined,
    }),
  };
}

/** How a task is run: retries, timeout and what it occupies while running. */
export interface TaskPolicy {
  readonly retries: number;
  readonly backoff: BackoffFunction;
  readonly timeout: number | undefined;
  readonly weight: number;
  readonly resources: ReadonlyArray<readonly [string, number]> | undefined;
}

/** A task definition after validation, with the scheduler's defaults applied. */
export interface ResolvedTask {
  readonly dependsOn: readonly string[];
  readonly run: TaskDefinition['run'];
  readonly priority: number;
  readonly signal: AbortSignal | undefined;
  /** `opts.defaultPolicy` itself when the definition sets none of the policy keys. */
  readonly policy: TaskPolicy;
}

/** A {@link ResolvedTask} that {@link resolveTask} can fill in. */
export type ResolvedTaskTarget = { -readonly [K in keyof ResolvedTask]: ResolvedTask[K] };

/**
 * Validates one task definition and writes the result into `into` (the scheduler's
 * node for the task, so no separate object is allocated per task). Throws
 * {@link InvalidTaskError} naming the task.
 */
export function resolveTask(
  name: string,
  def: unknown,
  opts: ResolvedOptions,
  into: ResolvedTaskTarget,
): void {
  const fail = (message: string): never => {
    throw new InvalidTaskError(name, message);
  };
  if (typeof def !== 'object' || def === null) fail('definition must be an object');
  const d = def as TaskDefinition;
  // for-in rather than Object.keys: this runs once per task and must not allocate.
  for (const key in d) {
    if (!TASK_KEYS.has(key) && Object.hasOwn(d, key)) {
      fail(`unknown key "${key}" (known: ${[...TASK_KEYS].join(', ')})`);
    }
  }
  if (typeof d.run !== 'function') fail('run must be a function');
  const dependsOn = d.dependsOn ?? NO_DEPENDENCIES;
  if (!Array.isArray(dependsOn)) fail('dependsOn must be an array of task names');
  const duplicate = findDuplicate(dependsOn);
  if (duplicate !== undefined) fail(`dependsOn lists "${duplicate}" twice`);
  for (let i = 0; i < dependsOn.length; i++) {
    const dep: unknown = dependsOn[i];
    if (typeof dep !== 'string' || dep === '') fail('dependsOn entries must be non-empty strings');
  }
  const priority = d.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    fail('priority must be a finite number');
  }
  const retries = d.retries ?? opts.retryCount;
  if (!isNonNegativeInt(retries)) fail('retries must be an integer >= 0');
  const timeout = d.timeout ?? opts.timeout;
  if (timeout !== undefined && !isTimeout(timeout)) {
    fail('timeout must be a number of ms between 1 and 2147483647');
  }
  const weight = d.weight ?? 1;
  if (!isPositiveNumber(weight) || !Number.isFinite(weight)) fail('weight must be a number > 0');
  if (weight > opts.maxConcurrentTasks) {
    fail(
      `weight ${weight} exceeds maxConcurrentTasks ${opts.maxConcurrentTasks}; it could never run`,
    );
  }
  let resources: Array<readonly [string, number]> | undefined;
  if (d.resources !== undefined) {
    if (typeof d.resources !== 'object' || d.resources === null) {
      fail('resources must be an object of name -> amount');
    }
    resources = [];
    for (const [res, amount] of Object.entries(d.resources)) {
      const limit = opts.resources.get(res);
      if (limit === undefined) fail(`resource "${res}" has no limit in the scheduler's resources`);
      if (!isPositiveNumber(amount) || !Number.isFinite(amount)) {
        fail(`resources.${res} must be a number > 0`);
      }
      if (amount > (limit as number)) {
        fail(`needs ${amount} of resource "${res}" but its limit is ${limit}; it could never run`);
      }
      resources.push([res, amount]);
    }
    if (resources.length === 0) resources = undefined;
  }
  if (d.signal !== undefined && !isSignal(d.signal)) fail('signal must be an AbortSignal');
  const backoff =
    d.backoff === undefined ? opts.backoff : resolveBackoff(d.backoff, (m) => fail(m));
  into.dependsOn = dependsOn;
  into.run = d.run;
  into.priority = opts.enablePriority ? priority : 0;
  into.signal = d.signal;
  into.policy =
    d.retries === undefined &&
    d.backoff === undefined &&
    d.timeout === undefined &&
    d.weight === undefined &&
    resources === undefined
      ? opts.defaultPolicy
      : { retries, backoff, timeout, weight, resources };
}

/** First repeated entry; pairwise for short lists, which spares a Set per task. */
function findDuplicate(list: readonly string[]): string | undefined {
  if (list.length > 16) {
    const seen = new Set<string>();
    for (const item of list) {
      if (seen.has(item)) return item;
      seen.add(item);
    }
    return undefined;
  }
  for (let i = 1; i < list.length; i++) {
    for (let j = 0; j < i; j++) if (list[i] === list[j]) return list[i];
  }
  return undefined;
}
