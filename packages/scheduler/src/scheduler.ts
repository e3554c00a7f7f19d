import { EventEmitter } from 'node:events';
import {
  CycleError,
  InvalidOptionsError,
  InvalidTaskError,
  RunError,
  SchedulerStateError,
  TaskCancelledError,
  TaskTimeoutError,
  UnknownDependencyError,
  describeError,
} from './errors.js';
import { resolveOptions, resolveTask } from './options.js';
import type { ResolvedOptions, ResolvedTask, TaskPolicy } from './options.js';
import { ReadyQueue } from './ready-queue.js';
import type {
  Progress,
  RunReport,
  SchedulerEvent,
  SchedulerEventMap,
  SchedulerOptions,
  TaskContext,
  TaskDefinition,
  TaskDefinitions,
  TaskOutcome,
  TaskStatus,
} from './types.js';

// Node states. A node moves PENDING → READY → RUNNING → (BACKOFF → READY → RUNNING)* → DONE,
// or straight to DONE when it is skipped or cancelled.
const PENDING = 0;
const READY = 1;
const RUNNING = 2;
const BACKOFF = 3;
const DONE = 4;

// Why the current attempt's signal was aborted.
const NOT_ABORTED = 0;
const TIMED_OUT = 1;
const CANCELLED = 2;

type Timer = ReturnType<typeof setTimeout>;

/** The per-attempt context; its AbortController is only created if the task reads `signal`. */
class AttemptContext implements TaskContext {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  constructor(
    private readonly node: TaskNode,
    readonly attempt: number,
    private readonly results: ReadonlyMap<string, unknown>,
  ) {}

  get name(): string {
    return this.node.name;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  get dependencies(): Readonly<Record<string, unknown>> {
    // A task only runs once every dependency has succeeded, so each one has a result.
    const out: Record<string, unknown> = {};
    for (const dep of this.node.dependsOn) out[dep] = this.results.get(dep);
    return out;
  }

  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

/**
 * One task. The graph's edges and in-degree counters are not kept here but in flat
 * typed arrays indexed by `index` (see {@link Scheduler}): the hot loops then walk
 * small dense arrays instead of chasing pointers across thousands of objects, and
 * the garbage collector has one object per task to move instead of five.
 */
class TaskNode implements ResolvedTask {
  // The validated definition (filled in by resolveTask in the constructor).
  dependsOn: readonly string[] = NO_NAMES;
  run: TaskDefinition['run'] = noop;
  priority = 0;
  signal: AbortSignal | undefined = undefined;
  policy: TaskPolicy;
  // Run state.
  seq = 0;
  state = PENDING;
  attempt = 0;
  /** Bumped when an attempt ends, so late settlements of abandoned attempts are ignored. */
  token = 0;
  ctx: AttemptContext | undefined = undefined;
  timer: Timer | undefined = undefined;
  abortKind = NOT_ABORTED;
  abortError: unknown = undefined;
  cancelRequested: TaskCancelledError | undefined = undefined;
  status: TaskStatus | undefined = undefined;
  error: unknown = undefined;
  reason: string | undefined = undefined;
  startedAtMs: number | undefined = undefined;
  finishedAtMs: number | undefined = undefined;
  detachSignal: (() => void) | undefined = undefined;
  /** Dependents added by add() after the constructor built the graph's arrays. */
  lateDependents: number[] | undefined = undefined;

  constructor(
    readonly name: string,
    readonly index: number,
    definition: unknown,
    opts: ResolvedOptions,
  ) {
    this.policy = opts.defaultPolicy;
    resolveTask(name, definition, opts, this);
  }

  /** `value` is the task's result if it succeeded (kept in the scheduler's `values`). */
  outcome(value: unknown): TaskOutcome {
    const o: {
      -readonly [K in keyof TaskOutcome]: TaskOutcome[K];
    } = { name: this.name, status: this.status ?? 'cancelled', attempts: this.attempt };
    if (this.status === 'succeeded') o.value = value;
    if (this.status === 'failed' || this.status === 'cancelled') o.error = this.error;
    if (this.reason !== undefined) o.reason = this.reason;
    if (this.startedAtMs !== undefined) o.startedAtMs = this.startedAtMs;
    if (this.finishedAtMs !== undefined) o.finishedAtMs = this.finishedAtMs;
    return o;
  }
}

const NO_NAMES: readonly string[] = [];
const noop = (): void => {};

/** An Int32Array at least `size` long, keeping the first `used` entries of `a`. */
function grow(a: Int32Array, size: number, used: number): Int32Array {
  if (size <= a.length) return a;
  const b = new Int32Array(Math.max(size, a.length * 2, 16));
  b.set(a.subarray(0, used));
  return b;
}

type EmitterEvents = { [K in keyof SchedulerEventMap]: [SchedulerEventMap[K]] };

const EVENT_TYPES: ReadonlyArray<keyof SchedulerEventMap> = [
  'taskStart',
  'taskRetry',
  'taskSettled',
  'progress',
  'done',
];

/**
 * Runs async tasks with dependencies under a concurrency cap. A task starts as soon
 * as every task it depends on has succeeded and a slot is free, and receives their
 * results as arguments. Scheduling is event-driven: in-degree counters and a ready
 * queue, O(V + E) in total (O((V + E) log V) with priorities), no polling.
 *
 * @example
 * ```ts
 * import { Scheduler } from '@linkforge/scheduler';
 *
 * const results = await new Scheduler(
 *   {
 *     A: { dependsOn: [], run: async () => 2 },
 *     B: { dependsOn: ['A'], run: async (a) => a * 3 },
 *   },
 *   { maxConcurrentTasks: 2 },
 * ).run();
 * results.get('B'); // 6
 * ```
 */
export class Scheduler extends EventEmitter<EmitterEvents> {
  private readonly opts: ResolvedOptions;
  private readonly nodes = new Map<string, TaskNode>();
  private readonly order: TaskNode[] = [];
  private readonly ready = new ReadyQueue<TaskNode>();
  private readonly results = new Map<string, unknown>();
  // The graph, in flat arrays indexed by TaskNode.index:
  //   dependencies of node i:  depList[depStart[i] .. depStart[i + 1])
  //   dependents of node i:    outList[outStart[i] .. outStart[i + 1]) for the nodes the
  //                            constructor built, plus node.lateDependents (add())
  //   remaining[i]:            dependencies of node i that have not succeeded yet
  //   values[i]:               node i's result once it succeeded
  private depStart: Int32Array = new Int32Array(1);
  private depList: Int32Array = new Int32Array(0);
  private outStart: Int32Array = new Int32Array(1);
  private outList: Int32Array = new Int32Array(0);
  private remaining: Int32Array = new Int32Array(0);
  private readonly values: unknown[] = [];
  /** Nodes without dependencies, in definition order: the initial ready set. */
  private readonly roots: number[] = [];
  /** Nodes with their own `signal`, watched from the start of the run. */
  private readonly signalled: TaskNode[] = [];
  /** Run time (ms) of the latest state change; stamps the starts it causes. */
  private clock = 0;
  private phase: 'idle' | 'running' | 'done' = 'idle';
  /** Set once the run stops starting tasks (fail-fast, abort, signal). */
  private aborting = false;
  private runCancelled = false;
  private stopReason: TaskCancelledError | undefined;
  private firstFailure: { error: unknown } | undefined;
  private seqCounter = 0;
  private activeWeight = 0;
  private readonly resourceUse = new Map<string, number>();
  private pumping = false;
  private running = 0;
  private readonly counts: Record<TaskStatus, number> = {
    succeeded: 0,
    failed: 0,
    skipped: 0,
    cancelled: 0,
  };
  private runStart = 0;
  private resolveDone: ((report: RunReport) => void) | undefined;
  private detachRunSignal: (() => void) | undefined;
  /** Set once anyone subscribes: until then no event objects are built at all. */
  private observed = false;

  /**
   * Validates every task and the whole graph before anything runs.
   *
   * @throws InvalidOptionsError, InvalidTaskError, UnknownDependencyError (naming
   *   every missing edge), CycleError (naming the tasks on the cycle).
   */
  constructor(tasks: TaskDefinitions = {}, options?: SchedulerOptions) {
    super();
    this.opts = resolveOptions(options);
    (this as unknown as EventEmitter).once('newListener', () => {
      this.observed = true;
    });
    if (tasks instanceof Map) {
      tasks.forEach((def: unknown, name: string) => this.define(name, def));
    } else if (typeof tasks === 'object' && tasks !== null) {
      const record = tasks as Readonly<Record<string, TaskDefinition>>;
      for (const name of Object.keys(record)) this.define(name, record[name]);
    } else {
      throw new InvalidOptionsError('tasks must be an object or a Map of task definitions');
    }
    this.buildGraph();
  }

  /**
   * Resolves every dependency name once and lays the graph out in the flat arrays
   * (counting sort of the edges by dependency, so each list is exactly sized), then
   * checks it for cycles. Collects every unknown dependency before throwing.
   */
  private buildGraph(): void {
    const order = this.order;
    const n = order.length;
    let edges = 0;
    for (let i = 0; i < n; i++) edges += (order[i] as TaskNode).dependsOn.length;
    const depStart = new Int32Array(n + 1);
    const depList = new Int32Array(edges);
    // outStart[j + 1] counts node j's dependents first, then becomes the prefix sum.
    const outStart = new Int32Array(n + 1);
    const remaining = new Int32Array(n);
    const nodes = this.nodes;
    const missing: Array<{ task: string; dependency: string }> = [];
    let e = 0;
    for (let i = 0; i < n; i++) {
      const node = order[i] as TaskNode;
      const names = node.dependsOn;
      for (let k = 0; k < names.length; k++) {
        const dep = nodes.get(names[k] as string);
        if (dep === undefined) {
          missing.push({ task: node.name, dependency: names[k] as string });
        } else {
          depList[e++] = dep.index;
          (outStart[dep.index + 1] as number)++;
        }
      }
      depStart[i + 1] = e;
      remaining[i] = e - (depStart[i] as number);
      if (e === depStart[i]) this.roots.push(i);
      if (node.signal !== undefined) this.signalled.push(node);
    }
    if (missing.length > 0) throw new UnknownDependencyError(missing);
    for (let i = 0; i < n; i++) (outStart[i + 1] as number) += outStart[i] as number;
    const outList = new Int32Array(edges);
    const cursor = outStart.slice(0, n);
    for (let i = 0; i < n; i++) {
      for (let k = depStart[i] as number; k < (depStart[i + 1] as number); k++) {
        outList[(cursor[depList[k] as number] as number)++] = i;
      }
    }
    checkAcyclic(order, depStart, depList, outStart, outList);
    this.depStart = depStart;
    this.depList = depList;
    this.outStart = outStart;
    this.outList = outList;
    this.remaining = remaining;
    for (let i = 0; i < n; i++) this.values.push(undefined);
  }

  /**
   * Adds a task, before or during the run. Its dependencies must already be known,
   * which also means it cannot close a cycle. During a run it starts as soon as its
   * dependencies have succeeded (immediately if they already have); if one of them
   * already failed, was skipped or was cancelled, it is skipped at once.
   *
   * @example
   * ```ts
   * scheduler.add('report', { dependsOn: ['load'], run: async (rows) => summarize(rows) });
   * ```
   * @throws InvalidTaskError, UnknownDependencyError, SchedulerStateError (run over or stopping)
   */
  add(name: string, definition: TaskDefinition): this {
    checkName(name);
    if (this.phase === 'done') {
      throw new SchedulerStateError(`cannot add task "${name}": the run has finished`);
    }
    if (this.aborting) {
      throw new SchedulerStateError(`cannot add task "${name}": the run is stopping`);
    }
    if (this.nodes.has(name)) throw new InvalidTaskError(name, 'a task with this name exists');
    const node = new TaskNode(name, this.order.length, definition, this.opts);
    const missing = node.dependsOn
      .filter((dep) => !this.nodes.has(dep))
      .map((dependency) => ({ task: name, dependency }));
    if (missing.length > 0) throw new UnknownDependencyError(missing);
    this.nodes.set(name, node);
    this.order.push(node);
    this.values.push(undefined);
    this.link(node);
    // A dependency may already have failed, been skipped or cancelled (also before the
    // run, through cancel()): then this task can never run.
    const blocker = node.dependsOn
      .map((dep) => this.nodes.get(dep) as TaskNode)
      .find((d) => d.state === DONE && d.status !== 'succeeded');
    if (blocker !== undefined) {
      this.markDone(node, 'skipped', undefined, skipReason(blocker, blocker));
    }
    if (this.phase === 'running') {
      this.clock = this.now();
      this.watchTaskSignal(node);
      if (node.state === PENDING && this.remaining[node.index] === 0) this.makeReady(node);
      this.afterChange();
    } else {
      if (node.signal !== undefined) this.signalled.push(node);
      if (node.dependsOn.length === 0) this.roots.push(node.index);
    }
    return this;
  }

  /**
   * Runs every task. Resolves to the results of all tasks by name (the seed's
   * `Map`), in completion order, when every task succeeded.
   *
   * @throws RunError (rejection) when any task failed, was skipped or was cancelled;
   *   `error.report` has every task's outcome and the partial results.
   */
  async run(): Promise<Map<string, unknown>> {
    const report = await this.runSettled();
    if (report.status === 'succeeded') return report.results;
    throw new RunError(report, {
      cause: this.firstFailure !== undefined ? this.firstFailure.error : this.stopReason,
    });
  }

  /**
   * Runs every task and resolves to the full {@link RunReport}, whatever the tasks
   * did (like `Promise.allSettled`).
   *
   * @example
   * ```ts
   * const report = await scheduler.runSettled();
   * for (const t of report.tasks.values()) console.log(t.name, t.status, t.reason ?? '');
   * ```
   */
  runSettled(): Promise<RunReport> {
    if (this.phase !== 'idle') {
      return Promise.reject(new SchedulerStateError('run() can be called only once'));
    }
    this.phase = 'running';
    this.runStart = performance.now();
    const done = new Promise<RunReport>((resolve) => {
      this.resolveDone = resolve;
    });
    for (const node of this.signalled) this.watchTaskSignal(node);
    const signal = this.opts.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.abortFromSignal(signal.reason);
      else {
        const onAbort = (): void => this.abortFromSignal(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        this.detachRunSignal = () => signal.removeEventListener('abort', onAbort);
      }
    }
    const order = this.order;
    for (const i of this.roots) {
      const node = order[i] as TaskNode;
      if (node.state === PENDING) this.makeReady(node);
    }
    this.afterChange();
    return done;
  }

  /**
   * Cancels one task: if pending it becomes `cancelled` at once; if running its
   * signal is aborted. Its dependents are skipped. Returns false if it had already
   * settled.
   *
   * @throws InvalidTaskError for an unknown name
   */
  cancel(name: string, reason?: string): boolean {
    const node = this.nodes.get(name);
    if (node === undefined) throw new InvalidTaskError(name, 'no such task');
    if (node.state === DONE) return false;
    const error = new TaskCancelledError(reason ?? `task "${name}" was cancelled`);
    node.cancelRequested = error;
    if (node.state === RUNNING) {
      this.abortAttempt(node, CANCELLED, error);
      return true;
    }
    clearTimeout(node.timer);
    node.timer = undefined;
    this.markDone(node, 'cancelled', error, error.message);
    this.afterChange();
    return true;
  }

  /**
   * Cancels the whole run: nothing new starts, pending tasks become `cancelled`,
   * running tasks' signals are aborted. `run()` then rejects with a `RunError`
   * whose code is `RUN_CANCELLED`.
   */
  abort(reason?: string): void {
    if (this.phase === 'done') return;
    this.stopRun(new TaskCancelledError(reason ?? 'run cancelled'), true);
  }

  /** Current counters. */
  get progress(): Progress {
    const settled =
      this.counts.succeeded + this.counts.failed + this.counts.skipped + this.counts.cancelled;
    const total = this.order.length;
    return {
      total,
      pending: total - settled - this.running,
      running: this.running,
      succeeded: this.counts.succeeded,
      failed: this.counts.failed,
      skipped: this.counts.skipped,
      cancelled: this.counts.cancelled,
      settled,
      percent: total === 0 ? 100 : (settled / total) * 100,
    };
  }

  /** The outcome of one task so far (`undefined` while it has not settled). */
  outcome(name: string): TaskOutcome | undefined {
    const node = this.nodes.get(name);
    return node?.state === DONE ? node.outcome(this.values[node.index]) : undefined;
  }

  /**
   * Every event of the run as an async iterator, ending after `done`. Events are
   * buffered from the moment this is called, so call it before `run()`.
   *
   * @example
   * ```ts
   * const events = scheduler.events();
   * const running = scheduler.runSettled();
   * for await (const e of events) if (e.type === 'taskSettled') console.log(e.data.name, e.data.status);
   * ```
   */
  events(): AsyncIterableIterator<SchedulerEvent> {
    const buffer: SchedulerEvent[] = [];
    let head = 0;
    let finished = this.phase === 'done';
    let wake: (() => void) | undefined;
    // The typed overloads cannot express "any event"; the untyped view can.
    const emitter = this as unknown as EventEmitter;
    const handlers = EVENT_TYPES.map((type) => {
      const handler = (data: unknown): void => {
        buffer.push({ type, data } as SchedulerEvent);
        if (type === 'done') finished = true;
        wake?.();
      };
      emitter.on(type, handler);
      return [type, handler] as const;
    });
    const unsubscribe = (): void => {
      for (const [type, handler] of handlers) {
        emitter.off(type, handler);
      }
    };
    const iterator: AsyncIterableIterator<SchedulerEvent> = {
      next: async () => {
        for (;;) {
          if (head < buffer.length) {
            const value = buffer[head] as SchedulerEvent;
            buffer[head++] = undefined as unknown as SchedulerEvent;
            return { value, done: false };
          }
          if (finished) {
            unsubscribe();
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
      return: async () => {
        finished = true;
        unsubscribe();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  // ---- internals ---------------------------------------------------------------

  private define(name: string, def: unknown): void {
    checkName(name);
    const size = this.nodes.size;
    const node = new TaskNode(name, size, def, this.opts);
    this.nodes.set(name, node);
    // One hash lookup instead of has() + set(): a repeated name leaves the size unchanged.
    if (this.nodes.size === size) throw new InvalidTaskError(name, 'defined twice');
    this.order.push(node);
  }

  /** Adds the edges of a node added by add(); every dependency exists already. */
  private link(node: TaskNode): void {
    const i = node.index;
    const names = node.dependsOn;
    const from = this.depStart[i] as number;
    this.depStart = grow(this.depStart, i + 2, i + 1);
    this.depList = grow(this.depList, from + names.length, from);
    this.remaining = grow(this.remaining, i + 1, i);
    let remaining = 0;
    for (let k = 0; k < names.length; k++) {
      const dep = this.nodes.get(names[k] as string) as TaskNode;
      this.depList[from + k] = dep.index;
      (dep.lateDependents ??= []).push(i);
      if (!(dep.state === DONE && dep.status === 'succeeded')) remaining++;
    }
    this.depStart[i + 1] = from + names.length;
    this.remaining[i] = remaining;
  }

  private now(): number {
    return performance.now() - this.runStart;
  }

  private watchTaskSignal(node: TaskNode): void {
    const signal = node.signal;
    if (signal === undefined || node.state === DONE) return;
    const onAbort = (): void => {
      if (this.phase === 'running') this.cancel(node.name, cancelText(node.name, signal.reason));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    node.detachSignal = () => signal.removeEventListener('abort', onAbort);
  }

  private abortFromSignal(reason: unknown): void {
    const text = reason === undefined ? 'run cancelled' : `run cancelled: ${describe(reason)}`;
    this.stopRun(new TaskCancelledError(text, { cause: reason }), true);
  }

  private makeReady(node: TaskNode): void {
    node.state = READY;
    node.seq = this.seqCounter++;
    this.ready.push(node);
  }

  private afterChange(): void {
    this.pump();
    this.checkDone();
  }

  /** Starts ready tasks while the top of the heap fits; strict priority order, no backfilling. */
  private pump(): void {
    if (this.pumping || this.phase !== 'running') return;
    this.pumping = true;
    try {
      const ready = this.ready;
      const max = this.opts.maxConcurrentTasks;
      while (!this.aborting) {
        const node = ready.peek();
        if (node === undefined) break;
        if (node.state !== READY) {
          // Cancelled while queued: removed lazily here instead of searching the heap.
          ready.pop();
          continue;
        }
        if (this.activeWeight + node.policy.weight > max) break;
        if (node.policy.resources !== undefined && !this.resourcesFit(node.policy.resources)) break;
        ready.pop();
        this.start(node);
      }
    } finally {
      this.pumping = false;
    }
  }

  private resourcesFit(needs: ReadonlyArray<readonly [string, number]>): boolean {
    for (const [name, amount] of needs) {
      const used = this.resourceUse.get(name) ?? 0;
      if (used + amount > (this.opts.resources.get(name) as number)) return false;
    }
    return true;
  }

  private adjustResources(needs: ReadonlyArray<readonly [string, number]>, sign: 1 | -1): void {
    for (const [name, amount] of needs) {
      this.resourceUse.set(name, (this.resourceUse.get(name) ?? 0) + sign * amount);
    }
  }

  private start(node: TaskNode): void {
    node.state = RUNNING;
    const attempt = ++node.attempt;
    if (node.startedAtMs === undefined) node.startedAtMs = this.clock;
    this.activeWeight += node.policy.weight;
    if (node.policy.resources !== undefined) this.adjustResources(node.policy.resources, 1);
    this.running++;
    const ctx = new AttemptContext(node, attempt, this.results);
    node.ctx = ctx;
    const token = node.token;
    if (node.policy.timeout !== undefined) {
      node.timer = setTimeout(this.onTimeout, node.policy.timeout, node, token);
    }
    if (this.observed) {
      this.emit('taskStart', { name: node.name, attempt });
      if (this.listenerCount('progress') > 0) this.emit('progress', this.progress);
    }

    const run = node.run;
    const values = this.values;
    const depList = this.depList;
    const from = this.depStart[node.index] as number;
    const n = (this.depStart[node.index + 1] as number) - from;
    let result: unknown;
    try {
      // Direct calls for the common small arities spare an arguments array per task.
      if (n === 0) result = run(ctx);
      else if (n === 1) result = run(values[depList[from] as number], ctx);
      else if (n === 2) {
        result = run(values[depList[from] as number], values[depList[from + 1] as number], ctx);
      } else if (n === 3) {
        result = run(
          values[depList[from] as number],
          values[depList[from + 1] as number],
          values[depList[from + 2] as number],
          ctx,
        );
      } else {
        const args: unknown[] = new Array(n + 1);
        for (let k = 0; k < n; k++) args[k] = values[depList[from + k] as number];
        args[n] = ctx;
        result = run(...args);
      }
    } catch (error) {
      result = Promise.reject(error);
    }
    // Settle asynchronously even for synchronous results, so a task never re-enters pump().
    Promise.resolve(result).then(
      (value) => {
        if (node.token === token) this.finishAttempt(node, true, value);
      },
      (error: unknown) => {
        if (node.token === token) this.finishAttempt(node, false, error);
      },
    );
  }

  private readonly onTimeout = (node: TaskNode, token: number): void => {
    if (node.token !== token || node.state !== RUNNING) return;
    node.timer = undefined;
    this.abortAttempt(node, TIMED_OUT, new TaskTimeoutError(node.name, node.policy.timeout ?? 0));
  };

  private abortAttempt(node: TaskNode, kind: number, reason: unknown): void {
    if (node.abortKind !== NOT_ABORTED) return;
    node.abortKind = kind;
    node.abortError = reason;
    node.ctx?.abort(reason);
    const grace = this.opts.abortGracePeriod;
    if (grace !== Infinity) {
      // The attempt is over either way: a pending timeout has nothing left to do.
      clearTimeout(node.timer);
      node.timer = setTimeout(this.onGraceExpired, grace, node, node.token);
    }
  }

  private readonly onGraceExpired = (node: TaskNode, token: number): void => {
    // The task ignored its signal: give up on it so the run can go on.
    if (node.token === token && node.state === RUNNING) {
      this.finishAttempt(node, false, node.abortError);
    }
  };

  private finishAttempt(node: TaskNode, ok: boolean, valueOrError: unknown): void {
    node.token++;
    if (node.timer !== undefined) {
      clearTimeout(node.timer);
      node.timer = undefined;
    }
    node.ctx = undefined;
    this.activeWeight -= node.policy.weight;
    if (node.policy.resources !== undefined) this.adjustResources(node.policy.resources, -1);
    this.running--;
    const kind = node.abortKind;
    const abortError = node.abortError;
    node.abortKind = NOT_ABORTED;
    node.abortError = undefined;

    if (kind === TIMED_OUT) this.attemptFailed(node, abortError);
    else if (ok) this.markDone(node, 'succeeded', valueOrError, undefined);
    else if (kind === CANCELLED) {
      this.markDone(node, 'cancelled', abortError, (abortError as Error).message);
    } else this.attemptFailed(node, valueOrError);
    this.afterChange();
  }

  private attemptFailed(node: TaskNode, error: unknown): void {
    if (
      !this.aborting &&
      node.cancelRequested === undefined &&
      node.attempt <= node.policy.retries
    ) {
      const delayMs = node.policy.backoff(node.attempt, error);
      node.state = BACKOFF;
      this.clock = this.now();
      if (this.observed) {
        this.emit('taskRetry', { name: node.name, attempt: node.attempt, error, delayMs });
      }
      node.timer = setTimeout(this.onBackoffDone, delayMs, node, node.token);
      return;
    }
    if (node.cancelRequested !== undefined) {
      this.markDone(node, 'cancelled', node.cancelRequested, node.cancelRequested.message);
      return;
    }
    this.firstFailure ??= { error };
    this.markDone(node, 'failed', error, undefined);
    if (this.opts.errorHandling === 'fail-fast') {
      this.stopRun(
        new TaskCancelledError(`run stopped: task "${node.name}" failed (fail-fast)`, {
          cause: error,
        }),
        false,
      );
    }
  }

  private readonly onBackoffDone = (node: TaskNode, token: number): void => {
    if (node.token !== token || node.state !== BACKOFF) return;
    node.timer = undefined;
    this.makeReady(node);
    this.afterChange();
  };

  /**
   * Final status for one node. Success releases dependents whose counter hits zero;
   * anything else skips every transitive dependent (iteratively: chains can be long).
   */
  private markDone(
    node: TaskNode,
    status: TaskStatus,
    valueOrError: unknown,
    reason: string | undefined,
  ): void {
    node.state = DONE;
    node.status = status;
    // One clock read per settlement: the starts it causes are stamped with it too.
    node.finishedAtMs = this.phase === 'running' ? (this.clock = this.now()) : 0;
    node.reason = reason;
    this.counts[status]++;
    node.detachSignal?.();
    node.detachSignal = undefined;
    if (status === 'succeeded') {
      this.values[node.index] = valueOrError;
      this.results.set(node.name, valueOrError);
    } else {
      node.error = valueOrError;
    }
    this.announce(node);
    const order = this.order;
    const outStart = this.outStart;
    const outList = this.outList;
    const built = outStart.length - 1;
    if (status === 'succeeded') {
      const remaining = this.remaining;
      const release = this.phase === 'running';
      const i = node.index;
      if (i < built) {
        const end = outStart[i + 1] as number;
        for (let k = outStart[i] as number; k < end; k++) {
          const j = outList[k] as number;
          if (--(remaining[j] as number) === 0 && release) {
            const d = order[j] as TaskNode;
            if (d.state === PENDING) this.makeReady(d);
          }
        }
      }
      const late = node.lateDependents;
      if (late !== undefined) {
        for (const j of late) {
          if (--(remaining[j] as number) === 0 && release) {
            const d = order[j] as TaskNode;
            if (d.state === PENDING) this.makeReady(d);
          }
        }
      }
      return;
    }
    // Skip every transitive dependent that has not started.
    const stack = [node];
    const skip = (via: TaskNode, j: number): void => {
      const d = order[j] as TaskNode;
      if (d.state !== PENDING) return;
      d.state = DONE;
      d.status = 'skipped';
      d.reason = skipReason(node, via);
      d.finishedAtMs = node.finishedAtMs;
      d.detachSignal?.();
      d.detachSignal = undefined;
      this.counts.skipped++;
      this.announce(d);
      stack.push(d);
    };
    while (stack.length > 0) {
      const via = stack.pop() as TaskNode;
      const i = via.index;
      if (i < built) {
        for (let k = outStart[i] as number; k < (outStart[i + 1] as number); k++) {
          skip(via, outList[k] as number);
        }
      }
      if (via.lateDependents !== undefined) for (const j of via.lateDependents) skip(via, j);
    }
  }

  private announce(node: TaskNode): void {
    const onProgress = this.opts.onProgress;
    if (!this.observed && onProgress === undefined) return;
    if (this.listenerCount('taskSettled') > 0)
      this.emit('taskSettled', node.outcome(this.values[node.index]));
    if (onProgress !== undefined || this.listenerCount('progress') > 0) {
      const p = this.progress;
      if (onProgress !== undefined) onProgress(p);
      this.emit('progress', p);
    }
  }

  /** Stops starting tasks; cancels everything not yet running and aborts what runs. */
  private stopRun(reason: TaskCancelledError, cancelled: boolean): void {
    if (this.aborting) return;
    this.aborting = true;
    this.runCancelled = cancelled;
    this.stopReason = reason;
    this.ready.clear();
    for (const node of this.order) {
      if (node.state === RUNNING) this.abortAttempt(node, CANCELLED, reason);
      else if (node.state !== DONE) {
        clearTimeout(node.timer);
        node.timer = undefined;
        node.state = DONE;
        node.status = 'cancelled';
        node.error = reason;
        node.reason = reason.message;
        node.finishedAtMs = this.phase === 'running' ? this.now() : 0;
        node.detachSignal?.();
        node.detachSignal = undefined;
        this.counts.cancelled++;
        this.announce(node);
      }
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (this.phase !== 'running') return;
    const c = this.counts;
    if (c.succeeded + c.failed + c.skipped + c.cancelled < this.order.length) return;
    this.phase = 'done';
    this.detachRunSignal?.();
    const status = this.runCancelled
      ? 'cancelled'
      : c.succeeded === this.order.length
        ? 'succeeded'
        : 'failed';
    // Outcomes are final now; the per-task map is built on first access, because
    // run() on success (the common case) never looks at it.
    const order = this.order;
    const values = this.values;
    let tasks: Map<string, TaskOutcome> | undefined;
    const report: RunReport = {
      status,
      results: this.results,
      get tasks(): Map<string, TaskOutcome> {
        if (tasks === undefined) {
          tasks = new Map();
          for (const node of order) tasks.set(node.name, node.outcome(values[node.index]));
        }
        return tasks;
      },
      counts: { ...c },
      durationMs: this.now(),
    };
    if (this.observed) this.emit('done', report);
    this.resolveDone?.(report);
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidTaskError(String(name), 'task names must be non-empty strings');
  }
}

function skipReason(root: TaskNode, via: TaskNode): string {
  const what = `dependency "${root.name}" ${root.status === 'skipped' ? 'was skipped' : root.status}`;
  return via === root ? what : `${what} (via "${via.name}")`;
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : describeError(reason);
}

function cancelText(name: string, reason: unknown): string {
  return reason === undefined
    ? `task "${name}" was cancelled`
    : `task "${name}" was cancelled: ${describe(reason)}`;
}

/**
 * Kahn's algorithm over the in-degree counters (O(V + E)). If some tasks are never
 * released, each of them waits on another unreleased one, so walking unreleased
 * dependencies from any of them must revisit a task: that walk is the cycle.
 */
function checkAcyclic(
  order: readonly TaskNode[],
  depStart: Int32Array,
  depList: Int32Array,
  outStart: Int32Array,
  outList: Int32Array,
): void {
  const n = order.length;
  const waiting = new Int32Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) {
    waiting[i] = (depStart[i + 1] as number) - (depStart[i] as number);
    if (waiting[i] === 0) queue[tail++] = i;
  }
  for (let head = 0; head < tail; head++) {
    const i = queue[head] as number;
    for (let k = outStart[i] as number; k < (outStart[i + 1] as number); k++) {
      const j = outList[k] as number;
      if (--(waiting[j] as number) === 0) queue[tail++] = j;
    }
  }
  if (tail === n) return;
  let current = waiting.findIndex((w) => w > 0);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  while (!seenAt.has(current)) {
    seenAt.set(current, path.length);
    path.push(current);
    let next = -1;
    for (let k = depStart[current] as number; next < 0; k++) {
      if ((waiting[depList[k] as number] as number) > 0) next = depList[k] as number;
    }
    current = next;
  }
  const cycle = path.slice(seenAt.get(current)).map((i) => (order[i] as TaskNode).name);
  cycle.push((order[current] as TaskNode).name);
  throw new CycleError(cycle);
}
