import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/index.js';
import { random } from './helpers.js';

/** Deterministic random numbers (mulberry32). */
describe('adding many tasks while running', () => {
  // Tasks added during the run depend on tasks from the constructor that have not run
  // yet and on other added tasks; there are far more of them than the initial graph,
  // so the scheduler's arrays must grow several times. Every task returns the sum of
  // its arguments plus one, so each result can be recomputed independently.
  it.each([1, 2, 3])('gives every added task its dependencies in order (seed %i)', async (seed) => {
    const rand = random(seed);
    const expected = new Map<string, number>();
    const deps = new Map<string, string[]>();
    const finished = new Set<string>();
    const initial = 20;
    const tasks = new Map<string, { dependsOn: string[]; run: (...a: unknown[]) => unknown }>();
    const names: string[] = [];
    const define = (name: string, dependsOn: string[]): void => {
      deps.set(name, dependsOn);
      expected.set(
        name,
        dependsOn.reduce((s, d) => s + (expected.get(d) as number), 1),
      );
      names.push(name);
    };
    const body =
      (name: string) =>
      async (...args: unknown[]): Promise<number> => {
        for (const d of deps.get(name) as string[]) expect(finished.has(d)).toBe(true);
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 3)));
        finished.add(name);
        return (args.slice(0, -1) as number[]).reduce((s, v) => s + v, 1);
      };
    for (let i = 0; i < initial; i++) {
      const d = i === 0 ? [] : [names[Math.floor(rand() * i)] as string];
      define(`c${i}`, d);
      tasks.set(`c${i}`, { dependsOn: d, run: body(`c${i}`) });
    }
    const scheduler = new Scheduler(tasks, { maxConcurrentTasks: 4 });
    let added = 0;
    scheduler.on('taskStart', () => {
      // Add a few tasks at every start until there are 300 more.
      for (let k = 0; k < 3 && added < 300; k++, added++) {
        const name = `a${added}`;
        const d = new Set<string>();
        const want = Math.floor(rand() * 4);
        while (d.size < Math.min(want, names.length)) {
          d.add(names[Math.floor(rand() * names.length)] as string);
        }
        define(name, [...d]);
        scheduler.add(name, { dependsOn: [...d], run: body(name) });
      }
    });

    const results = await scheduler.run();

    expect(added).toBe(300);
    expect(results.size).toBe(initial + 300);
    for (const [name, value] of expected) expect(results.get(name)).toBe(value);
  });

  it('skips added dependents of a task that fails later, and only them', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const scheduler = new Scheduler(
      {
        slow: {
          run: async () => {
            await gate;
            throw new Error('boom');
          },
        },
        other: { run: () => 1 },
      },
      { errorHandling: 'continue' },
    );
    const done = scheduler.runSettled();
    for (let i = 0; i < 50; i++) {
      scheduler.add(`viaSlow${i}`, {
        dependsOn: i === 0 ? ['slow'] : [`viaSlow${i - 1}`],
        run: () => i,
      });
      scheduler.add(`viaOther${i}`, { dependsOn: ['other'], run: (o: number) => o + i });
    }
    release();
    const report = await done;

    expect(report.tasks.get('slow')?.status).toBe('failed');
    for (let i = 0; i < 50; i++) {
      expect(report.tasks.get(`viaSlow${i}`)).toMatchObject({
        status: 'skipped',
        reason:
          i === 0 ? 'dependency "slow" failed' : `dependency "slow" failed (via "viaSlow${i - 1}")`,
      });
      expect(report.results.get(`viaOther${i}`)).toBe(1 + i);
    }
  });
});
