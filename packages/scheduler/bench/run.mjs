// Scheduler benchmarks, every figure side by side with its baseline, in one run.
//   npm run bench -w @linkforge/scheduler            (builds first)
//   node packages/scheduler/bench/run.mjs --reps 5 --slow-reps 5 --skip-seed
// Prints medians over --reps repetitions (default 5) of every contender. The seed
// Scheduler and async.auto are quadratic, so they run only at 10k tasks, --slow-reps
// times (default: --reps; async.auto takes about a minute per run there);
// --skip-seed leaves out both, --skip-async-auto only async.auto. Every contender gets the same graph, the same
// concurrency and the same no-op async task functions, and every result is checked
// (outside the timing).
import { parseArgs } from 'node:util';
import { availableParallelism, cpus, loadavg } from 'node:os';
import asyncLib from 'async';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { Scheduler } from '../dist/index.js';
import { SeedScheduler } from './seed-scheduler.mjs';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'slow-reps': { type: 'string' },
    'skip-seed': { type: 'boolean', default: false },
    'skip-async-auto': { type: 'boolean', default: false },
  },
});
const REPS = Number(values.reps);
const SLOW_REPS = Number(values['slow-reps'] ?? values.reps);
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
  const result = await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000, result };
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
    return new Scheduler(tasks, { maxConcurrentTasks: CONCURRENCY }).run();
  },
  'scheduler (Map)': async (n) => {
    const tasks = new Map();
    for (let i = 0; i < n; i++) tasks.set(`t${i}`, { run: async () => i });
    return new Scheduler(tasks, { maxConcurrentTasks: CONCURRENCY }).run();
  },
  'p-limit': async (n) => {
    const limit = pLimit(CONCURRENCY);
    const all = [];
    for (let i = 0; i < n; i++) all.push(limit(async () => i));
    return Promise.all(all);
  },
  'p-queue': async (n) => {
    const queue = new PQueue({ concurrency: CONCURRENCY });
    const all = [];
    for (let i = 0; i < n; i++) all.push(queue.add(async () => i));
    return Promise.all(all);
  },
};

/** Results are a Map by task name (scheduler) or an array by index (p-limit, p-queue). */
function checkIndependent(name, n, results) {
  const size = results instanceof Map ? results.size : results.length;
  if (size !== n) throw new Error(`${name}: ${size} results for ${n} tasks`);
  for (let i = 0; i < n; i++) {
    const v = results instanceof Map ? results.get(`t${i}`) : results[i];
    if (v !== i) throw new Error(`${name}: wrong result for task ${i}`);
  }
}

// Each DAG runner builds its definitions and runs them, inside the timing, and returns
// what the library produced; checkDag (outside the timing) then verifies every value.
const dagRunners = {
  'scheduler (Map)': async (deps) => {
    const tasks = new Map();
    deps.forEach((d, i) => tasks.set(`t${i}`, { dependsOn: d, run: async () => i }));
    return new Scheduler(tasks, { maxConcurrentTasks: CONCURRENCY }).run();
  },
  // The seed's shape: a plain object of definitions.
  'scheduler (object)': async (deps) => {
    const tasks = {};
    deps.forEach((d, i) => (tasks[`t${i}`] = { dependsOn: d, run: async () => i }));
    return new Scheduler(tasks, { maxConcurrentTasks: CONCURRENCY }).run();
  },
  'async.auto': async (deps) => {
    const tasks = {};
    deps.forEach((d, i) => {
      tasks[`t${i}`] = d.length === 0 ? async () => i : [...d, async () => i];
    });
    return new Map(Object.entries(await asyncLib.auto(tasks, CONCURRENCY)));
  },
  'seed Scheduler': async (deps) => {
    const tasks = {};
    deps.forEach((d, i) => (tasks[`t${i}`] = { dependsOn: d, run: async () => i }));
    return new SeedScheduler(tasks, CONCURRENCY).run();
  },
};

function checkDag(name, deps, results) {
  if (results.size !== deps.length) {
    throw new Error(`${name}: ${results.size} results for ${deps.length} tasks`);
  }
  for (let i = 0; i < deps.length; i++) {
    if (results.get(`t${i}`) !== i) throw new Error(`${name}: wrong result for t${i}`);
  }
}

function fmtMs(ms) {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, ` +
    `concurrency ${CONCURRENCY}, ${REPS} repetitions (${SLOW_REPS} for the quadratic ` +
    `baselines), medians; load average ${load()} at ${new Date().toISOString()}`,
);

// 1. Per-task overhead, independent no-op tasks.
console.log(`\n${INDEPENDENT.toLocaleString('en')} independent no-op tasks`);
const indep = Object.fromEntries(Object.keys(independent).map((k) => [k, []]));
for (const [name, run] of Object.entries(independent)) {
  checkIndependent(name, 10_000, await run(10_000)); // warm-up
}
for (let r = 0; r < REPS; r++) {
  // Rotate the order so no contender always runs first (warm-up, GC debt).
  const names = Object.keys(independent);
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + r) % names.length];
    const t = await time(() => independent[name](INDEPENDENT));
    checkIndependent(name, INDEPENDENT, t.result);
    indep[name].push(t);
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
      ? Object.keys(dagRunners).filter(
          (k) =>
            !(values['skip-seed'] && SLOW.has(k)) &&
            !(values['skip-async-auto'] && k === 'async.auto'),
        )
      : ['scheduler (Map)', 'scheduler (object)'];
  console.log(`\nrandom DAG, ${n.toLocaleString('en')} tasks, 3 dependencies each`);
  const times = Object.fromEntries(contenders.map((k) => [k, []]));
  // Warm-up: ours on this graph (its DAG code paths are not JIT-compiled yet), the
  // quadratic ones on a 1 000-task graph (the same code, without minutes of waiting).
  const small = randomDag(1000, 1000);
  for (const name of contenders) {
    const warm = SLOW.has(name) ? small : deps;
    checkDag(name, warm, await dagRunners[name](warm));
  }
  const reps = contenders.some((k) => SLOW.has(k)) ? Math.max(REPS, SLOW_REPS) : REPS;
  for (let r = 0; r < reps; r++) {
    // Rotate the order so no contender always runs first (GC debt of the previous one).
    for (let k = 0; k < contenders.length; k++) {
      const name = contenders[(k + r) % contenders.length];
      if (times[name].length >= (SLOW.has(name) ? SLOW_REPS : REPS)) continue;
      const t = await time(() => dagRunners[name](deps));
      checkDag(name, deps, t.result);
      times[name].push(t);
    }
  }
  const ours = medians(times['scheduler (Map)']);
  const oursObject = medians(times['scheduler (object)']);
  for (const name of contenders) {
    const m = medians(times[name]);
    const vs = !SLOW.has(name)
      ? ''
      : `  scheduler is ${(m.wall / ours.wall).toFixed(0)}× faster (wall), ` +
        `${(m.cpu / ours.cpu).toFixed(0)}× (cpu); with an object ` +
        `${(m.wall / oursObject.wall).toFixed(0)}× (wall), ${(m.cpu / oursObject.cpu).toFixed(0)}× (cpu)`;
    const runs = times[name].map((t) => t.wall.toFixed(0)).join(' ');
    console.log(
      `  ${name.padEnd(20)} wall ${fmtMs(m.wall).padStart(9)}  cpu ${fmtMs(m.cpu).padStart(9)}${vs}` +
        `\n  ${''.padEnd(20)} wall of each run (ms): ${runs}`,
    );
  }
}
console.log(`\nload average ${load()} at ${new Date().toISOString()}`);
