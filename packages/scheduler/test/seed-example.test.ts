import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/index.js';
import { Recorder, sleep } from './helpers.js';

describe('the seed example (A–E, MAX_CONCURRENT_TASKS = 2)', () => {
  it('returns the seed results in about one second, in the seed timeline', async () => {
    const rec = new Recorder();
    const tasks = {
      A: {
        dependsOn: [],
        run: async () => {
          rec.start('A');
          await sleep(1000);
          rec.end('A');
          return 2;
        },
      },
      B: { dependsOn: ['A'], run: async (a: number) => (rec.start('B'), rec.end('B'), a * 3) },
      C: { dependsOn: ['B'], run: async (b: number) => (rec.start('C'), rec.end('C'), b + 4) },
      D: { dependsOn: [], run: async () => (rec.start('D'), rec.end('D'), 10) },
      E: { dependsOn: ['D'], run: async (d: number) => (rec.start('E'), rec.end('E'), d * 2) },
    };
    const started = performance.now();

    const results = await new Scheduler(tasks, { maxConcurrentTasks: 2 }).run();

    const elapsed = performance.now() - started;
    expect(Object.fromEntries(results)).toEqual({ A: 2, B: 6, C: 10, D: 10, E: 20 });
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(1500);
    // A and D start together at t≈0.
    expect(rec.order.slice(0, 2)).toEqual(['A', 'D']);
    expect(rec.starts.get('D')).toBeLessThan(300);
    // E needs only D, so it does not wait for A; B and C wait for A's second.
    expect(rec.starts.get('E')).toBeLessThan(300);
    expect(rec.starts.get('B')).toBeGreaterThanOrEqual(rec.ends.get('A') as number);
    expect(rec.starts.get('C')).toBeGreaterThanOrEqual(rec.ends.get('B') as number);
    expect(rec.peak).toBeLessThanOrEqual(2);
  });

  it('accepts the seed configuration keys', async () => {
    const logged: number[] = [];
    const scheduler = new Scheduler(
      {
        A: { dependsOn: [], run: async () => 1 },
        B: { dependsOn: ['A'], run: async (a: number) => a + 1 },
      },
      {
        maxConcurrentTasks: 3,
        enablePriority: true,
        errorHandling: 'fail-fast',
        timeout: 30_000,
        retryCount: 3,
        progressReporting: (p) => logged.push(p.percent),
      },
    );

    const results = await scheduler.run();

    expect(results.get('B')).toBe(2);
    expect(logged).toEqual([50, 100]);
  });
});
