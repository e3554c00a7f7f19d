import { describe, expect, it } from 'vitest';
import { Scheduler, TaskTimeoutError } from '../src/index.js';
import type { TaskContext } from '../src/index.js';
import { sleep } from './helpers.js';

describe('timeout', () => {
  it("aborts the task's signal with a TaskTimeoutError and fails the task", async () => {
    let seenReason: unknown;
    const started = performance.now();

    const report = await new Scheduler({
      slow: {
        timeout: 50,
        run: async (ctx: TaskContext) => {
          try {
            await sleep(5_000, ctx.signal);
          } catch (error) {
            seenReason = ctx.signal.reason;
            throw error;
          }
        },
      },
    }).runSettled();

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(seenReason).toBeInstanceOf(TaskTimeoutError);
    const outcome = report.tasks.get('slow');
    expect(outcome?.status).toBe('failed');
    expect(outcome?.error).toBeInstanceOf(TaskTimeoutError);
    expect((outcome?.error as TaskTimeoutError).message).toBe('task "slow" timed out after 50 ms');
  });

  it('fails a task that resolves after its timeout, even if it ignored the signal', async () => {
    const report = await new Scheduler(
      { late: { timeout: 20, run: async () => (await sleep(60), 'late') } },
      { abortGracePeriod: 1_000 },
    ).runSettled();

    expect(report.tasks.get('late')?.error).toBeInstanceOf(TaskTimeoutError);
    expect(report.results.has('late')).toBe(false);
  });

  it('gives up on a task that ignores its signal after the grace period and frees its slot', async () => {
    const ran: string[] = [];
    const started = performance.now();

    const report = await new Scheduler(
      {
        hangs: { timeout: 20, run: () => new Promise(() => undefined) },
        next: { run: () => ran.push('next') },
      },
      { maxConcurrentTasks: 1, abortGracePeriod: 30, errorHandling: 'continue' },
    ).runSettled();

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(report.tasks.get('hangs')?.status).toBe('failed');
    expect(ran).toEqual(['next']);
  });
});

describe('retries with backoff', () => {
  it('retries after exponentially growing delays and succeeds on the third attempt', async () => {
    const attemptTimes: number[] = [];
    const retryEvents: Array<{ attempt: number; delayMs: number }> = [];
    const t0 = performance.now();
    const scheduler = new Scheduler({
      flaky: {
        retries: 3,
        backoff: { delay: 40, factor: 2 },
        run: async (ctx: TaskContext) => {
          attemptTimes.push(performance.now() - t0);
          if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} failed`);
          return `ok on ${ctx.attempt}`;
        },
      },
    });
    scheduler.on('taskRetry', ({ attempt, delayMs }) => retryEvents.push({ attempt, delayMs }));

    const report = await scheduler.runSettled();

    expect(report.tasks.get('flaky')).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(report.results.get('flaky')).toBe('ok on 3');
    expect(retryEvents).toEqual([
      { attempt: 1, delayMs: 40 },
      { attempt: 2, delayMs: 80 },
    ]);
    const [first, second, third] = attemptTimes as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(38);
    expect(third - second).toBeGreaterThanOrEqual(78);
  });

  it('fails with the last error once retries are exhausted (retryCount from the options)', async () => {
    let calls = 0;

    const report = await new Scheduler(
      {
        broken: {
          run: async () => {
            calls++;
            throw new Error(`failure ${calls}`);
          },
        },
      },
      { retryCount: 2, backoff: { delay: 1 } },
    ).runSettled();

    expect(calls).toBe(3);
    expect(report.tasks.get('broken')).toMatchObject({ status: 'failed', attempts: 3 });
    expect((report.tasks.get('broken')?.error as Error).message).toBe('failure 3');
  });

  it('retries a timed-out attempt with a fresh, unaborted signal', async () => {
    const signals: boolean[] = [];

    const report = await new Scheduler({
      slowThenFast: {
        timeout: 30,
        retries: 1,
        backoff: () => 0,
        run: async (ctx: TaskContext) => {
          signals.push(ctx.signal.aborted);
          if (ctx.attempt === 1) await sleep(5_000, ctx.signal);
          return ctx.attempt;
        },
      },
    }).runSettled();

    expect(report.results.get('slowThenFast')).toBe(2);
    expect(signals).toEqual([false, false]);
  });

  it('releases the slot while waiting to retry, so other tasks run meanwhile', async () => {
    const order: string[] = [];
    const report = await new Scheduler(
      {
        flaky: {
          retries: 1,
          backoff: { delay: 50 },
          run: async (ctx: TaskContext) => {
            order.push(`flaky#${ctx.attempt}`);
            if (ctx.attempt === 1) throw new Error('first try');
          },
        },
        other: { run: async () => order.push('other') },
      },
      { maxConcurrentTasks: 1 },
    ).runSettled();

    expect(report.status).toBe('succeeded');
    expect(order).toEqual(['flaky#1', 'other', 'flaky#2']);
  });
});

describe('backoff options', () => {
  it('caps delays at maxDelay and passes the error to a backoff function', async () => {
    const delays: number[] = [];
    const errors: string[] = [];
    const scheduler = new Scheduler({
      capped: {
        retries: 3,
        backoff: { delay: 10, factor: 10, maxDelay: 25 },
        run: async (ctx: TaskContext) => {
          if (ctx.attempt <= 3) throw new Error('again');
        },
      },
      custom: {
        retries: 2,
        backoff: (attempt, error) => (errors.push((error as Error).message), attempt * 5),
        run: async (ctx: TaskContext) => {
          if (ctx.attempt <= 2) throw new Error(`custom ${ctx.attempt}`);
        },
      },
    });
    scheduler.on('taskRetry', (e) => {
      if (e.name === 'capped') delays.push(e.delayMs);
    });

    const report = await scheduler.runSettled();

    expect(report.status).toBe('succeeded');
    expect(delays).toEqual([10, 25, 25]);
    expect(errors).toEqual(['custom 1', 'custom 2']);
  });

  it('with jitter picks delays between 0 and the exponential value', async () => {
    const delays: number[] = [];
    const scheduler = new Scheduler({
      jittery: {
        retries: 4,
        backoff: { delay: 8, jitter: true },
        run: async (ctx: TaskContext) => {
          if (ctx.attempt <= 4) throw new Error('again');
        },
      },
    });
    scheduler.on('taskRetry', (e) => delays.push(e.delayMs));

    await scheduler.run();

    expect(delays).toHaveLength(4);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(8 * 2 ** i);
    });
  });
});
