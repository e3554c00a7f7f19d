// The seed's "enhanced features", built in: error handling (fail-fast / continue),
// priority, progress, timeout and retries with backoff, cancellation.
// Run: node packages/scheduler/examples/enhanced-features.mjs
import { RunError, Scheduler } from '@linkforge/scheduler';

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

let flakyCalls = 0;
const tasks = {
  config: { run: async () => ({ region: 'eu' }) },
  // Fails twice, then succeeds: retried with exponential backoff (50 ms, 100 ms).
  flakyApi: {
    dependsOn: ['config'],
    retries: 3,
    backoff: { delay: 50, factor: 2 },
    run: async (config, ctx) => {
      flakyCalls++;
      if (ctx.attempt < 3) throw new Error(`503 from ${config.region} (attempt ${ctx.attempt})`);
      return 'api data';
    },
  },
  // Takes too long: its signal is aborted after 100 ms and it fails with TaskTimeoutError.
  slowReport: { timeout: 100, run: async (ctx) => sleep(10_000, ctx.signal) },
  // Depends on the timed-out task, so it is skipped with a reason.
  emailReport: { dependsOn: ['slowReport'], run: async () => 'sent' },
  // Runs first among ready tasks.
  urgent: { priority: 10, run: async () => 'done first' },
};

const scheduler = new Scheduler(tasks, {
  maxConcurrentTasks: 2,
  errorHandling: 'continue',
  progressReporting: true,
});
scheduler.on('taskRetry', (e) =>
  console.log(`retrying ${e.name} in ${e.delayMs} ms after: ${e.error.message}`),
);

try {
  await scheduler.run();
} catch (error) {
  if (!(error instanceof RunError)) throw error;
  for (const t of error.report.tasks.values()) {
    const detail = t.status === 'failed' ? t.error.message : (t.reason ?? JSON.stringify(t.value));
    console.log(`${t.name.padEnd(12)} ${t.status.padEnd(10)} attempts=${t.attempts}  ${detail}`);
  }
  console.log(`flakyApi was called ${flakyCalls} times`);
}
