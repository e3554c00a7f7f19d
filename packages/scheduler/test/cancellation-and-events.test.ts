import { describe, expect, it } from 'vitest';
import { RunError, Scheduler, TaskCancelledError } from '../src/index.js';
import type { SchedulerEvent, TaskContext } from '../src/index.js';
import { sleep } from './helpers.js';

describe('cancelling the whole run', () => {
  it('with options.signal: aborts running tasks, cancels pending ones, rejects RUN_CANCELLED', async () => {
    const controller = new AbortController();
    const aborted: string[] = [];
    const waiter = (name: string) => async (ctx: TaskContext) => {
      ctx.signal.addEventListener('abort', () => aborted.push(name));
      await sleep(5_000, ctx.signal);
    };
    const scheduler = new Scheduler(
      {
        a: { run: waiter('a') },
        b: { run: waiter('b') },
        c: { run: waiter('c') },
        after: { dependsOn: ['a'], run: () => 1 },
      },
      { maxConcurrentTasks: 2, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('user pressed stop')), 30);

    const error = (await scheduler.run().catch((e: unknown) => e)) as RunError;

    expect(error).toBeInstanceOf(RunError);
    expect(error.code).toBe('RUN_CANCELLED');
    expect(error.report.status).toBe('cancelled');
    expect(aborted.sort()).toEqual(['a', 'b']);
    const statuses = [...error.report.tasks.values()].map((t) => t.status);
    expect(statuses).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(error.report.tasks.get('c')?.reason).toBe('run cancelled: user pressed stop');
    expect(error.report.tasks.get('c')?.attempts).toBe(0);
  });

  it('with an already-aborted signal: runs nothing', async () => {
    let ran = false;

    const report = await new Scheduler(
      { a: { run: () => (ran = true) } },
      { signal: AbortSignal.abort() },
    ).runSettled();

    expect(ran).toBe(false);
    expect(report.status).toBe('cancelled');
  });

  it('with abort(): same as the signal', async () => {
    const scheduler = new Scheduler({ a: { run: (ctx: TaskContext) => sleep(5_000, ctx.signal) } });
    const running = scheduler.runSettled();
    await sleep(10);

    scheduler.abort('shutting down');
    const report = await running;

    expect(report.tasks.get('a')).toMatchObject({ status: 'cancelled', reason: 'shutting down' });
  });
});

describe('cancelling one task', () => {
  it('aborts it if running and skips its dependents; other tasks finish', async () => {
    const scheduler = new Scheduler({
      victim: { run: (ctx: TaskContext) => sleep(5_000, ctx.signal) },
      dependent: { dependsOn: ['victim'], run: () => 1 },
      bystander: { run: () => sleep(40).then(() => 'fine') },
    });
    const running = scheduler.runSettled();
    await sleep(10);

    expect(scheduler.cancel('victim', 'not needed')).toBe(true);
    const report = await running;

    expect(report.tasks.get('victim')).toMatchObject({ status: 'cancelled', reason: 'not needed' });
    expect(report.tasks.get('victim')?.error).toBeInstanceOf(TaskCancelledError);
    expect(report.tasks.get('dependent')).toMatchObject({
      status: 'skipped',
      reason: 'dependency "victim" cancelled',
    });
    expect(report.results.get('bystander')).toBe('fine');
    expect(report.status).toBe('failed');
  });

  it('through its own signal, before it started', async () => {
    const controller = new AbortController();
    let ran = false;
    const scheduler = new Scheduler(
      {
        first: { run: () => sleep(30) },
        second: { signal: controller.signal, run: () => (ran = true) },
      },
      { maxConcurrentTasks: 1 },
    );
    const running = scheduler.runSettled();

    controller.abort();
    const report = await running;

    expect(ran).toBe(false);
    expect(report.tasks.get('second')?.status).toBe('cancelled');
    expect(report.tasks.get('first')?.status).toBe('succeeded');
  });
});

describe('cancelling before the run', () => {
  it('cancels the task, skips dependents (also ones added later), and runs the rest', async () => {
    const scheduler = new Scheduler({
      dropped: { run: () => 1 },
      needsDropped: { dependsOn: ['dropped'], run: () => 2 },
      kept: { run: () => 3 },
    });

    scheduler.cancel('dropped');
    scheduler.add('addedLater', { dependsOn: ['dropped'], run: () => 4 });
    const report = await scheduler.runSettled();

    expect(report.tasks.get('dropped')?.status).toBe('cancelled');
    expect(report.tasks.get('needsDropped')?.status).toBe('skipped');
    expect(report.tasks.get('addedLater')).toMatchObject({
      status: 'skipped',
      reason: 'dependency "dropped" cancelled',
    });
    expect(report.results.get('kept')).toBe(3);
  });

  it('throws for an unknown task name', () => {
    expect(() => new Scheduler().cancel('ghost')).toThrow('task "ghost": no such task');
  });
});

describe('adding tasks while running', () => {
  it('runs a task added by another task, with the results of finished dependencies', async () => {
    const scheduler: Scheduler = new Scheduler({
      fetch: { run: () => [1, 2, 3] },
      fanOut: {
        dependsOn: ['fetch'],
        run: (items: number[]) => {
          for (const n of items) {
            scheduler.add(`square${n}`, { dependsOn: ['fetch'], run: () => n * n });
          }
          scheduler.add('sum', {
            dependsOn: ['square1', 'square2', 'square3'],
            run: (a: number, b: number, c: number) => a + b + c,
          });
          return items.length;
        },
      },
    });

    const results = await scheduler.run();

    expect(results.get('sum')).toBe(14);
    expect(scheduler.progress).toMatchObject({ total: 6, succeeded: 6, percent: 100 });
  });

  it('skips an added task at once when its dependency already failed', async () => {
    const scheduler: Scheduler = new Scheduler(
      {
        bad: {
          run: () => {
            throw new Error('x');
          },
        },
        later: { run: () => sleep(20) },
      },
      { errorHandling: 'continue' },
    );
    const running = scheduler.runSettled();
    await sleep(5);

    scheduler.add('needsBad', { dependsOn: ['bad'], run: () => 1 });
    const report = await running;

    expect(report.tasks.get('needsBad')).toMatchObject({
      status: 'skipped',
      reason: 'dependency "bad" failed',
    });
  });
});

describe('events and progress', () => {
  it('yields every event through the async iterator, ending with done', async () => {
    const scheduler = new Scheduler({
      a: { run: () => 1 },
      b: { dependsOn: ['a'], run: (a: number) => a + 1 },
    });
    const events = scheduler.events();
    const running = scheduler.runSettled();

    const seen: SchedulerEvent[] = [];
    for await (const event of events) seen.push(event);
    await running;

    const summary = seen
      .filter((e) => e.type !== 'progress')
      .map((e) => (e.type === 'done' ? 'done' : `${e.type}:${e.data.name}`));
    expect(summary).toEqual([
      'taskStart:a',
      'taskSettled:a',
      'taskStart:b',
      'taskSettled:b',
      'done',
    ]);
    const last = seen.filter((e) => e.type === 'progress').at(-1);
    expect(last?.data).toMatchObject({ total: 2, succeeded: 2, settled: 2, pending: 0 });
  });

  it('reports start and finish times relative to the run', async () => {
    const report = await new Scheduler({
      a: { run: () => sleep(30) },
      b: { dependsOn: ['a'], run: () => 1 },
    }).runSettled();

    const a = report.tasks.get('a');
    const b = report.tasks.get('b');
    expect(a?.startedAtMs).toBeLessThan(500);
    expect(a?.finishedAtMs).toBeGreaterThanOrEqual(29);
    expect(b?.startedAtMs).toBeGreaterThanOrEqual(a?.finishedAtMs as number);
    expect(report.durationMs).toBeGreaterThanOrEqual(b?.finishedAtMs as number);
  });
});
