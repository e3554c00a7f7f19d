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
import type { ResolvedOptions, ResolvedTask } from './options.js';
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

/**
 * Shared empty list for nodes without dependencies or dependents; it is never
 * written to (link() and the constructor replace it before adding).
 */
const NO_NODES: TaskNode[] = [];

/** The per-attempt context; its AbortController is only created if the task reads `signal`. */
class AttemptContext implements TaskContext {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  constructor(
    private readonly node: TaskNode,
    readonly attempt: number,
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
    const out: Record<string, unknown> = {};
    for (const dep of this.node.deps) out[dep.name] = dep.value;
    return out;
  }

  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

class TaskNode {
  seq = 0;
  state = PENDING;
  /** Dependencies that have not succeeded yet (the in-degree counter). */
  remaining = 0;
  /** Scratch counter for the cycle check. */
  mark = 0;
  deps: TaskNode[] = NO_NODES;
  dependents: TaskNode[] = NO_NODES;
  attempt = 0;
  /** Bumped when an attempt ends, so late settlements of abandoned attempts are ignored. */
  token = 0;
  ctx: AttemptContext | undefined;
  timer: Timer | undefined;
  graceTimer: Timer | undefined;
  abortKind = NOT_ABORTED;
  abortError: unknown;
  cancelRequested: TaskCancelledError | undefined;
  status: TaskStatus | undefined;
  value: unknown;
  error: unknown;
  reason: string | undefined;
  startedAtMs: number | undefined;
  finishedAtMs: number | undefined;
  detachSignal: (() => void) | undefined;
  readonly priority: number;

  constructor(
    readonly name: string,
    readonly task: ResolvedTask,
  ) {
    this.priority = task.priority;
  }

  outcome(): TaskOutcome {
    const o: {
      -readonly [K in keyof TaskOutcome]: TaskOutcome[K];
    } = { name: this.name, status: this.status ?? 'cancelled', attempts: this.attempt };
    if (this.status === 'succeeded') o.value = this.value;
    if (this.status === 'failed' || this.status === 'cancelled') o.error = this.error;
    if (this.reason !== undefined) o.reason = this.reason;
    if (this.startedAtMs !== undefined) o.startedAtMs = this.startedAtMs;
    if (this.finishedAtMs !== undefined) o.finishedAtMs = this.finishedAtMs;
    return o;
  }
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
    // Two passes: resolve names and count each node's dependents, then fill
    // exactly-sized dependents arrays (growing them push by push costs memory and
    // time on large graphs).
    const missing: Array<{ task: string; dependency: string }> = [];
    for (const node of this.order) {
      const names = node.task.dependsOn;
      const deps: TaskNode[] = [];
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        const dep = this.nodes.get(name);
        if (dep === undefined) missing.push({ task: node.name, dependency: name });
        else {
          deps.push(dep);
          dep.mark++;
        }
      }
      node.deps = deps;
      node.remaining = deps.length;
    }
    if (missing.length > 0) throw new UnknownDependencyError(missing);
    for (const node of this.order) {
      if (node.mark > 0) node.dependents = new Array<TaskNode>(node.mark);
      node.mark = 0;
    }
    for (const node of this.order) {
      for (const dep of node.deps) dep.dependents[dep.mark++] = node;
    }
    checkAcyclic(this.order);
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
    const task = resolveTask(name, definition, this.opts);
    const missing = task.dependsOn
      .filter((dep) => !this.nodes.has(dep))
      .map((dependency) => ({ task: name, dependency }));
    if (missing.length > 0) throw new UnknownDependencyError(missing);
    const node = new TaskNode(name, task);
    this.nodes.set(name, node);
    this.order.push(node);
    this.link(node);
    // A dependency may already have failed, been skipped or cancelled (also before the
    // run, through cancel()): then this task can never run.
    const blocker = node.deps.find((d) => d.state === DONE && d.status !== 'succeeded');
    if (blocker !== undefined) {
      this.markDone(node, 'skipped', undefined, skipReason(blocker, blocker));
    }
    if (this.phase === 'running') {
      this.watchTaskSignal(node);
      if (node.state === PENDING && node.remaining === 0) this.makeReady(node);
      this.afterChange();
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
    for (const node of this.order) this.watchTaskSignal(node);
    const signal = this.opts.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.abortFromSignal(signal.reason);
      else {
        const onAbort = (): void => this.abortFromSignal(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        this.detachRunSignal = () => signal.removeEventListener('abort', onAbort);
      }
    }
    for (const node of this.order) {
      if (node.state === PENDING && node.remaining === 0) this.makeReady(node);
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
    return node?.state === DONE ? node.outcome() : undefined;
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
    const node = new TaskNode(name, resolveTask(name, def, this.opts));
    this.nodes.set(name, node);
    // One hash lookup instead of has() + set(): a repeated name leaves the size unchanged.
    if (this.nodes.size === size) throw new InvalidTaskError(name, 'defined twice');
    this.order.push(node);
  }

  private link(node: TaskNode): void {
    node.deps = node.task.dependsOn.map((dep) => this.nodes.get(dep) as TaskNode);
    let remaining = 0;
    for (const dep of node.deps) {
      if (dep.dependents === NO_NODES) dep.dependents = [];
      dep.dependents.push(node);
      if (!(dep.state === DONE && dep.status === 'succeeded')) remaining++;
    }
    node.remaining = remaining;
  }

  private now(): number {
    return performance.now() - this.runStart;
  }

  private watchTaskSignal(node: TaskNode): void {
    const signal = node.task.signal;
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
        if (this.activeWeight + node.task.weight > max) break;
        if (node.task.resources !== undefined && !this.resourcesFit(node.task.resources)) break;
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
    if (node.startedAtMs === undefined) node.startedAtMs = this.now();
    this.activeWeight += node.task.weight;
    if (node.task.resources !== undefined) this.adjustResources(node.task.resources, 1);
    this.running++;
    const ctx = new AttemptContext(node, attempt);
    node.ctx = ctx;
    const token = node.token;
    if (node.task.timeout !== undefined) {
      node.timer = setTimeout(this.onTimeout, node.task.timeout, node, token);
    }
    if (this.observed) {
      this.emit('taskStart', { name: node.name, attempt });
      if (this.listenerCount('progress') > 0) this.emit('progress', this.progress);
    }

    const deps = node.deps;
    const run = node.task.run;
    let result: unknown;
    try {
      // Direct calls for the common small arities spare an arguments array per task.
      const n = deps.length;
      if (n === 0) result = run(ctx);
      else if (n === 1) result = run((deps[0] as TaskNode).value, ctx);
      else if (n === 2) result = run((deps[0] as TaskNode).value, (deps[1] as TaskNode).value, ctx);
      else if (n === 3) {
        const [a, b, c] = deps as [TaskNode, TaskNode, TaskNode];
        result = run(a.value, b.value, c.value, ctx);
      } else {
        const args: unknown[] = new Array(deps.length + 1);
        for (let i = 0; i < deps.length; i++) args[i] = (deps[i] as TaskNode).value;
        args[deps.length] = ctx;
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
    this.abortAttempt(node, TIMED_OUT, new TaskTimeoutError(node.name, node.task.timeout ?? 0));
  };

  private abortAttempt(node: TaskNode, kind: number, reason: unknown): void {
    if (node.abortKind !== NOT_ABORTED) return;
    node.abortKind = kind;
    node.abortError = reason;
    node.ctx?.abort(reason);
    const grace = this.opts.abortGracePeriod;
    if (grace !== Infinity) {
      node.graceTimer = setTimeout(this.onGraceExpired, grace, node, node.token);
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
    if (node.graceTimer !== undefined) {
      clearTimeout(node.graceTimer);
      node.graceTimer = undefined;
    }
    node.ctx = undefined;
    this.activeWeight -= node.task.weight;
    if (node.task.resources !== undefined) this.adjustResources(node.task.resources, -1);
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
    if (!this.aborting && node.cancelRequested === undefined && node.attempt <= node.task.retries) {
      const delayMs = node.task.backoff(node.attempt, error);
      node.state = BACKOFF;
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
    node.finishedAtMs = this.phase === 'running' ? this.now() : 0;
    node.reason = reason;
    this.counts[status]++;
    node.detachSignal?.();
    node.detachSignal = undefined;
    if (status === 'succeeded') {
      node.value = valueOrError;
      this.results.set(node.name, valueOrError);
    } else {
      node.error = valueOrError;
    }
    this.announce(node);
    if (status === 'succeeded') {
      for (const d of node.dependents) {
        if (--d.remaining === 0 && d.state === PENDING && this.phase === 'running') {
          this.makeReady(d);
        }
      }
      return;
    }
    const stack = [node];
    while (stack.length > 0) {
      const via = stack.pop() as TaskNode;
      for (const d of via.dependents) {
        if (d.state !== PENDING) continue;
        d.state = DONE;
        d.status = 'skipped';
        d.reason = skipReason(node, via);
        d.finishedAtMs = node.finishedAtMs;
        d.detachSignal?.();
        d.detachSignal = undefined;
        this.counts.skipped++;
        this.announce(d);
        stack.push(d);
      }
    }
  }

  private announce(node: TaskNode): void {
    const onProgress = this.opts.onProgress;
    if (!this.observed && onProgress === undefined) return;
    if (this.listenerCount('taskSettled') > 0) this.emit('taskSettled', node.outcome());
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
    let tasks: Map<string, TaskOutcome> | undefined;
    const report: RunReport = {
      status,
      results: this.results,
      get tasks(): Map<string, TaskOutcome> {
        if (tasks === undefined) {
          tasks = new Map();
          for (const node of order) tasks.set(node.name, node.outcome());
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
function checkAcyclic(order: readonly TaskNode[]): void {
  const queue: TaskNode[] = [];
  for (const node of order) {
    node.mark = node.deps.length;
    if (node.mark === 0) queue.push(node);
  }
  for (let i = 0; i < queue.length; i++) {
    for (const d of (queue[i] as TaskNode).dependents) {
      if (--d.mark === 0) queue.push(d);
    }
  }
  if (queue.length === order.length) return;
  let current = order.find((n) => n.mark > 0) as TaskNode;
  const seenAt = new Map<TaskNode, number>();
  const path: TaskNode[] = [];
  while (!seenAt.has(current)) {
    seenAt.set(current, path.length);
    path.push(current);
    current = current.deps.find((d) => d.mark > 0) as TaskNode;
  }
  const cycle = path.slice(seenAt.get(current)).map((n) => n.name);
  cycle.push(current.name);
  throw new CycleError(cycle);
}
