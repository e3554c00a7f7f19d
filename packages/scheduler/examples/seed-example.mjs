// The seed note's example: five tasks, two dependency chains, MAX_CONCURRENT_TASKS = 2.
// Run: npm run build -w @linkforge/scheduler && node packages/scheduler/examples/seed-example.mjs
import { Scheduler } from '@linkforge/scheduler';

const MAX_CONCURRENT_TASKS = 2;

const taskDefs = {
  A: {
    dependsOn: [],
    run: async () => {
      console.log('Task A starting...');
      await new Promise((res) => setTimeout(res, 1000));
      return 2;
    },
  },
  B: {
    dependsOn: ['A'],
    run: async (a) => {
      console.log('Task B starting with A =', a);
      return a * 3;
    },
  },
  C: {
    dependsOn: ['B'],
    run: async (b) => {
      console.log('Task C starting with B =', b);
      return b + 4;
    },
  },
  D: {
    dependsOn: [],
    run: async () => {
      console.log('Task D starting...');
      return 10;
    },
  },
  E: {
    dependsOn: ['D'],
    run: async (d) => {
      console.log('Task E starting with D =', d);
      return d * 2;
    },
  },
};

const scheduler = new Scheduler(taskDefs, { maxConcurrentTasks: MAX_CONCURRENT_TASKS });
scheduler.on('taskSettled', (t) => console.log(`Task ${t.name} completed:`, t.value));
console.log('Starting scheduler with MAX_CONCURRENT_TASKS =', MAX_CONCURRENT_TASKS);

const startTime = Date.now();
const results = await scheduler.run();
const endTime = Date.now();

console.log('\nFinal Results:', Object.fromEntries(results));
console.log(`Total execution time: ${endTime - startTime}ms`);
