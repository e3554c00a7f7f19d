import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/index.js';
import type { TaskDefinition, TaskStatus } from '../src/index.js';
import { random } from './helpers.js';

describe("random graphs with random failures, 'continue'", () => {
  it.each([1, 2, 3, 4, 5])(
    'seed %i: a task runs iff all its dependencies succeeded, and statuses follow',
    async (seed) => {
      const rand = random(seed);
      const n = 400;
      const deps: string[][] = [];
      const fails = new Set<string>();
      const started = new Set<string>();
      const tasks: Record<string, TaskDefinition> = {};
      for (let i = 0; i < n; i++) {
        const name = `t${i}`;
        const d = new Set<string>();
        const want = Math.floor(rand() * 4);
        while (d.size < Math.min(want, i)) d.add(`t${Math.floor(rand() * i)}`);
        deps.push([...d]);
        if (rand() < 0.05) fails.add(name);
        const priority = rand() < 0.3 ? Math.floor(rand() * 5) : 0;
        tasks[name] = {
          dependsOn: [...d],
          priority,
          run: async () => {
            started.add(name);
            await new Promise((r) => setTimeout(r, rand() < 0.5 ? 0 : 1));
            if (fails.has(name)) throw new Error(`${name} fails`);
            return i;
          },
        };
      }

      const report = await new Scheduler(tasks, {
        errorHandling: 'continue',
        maxConcurrentTasks: 5,
      }).runSettled();

      const expected = new Map<string, TaskStatus>();
      for (let i = 0; i < n; i++) {
        const name = `t${i}`;
        const blocked = (deps[i] as string[]).some((d) => expected.get(d) !== 'succeeded');
        expected.set(name, blocked ? 'skipped' : fails.has(name) ? 'failed' : 'succeeded');
      }
      for (const [name, status] of expected) {
        expect(report.tasks.get(name)?.status, name).toBe(status);
        expect(started.has(name), name).toBe(status !== 'skipped');
      }
      expect(report.counts.succeeded).toBe(report.results.size);
      expect(report.counts.cancelled).toBe(0);
    },
  );
});
