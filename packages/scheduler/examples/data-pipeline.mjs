// The seed's data pipeline (extract → transform → load), with an in-memory source
// and warehouse standing in for the database, plus a fan-out added while running.
// Run: node packages/scheduler/examples/data-pipeline.mjs
import { Scheduler } from '@linkforge/scheduler';

const db = {
  query: async () => Array.from({ length: 6 }, (_, i) => ({ id: i + 1, clicks: (i + 1) * 10 })),
};
const warehouse = {
  rows: [],
  bulkInsert: async (rows) => {
    warehouse.rows.push(...rows);
    return rows.length;
  },
};

const scheduler = new Scheduler(
  {
    extractData: { dependsOn: [], run: async () => db.query('SELECT * FROM raw_data') },
    transformData: {
      dependsOn: ['extractData'],
      run: async (rawData) => rawData.map((row) => ({ ...row, processed: true })),
    },
    loadData: {
      dependsOn: ['transformData'],
      run: async (transformedData) => warehouse.bulkInsert(transformedData),
    },
    // Discovers work at run time: one summary task per partition, then a total.
    partition: {
      dependsOn: ['transformData'],
      run: (rows) => {
        const parts = [rows.slice(0, 3), rows.slice(3)];
        parts.forEach((part, i) =>
          scheduler.add(`sum${i}`, {
            dependsOn: ['loadData'],
            run: async () => part.reduce((s, r) => s + r.clicks, 0),
          }),
        );
        scheduler.add('total', {
          dependsOn: parts.map((_, i) => `sum${i}`),
          run: (...args) => args.slice(0, -1).reduce((a, b) => a + b, 0),
        });
        return parts.length;
      },
    },
  },
  { maxConcurrentTasks: 2 },
);

const results = await scheduler.run();
console.log('loaded rows:', results.get('loadData'));
console.log('total clicks:', results.get('total'));
