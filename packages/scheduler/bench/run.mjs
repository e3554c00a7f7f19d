// Scheduler benchmarks, every figure side by side with its baseline, in one run.
//   npm run bench -w @linkforge/scheduler            (builds first)
//   node packages/scheduler/bench/run.mjs --reps 5 --skip-seed
// Prints medians over --reps repetitions (default 5). The seed Scheduler and async.auto
// are quadratic, so they run only at 10k tasks and only once (async.auto takes over a
// minute there); --skip-seed leaves out both.
import { parseArgs } from 'node:util';
import { availableParallelism, cpus } from 'node:os';
import asyncLib from 'async';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { Scheduler } from '../dist/index.js';
import { SeedScheduler } from './seed-scheduler.mjs';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'skip-seed': { type: 'boolean', default: false },
  },
});
const REPS = Number(values.reps);
const CONCURRENCY = 8;
const INDEPENDENT = 100_000;
const SLOW = new Set(['seed Scheduler', 'async.auto']);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// Wall time and CPU time (user + system, all threads) of one call. On a shared machine
// the wall time swings with other people's load; CPU time much less so.
async function time(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

function medians(samples) {
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

// Deterministic random numbers (mulberry32) so every library gets the same graph.
function random(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Task i depends on 3 distinct random earlier tasks (fewer for the first three). */
function randomDag(n, seed) {
  const rand = random(seed);
  const deps = [];
  for (let i = 0; i < n; i++) {
    const d = new Set();
    while (d.size < Math.min(3, i)) d.add(Math.floor(rand() * i));
    deps.push([...d].map((j) => `t${j}`));
  }
  return deps;
}

// ---- the contenders; each builds its own task definitions inside the timing ----

const independent = {
  'scheduler (object)': async (n) => {
    const tasks = {};
    for (let i = 0; i < n; i++) tasks[`t${i}`] = { run: async () => i };
    await new Scheduler(tasks, { maxConcurrentTasks: CONCURRENCY }).run();
  },
  'scheduler (Map)': async (n) => {
    const tasks = new Map();
    for (let i = 0; i < n; i++) tasks.set(`t${i}`, { run: async () => i });
    await new Scheduler(tasks, { maxConcurrentTasks: CONCURRENCY }).run();
  },
  'p-limit': async (n) => {
    const limit = pLimit(CONCURRENCY);
    const all = [];
    for (let i = 0; i < n; i++) all.push(limit(async () => i));
    await Promise.all(all);
  },
  'p-queue': async (n) => {
    const queue = new PQueue({ concurrency: CONCURRENCY });
    const all = [];
    for (let i = 0; i < n; i++) all.push(queue.add(async () => i));
    await Promise.all(all);
  },
};

const dagRunners = {
  scheduler: async (deps) => {
    const tasks = new Map();
    deps.forEach((d, i) => tasks.set(`t${i}`, { dependsOn: d, run: async () => i }));
    const results = await new Scheduler(tasks, { maxConcurrentTasks: CONCURRENCY }).run();
    if (results.size !== deps.length) throw new Error('scheduler lost tasks');
  },
  'async.auto': async (deps) => {
    const tasks = {};
    deps.forEach((d, i) => {
      tasks[`t${i}`] = d.length === 0 ? async () => i : [...d, async () => i];
    });
    const results = await asyncLib.auto(tasks, CONCURRENCY);
    if (Object.keys(results).length !== deps.length) throw new Error('async.auto lost tasks');
  },
  'seed Scheduler': async (deps) => {
    const tasks = {};
    deps.forEach((d, i) => (tasks[`t${i}`] = { dependsOn: d, run: async () => i }));
    const results = await new SeedScheduler(tasks, CONCURRENCY).run();
    if (results.size !== deps.length) throw new Error('seed scheduler lost tasks');
  },
};

function fmtMs(ms) {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, ` +
    `concurrency ${CONCURRENCY}, ${REPS} repetitions, medians`,
);

// 1. Per-task overhead, independent no-op tasks.
console.log(`\n${INDEPENDENT.toLocaleString('en')} independent no-op tasks`);
const indep = Object.fromEntries(Object.keys(independent).map((k) => [k, []]));
for (const run of Object.values(independent)) await run(10_000); // warm-up
for (let r = 0; r < REPS; r++) {
  // Rotate the order so no contender always runs first (warm-up, GC debt).
  const names = Object.keys(independent);
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + r) % names.length];
    indep[name].push(await time(() => independent[name](INDEPENDENT)));
  }
}
const base = medians(indep['p-limit']);
console.log(
  `  ${''.padEnd(20)} ${'wall'.padStart(9)} ${'ns/task'.padStart(8)} ${'vs p-limit'.padStart(11)}   ${'cpu'.padStart(9)} ${'vs p-limit'.padStart(11)}`,
);
for (const [name, xs] of Object.entries(indep)) {
  const m = medians(xs);
  const perTask = ((m.wall * 1e6) / INDEPENDENT).toFixed(0);
  console.log(
    `  ${name.padEnd(20)} ${fmtMs(m.wall).padStart(9)} ${perTask.padStart(8)} ` +
      `${(m.wall / base.wall).toFixed(2).padStart(10)}×   ${fmtMs(m.cpu).padStart(9)} ` +
      `${(m.cpu / base.cpu).toFixed(2).padStart(10)}×`,
  );
}

// 2. Random DAGs, average 3 dependencies per task.
for (const n of [10_000, 100_000]) {
  const deps = randomDag(n, n);
  const contenders =
    n === 10_000
      ? Object.keys(dagRunners).filter((k) => !(values['skip-seed'] && SLOW.has(k)))
      : ['scheduler'];
  console.log(`\nrandom DAG, ${n.toLocaleString('en')} tasks, 3 dependencies each`);
  const times = Object.fromEntries(contenders.map((k) => [k, []]));
  await dagRunners.scheduler(deps); // warm-up: the DAG code paths are not JIT-compiled yet
  for (let r = 0; r < REPS; r++) {
    for (const name of contenders) {
      // The quadratic baselines take seconds to minutes: one repetition shows it.
      if (SLOW.has(name) && r > 0) continue;
      times[name].push(await time(() => dagRunners[name](deps)));
    }
  }
  const ours = medians(times.scheduler);
  for (const name of contenders) {
    const m = medians(times[name]);
    const vs =
      name === 'scheduler'
        ? ''
        : `  scheduler is ${(m.wall / ours.wall).toFixed(0)}× faster (wall), ` +
          `${(m.cpu / ours.cpu).toFixed(0)}× (cpu)`;
    console.log(
      `  ${name.padEnd(20)} wall ${fmtMs(m.wall).padStart(9)}  cpu ${fmtMs(m.cpu).padStart(9)}${vs}`,
    );
  }
}
