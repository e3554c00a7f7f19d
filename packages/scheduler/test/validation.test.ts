import { describe, expect, it, vi } from 'vitest';
import {
  CycleError,
  InvalidOptionsError,
  InvalidTaskError,
  Scheduler,
  SchedulerStateError,
  UnknownDependencyError,
} from '../src/index.js';
import type { SchedulerOptions, TaskDefinition } from '../src/index.js';

describe('graph validation before anything runs', () => {
  it('names every task on a cycle and runs nothing', () => {
    const run = vi.fn();
    const make = () =>
      new Scheduler({
        ok: { run },
        A: { dependsOn: ['C'], run },
        B: { dependsOn: ['A'], run },
        C: { dependsOn: ['B', 'ok'], run },
      });

    expect(make).toThrow(CycleError);
    try {
      make();
    } catch (error) {
      const cycle = (error as CycleError).cycle;
      expect(cycle[0]).toBe(cycle[cycle.length - 1]);
      expect(new Set(cycle)).toEqual(new Set(['A', 'B', 'C']));
      expect((error as CycleError).message).toMatch(/^dependency cycle: "\w" depends on/);
      expect((error as CycleError).code).toBe('DEPENDENCY_CYCLE');
    }
    expect(run).not.toHaveBeenCalled();
  });

  it('reports a task that depends on itself', () => {
    expect(() => new Scheduler({ A: { dependsOn: ['A'], run: () => 1 } })).toThrow(
      'dependency cycle: "A" depends on "A"',
    );
  });

  it('names every unknown dependency', () => {
    const run = vi.fn();
    let error: unknown;
    try {
      new Scheduler({ A: { dependsOn: ['Z'], run }, B: { dependsOn: ['A', 'Y'], run } });
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(UnknownDependencyError);
    expect((error as UnknownDependencyError).missing).toEqual([
      { task: 'A', dependency: 'Z' },
      { task: 'B', dependency: 'Y' },
    ]);
    expect((error as Error).message).toBe(
      'unknown dependencies: "A" depends on unknown task "Z"; "B" depends on unknown task "Y"',
    );
    expect(run).not.toHaveBeenCalled();
  });

  it.each<[string, unknown, RegExp]>([
    ['no run function', { dependsOn: [] }, /run must be a function/],
    ['a misspelt key', { run: () => 1, dependOn: ['x'] }, /unknown key "dependOn"/],
    ['dependsOn not an array', { run: () => 1, dependsOn: 'A' }, /dependsOn must be an array/],
    ['a duplicated dependency', { run: () => 1, dependsOn: ['A', 'A'] }, /lists "A" twice/],
    ['negative retries', { run: () => 1, retries: -1 }, /retries must be an integer/],
    ['a zero timeout', { run: () => 1, timeout: 0 }, /timeout must be/],
    ['a weight above the cap', { run: () => 1, weight: 3 }, /exceeds maxConcurrentTasks 2/],
    ['an unknown resource', { run: () => 1, resources: { gpu: 1 } }, /resource "gpu" has no limit/],
    ['a non-finite priority', { run: () => 1, priority: NaN }, /priority must be a finite/],
  ])('rejects a task with %s, naming it', (_label, def, message) => {
    const make = () =>
      new Scheduler({ A: { run: () => 1 }, bad: def as TaskDefinition }, { maxConcurrentTasks: 2 });

    expect(make).toThrow(InvalidTaskError);
    expect(make).toThrow(message);
    expect(make).toThrow(/^task "bad": /);
  });

  it.each<[string, unknown, RegExp]>([
    ['a misspelt key', { maxConcurrency: 2 }, /unknown option "maxConcurrency"/],
    ['a zero cap', { maxConcurrentTasks: 0 }, /maxConcurrentTasks must be/],
    ['an unknown error mode', { errorHandling: 'ignore' }, /errorHandling must be/],
    ['a negative retryCount', { retryCount: -2 }, /retryCount must be/],
    ['a bad backoff', { backoff: { delay: -1 } }, /backoff.delay/],
    ['a bad resource limit', { resources: { db: 0 } }, /resources.db must be/],
  ])('rejects options with %s', (_label, options, message) => {
    const make = () => new Scheduler({}, options as SchedulerOptions);

    expect(make).toThrow(InvalidOptionsError);
    expect(make).toThrow(message);
  });
});

describe('run lifecycle', () => {
  it('resolves an empty task set to an empty Map', async () => {
    expect((await new Scheduler().run()).size).toBe(0);
  });

  it('refuses a second run()', async () => {
    const scheduler = new Scheduler({ A: { run: () => 1 } });
    await scheduler.run();

    await expect(scheduler.run()).rejects.toBeInstanceOf(SchedulerStateError);
  });

  it('refuses add() after the run finished, and duplicate or dangling tasks at any time', async () => {
    const scheduler = new Scheduler({ A: { run: () => 1 } });
    expect(() => scheduler.add('A', { run: () => 2 })).toThrow(/a task with this name exists/);
    expect(() => scheduler.add('B', { dependsOn: ['nope'], run: () => 2 })).toThrow(
      UnknownDependencyError,
    );
    await scheduler.run();

    expect(() => scheduler.add('C', { run: () => 3 })).toThrow(/the run has finished/);
  });

  it('accepts a Map of definitions and keeps definition order in the report', async () => {
    const tasks = new Map<string, TaskDefinition>([
      ['second', { dependsOn: ['first'], run: (x: number) => x + 1 }],
      ['first', { run: () => 1 }],
    ]);

    const report = await new Scheduler(tasks).runSettled();

    expect([...report.tasks.keys()]).toEqual(['second', 'first']);
    expect([...report.results.keys()]).toEqual(['first', 'second']);
  });
});
