import { describe, expect, it } from 'vitest';
import { RunError, Scheduler, TaskCancelledError } from '../src/index.js';
import type { TaskContext } from '../src/index.js';
import { Recorder, sleep } from './helpers.js';

function boom(after = 0): () => Promise<never> {
  return async () => {
    await sleep(after);
    throw new Error('boom');
  };
}

describe("errorHandling: 'fail-fast'", () => {
  it('aborts the signals of running tasks, starts nothing new, and rejects with every outcome', async () => {
    const rec = new Recorder();
    let siblingReason: unknown;
    const scheduler = new Scheduler(
      {
        fails: { run: boom(20) },
        sibling: {
          run: async (ctx: TaskContext) => {
            rec.start('sibling');
            try {
              await sleep(5_000, ctx.signal);
            } catch (error) {
              siblingReason = error;
              throw error;
            }
          },
        },
        queued: { run: async () => rec.start('queued') },
        child: { dependsOn: ['fails'], run: async () => rec.start('child') },
        grandchild: { dependsOn: ['child'], run: async () => rec.start('grandchild') },
      },
      { maxConcurrentTasks: 2, errorHandling: 'fail-fast' },
    );
    const started = performance.now();

    const error = await scheduler.run().then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(RunError);
    const runError = error as RunError;
    expect(runError.code).toBe('RUN_FAILED');
    expect((runError.cause as Error).message).toBe('boom');
    expect(siblingReason).toBeInstanceOf(TaskCancelledError);
    expect(rec.order).toEqual(['sibling']);
    const status = Object.fromEntries(
      [...runError.report.tasks.values()].map((t) => [t.name, t.status]),
    );
    expect(status).toEqual({
      fails: 'failed',
      sibling: 'cancelled',
      queued: 'cancelled',
      child: 'skipped',
      grandchild: 'skipped',
    });
    expect(runError.report.tasks.get('queued')?.reason).toMatch(/task "fails" failed/);
    expect(runError.report.tasks.get('grandchild')?.reason).toBe(
      'dependency "fails" failed (via "child")',
    );
    expect(runError.report.counts).toEqual({ succeeded: 0, failed: 1, skipped: 2, cancelled: 2 });
  });

  it('a task that finishes despite the abort keeps its result', async () => {
    const report = await new Scheduler(
      {
        fails: { run: boom(10) },
        stubborn: { run: async () => (await sleep(60), 'done anyway') },
      },
      { errorHandling: 'fail-fast' },
    ).runSettled();

    expect(report.status).toBe('failed');
    expect(report.tasks.get('stubborn')?.status).toBe('succeeded');
    expect(report.results.get('stubborn')).toBe('done anyway');
  });
});

describe("errorHandling: 'continue'", () => {
  it('skips only the transitive dependents of the failed task, each with a reason', async () => {
    const ran: string[] = [];
    const track = (name: string, value: unknown) => async () => (ran.push(name), value);
    const scheduler = new Scheduler(
      {
        root: { run: track('root', 1) },
        fails: { dependsOn: ['root'], run: boom() },
        afterFail: { dependsOn: ['fails'], run: track('afterFail', 0) },
        deep: { dependsOn: ['afterFail', 'root'], run: track('deep', 0) },
        independent: { dependsOn: ['root'], run: track('independent', 2) },
        alsoIndependent: { run: track('alsoIndependent', 3) },
      },
      { errorHandling: 'continue', maxConcurrentTasks: 1 },
    );

    const report = await scheduler.runSettled();

    expect(report.status).toBe('failed');
    expect(ran.sort()).toEqual(['alsoIndependent', 'independent', 'root']);
    expect(report.tasks.get('fails')).toMatchObject({ status: 'failed', attempts: 1 });
    expect((report.tasks.get('fails')?.error as Error).message).toBe('boom');
    expect(report.tasks.get('afterFail')).toMatchObject({
      status: 'skipped',
      reason: 'dependency "fails" failed',
      attempts: 0,
    });
    expect(report.tasks.get('deep')).toMatchObject({
      status: 'skipped',
      reason: 'dependency "fails" failed (via "afterFail")',
    });
    expect(Object.fromEntries(report.results)).toEqual({
      root: 1,
      independent: 2,
      alsoIndependent: 3,
    });
  });

  it('run() still rejects, with the partial results in the report', async () => {
    const scheduler = new Scheduler(
      { ok: { run: async () => 'fine' }, bad: { run: boom() } },
      { errorHandling: 'continue' },
    );

    const error = (await scheduler.run().catch((e: unknown) => e)) as RunError;

    expect(error).toBeInstanceOf(RunError);
    expect(error.message).toContain('"bad" failed: Error: boom');
    expect(error.report.results.get('ok')).toBe('fine');
  });

  it('skips a 20 000-task chain below a failure without overflowing the stack', async () => {
    const tasks: Record<string, { dependsOn?: string[]; run: () => unknown }> = {
      t0: { run: boom() },
    };
    for (let i = 1; i < 20_000; i++) tasks[`t${i}`] = { dependsOn: [`t${i - 1}`], run: () => i };

    const report = await new Scheduler(tasks, { errorHandling: 'continue' }).runSettled();

    expect(report.counts).toEqual({ succeeded: 0, failed: 1, skipped: 19_999, cancelled: 0 });
    expect(report.tasks.get('t19999')?.reason).toBe('dependency "t0" failed (via "t19998")');
  });
});

describe('synchronous task functions', () => {
  it('accepts plain return values and synchronous throws', async () => {
    const report = await new Scheduler(
      {
        value: { run: () => 5 },
        double: { dependsOn: ['value'], run: (v: number) => v * 2 },
        throws: {
          run: () => {
            throw new Error('sync');
          },
        },
      },
      { errorHandling: 'continue' },
    ).runSettled();

    expect(report.results.get('double')).toBe(10);
    expect((report.tasks.get('throws')?.error as Error).message).toBe('sync');
  });
});
