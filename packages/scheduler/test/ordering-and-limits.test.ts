import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/index.js';
import type { TaskDefinition } from '../src/index.js';
import { random, Recorder, sleep } from './helpers.js';

/** Deterministic pseudo-random numbers (mulberry32), so failures are reproducible. */
describe('priority', () => {
  it('starts ready tasks highest priority first, ties in definition order', async () => {
    const order: string[] = [];
    const task = (name: string, priority?: number): TaskDefinition => ({
      ...(priority === undefined ? {} : { priority }),
      dependsOn: ['gate'],
      run: async () => order.push(name),
    });

    await new Scheduler(
      {
        gate: { run: () => sleep(5) },
        low: task('low', -1),
        plainA: task('plainA'),
        high: task('high', 10),
        plainB: task('plainB'),
        mid: task('mid', 5),
      },
      { maxConcurrentTasks: 1 },
    ).run();

    expect(order).toEqual(['high', 'mid', 'plainA', 'plainB', 'low']);
  });

  it('ignores priorities when enablePriority is false', async () => {
    const order: string[] = [];

    await new Scheduler(
      {
        first: { priority: -5, run: async () => order.push('first') },
        second: { priority: 5, run: async () => order.push('second') },
      },
      { maxConcurrentTasks: 1, enablePriority: false },
    ).run();

    expect(order).toEqual(['first', 'second']);
  });
});

describe('concurrency and dependency order on a random DAG', () => {
  it('never runs more than the cap, and starts every task after all its dependencies ended', async () => {
    const rand = random(42);
    const rec = new Recorder();
    const tasks: Record<string, TaskDefinition> = {};
    const deps: Record<string, string[]> = {};
    for (let i = 0; i < 300; i++) {
      const name = `t${i}`;
      const d = new Set<string>();
      const want = i === 0 ? 0 : Math.floor(rand() * 4);
      while (d.size < Math.min(want, i)) d.add(`t${Math.floor(rand() * i)}`);
      deps[name] = [...d];
      const ms = Math.floor(rand() * 4);
      tasks[name] = {
        dependsOn: deps[name],
        run: rec.wrap(name, async () => {
          await sleep(ms);
          return i;
        }),
      };
    }

    const results = await new Scheduler(tasks, { maxConcurrentTasks: 4 }).run();

    expect(results.size).toBe(300);
    expect(rec.peak).toBe(4);
    for (const [name, ds] of Object.entries(deps)) {
      for (const d of ds) {
        expect(rec.starts.get(name)).toBeGreaterThanOrEqual(rec.ends.get(d) as number);
      }
    }
  });

  it('passes dependency results positionally, in dependsOn order, and by name', async () => {
    const results = await new Scheduler({
      x: { run: () => 'x' },
      y: { run: () => 'y' },
      z: { run: () => 'z' },
      join: {
        dependsOn: ['z', 'x', 'y'],
        run: (a: string, b: string, c: string, ctx: { dependencies: Record<string, string> }) =>
          `${a}${b}${c}:${ctx.dependencies.x}`,
      },
    }).run();

    expect(results.get('join')).toBe('zxy:x');
  });
});

describe('weights and resources', () => {
  it('counts weights against the cap', async () => {
    let load = 0;
    let peak = 0;
    const heavy = (w: number): TaskDefinition => ({
      weight: w,
      run: async () => {
        load += w;
        peak = Math.max(peak, load);
        await sleep(10);
        load -= w;
      },
    });

    await new Scheduler(
      { a: heavy(2), b: heavy(2), c: heavy(1), d: heavy(3), e: heavy(1) },
      { maxConcurrentTasks: 3 },
    ).run();

    expect(peak).toBe(3);
  });

  it('never holds more of a named resource than its limit', async () => {
    let db = 0;
    let peakDb = 0;
    let peakAll = 0;
    let all = 0;
    const tasks: Record<string, TaskDefinition> = {};
    for (let i = 0; i < 12; i++) {
      const usesDb = i % 2 === 0;
      tasks[`t${i}`] = {
        ...(usesDb ? { resources: { db: 1 } } : {}),
        run: async () => {
          all++;
          if (usesDb) db++;
          peakAll = Math.max(peakAll, all);
          peakDb = Math.max(peakDb, db);
          await sleep(5);
          all--;
          if (usesDb) db--;
        },
      };
    }

    await new Scheduler(tasks, { maxConcurrentTasks: 4, resources: { db: 2 } }).run();

    expect(peakDb).toBe(2);
    expect(peakAll).toBeLessThanOrEqual(4);
  });
});
