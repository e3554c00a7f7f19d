#!/usr/bin/env node
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SchedulerError, Scheduler } from '../index.js';
import type { TaskDefinition } from '../index.js';
import { parseDuration } from './duration.js';
import { PipelineFileError, loadPipeline } from './pipeline-file.js';
import type { Pipeline } from './pipeline-file.js';
import { PlainReporter, TtyReporter } from './reporters.js';
import type { Reporter } from './reporters.js';
import { killGroup, liveChildren, runShellTask } from './shell-task.js';

/** Exit codes, documented in the README. */
const EXIT_OK = 0;
const EXIT_TASKS_FAILED = 1;
const EXIT_USAGE = 2;

const HELP = `Usage: linkforge-pipeline [options] <pipeline.yml|pipeline.json>

Runs the shell commands of a pipeline file in dependency order, at most N at once.

Options:
  -c, --concurrency <n>      commands running at once (default: the file's
                             "concurrency", else the number of CPUs)
      --continue             after a failure, keep running tasks that do not depend on it
      --fail-fast            after a failure, stop everything (default)
  -l, --log-dir <dir>        write each task's output to <dir>/<task>.log
      --progress <mode>      auto | tty | plain (default auto: tty when stderr is a terminal)
  -q, --quiet                plain mode: do not echo task output
      --kill-timeout <time>  after SIGTERM, wait this long before SIGKILL (default 5s)
      --dry-run              validate the file and print the execution plan; run nothing
  -h, --help                 show this help
  -v, --version              show the version

Exit status: 0 all tasks succeeded, 1 a task failed or was skipped/cancelled,
2 bad arguments or pipeline file, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
`;

class UsageError extends Error {}

interface Cli {
  file: string;
  concurrency: number | undefined;
  errorHandling: 'fail-fast' | 'continue' | undefined;
  logDir: string | undefined;
  progress: 'auto' | 'tty' | 'plain';
  quiet: boolean;
  killTimeoutMs: number;
  dryRun: boolean;
}

function parseCli(argv: string[]): Cli | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        concurrency: { type: 'string', short: 'c' },
        continue: { type: 'boolean' },
        'fail-fast': { type: 'boolean' },
        'log-dir': { type: 'string', short: 'l' },
        progress: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        'kill-timeout': { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  if (parsed.positionals.length !== 1) {
    throw new UsageError('expected exactly one pipeline file');
  }
  if (v.continue && v['fail-fast']) throw new UsageError('--continue and --fail-fast conflict');
  let concurrency: number | undefined;
  if (v.concurrency !== undefined) {
    concurrency = Number(v.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new UsageError(`--concurrency must be an integer >= 1, got "${v.concurrency}"`);
    }
  }
  const progress = v.progress ?? 'auto';
  if (progress !== 'auto' && progress !== 'tty' && progress !== 'plain') {
    throw new UsageError(`--progress must be auto, tty or plain, got "${progress}"`);
  }
  const killTimeoutMs = parseDuration(v['kill-timeout'] ?? '5s');
  if (killTimeoutMs === undefined) {
    throw new UsageError(`--kill-timeout must be a duration such as 500ms or 5s`);
  }
  return {
    file: parsed.positionals[0] as string,
    concurrency,
    errorHandling: v.continue ? 'continue' : v['fail-fast'] ? 'fail-fast' : undefined,
    logDir: v['log-dir'],
    progress,
    quiet: v.quiet ?? false,
    killTimeoutMs,
    dryRun: v['dry-run'] ?? false,
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Tasks grouped in waves: each wave depends only on earlier ones (Kahn's layers). */
function plan(pipeline: Pipeline): string[][] {
  const remaining = new Map(pipeline.tasks.map((t) => [t.name, t.dependsOn.length]));
  const dependents = new Map<string, string[]>();
  for (const t of pipeline.tasks) {
    for (const d of t.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), t.name]);
  }
  let wave = pipeline.tasks.filter((t) => t.dependsOn.length === 0).map((t) => t.name);
  const waves: string[][] = [];
  while (wave.length > 0) {
    waves.push(wave);
    const next: string[] = [];
    for (const name of wave) {
      for (const d of dependents.get(name) ?? []) {
        const left = (remaining.get(d) as number) - 1;
        remaining.set(d, left);
        if (left === 0) next.push(d);
      }
    }
    wave = next;
  }
  return waves;
}

async function main(argv: string[]): Promise<number> {
  const cli = parseCli(argv);
  if (cli === 'help') {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (cli === 'version') {
    process.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  const pipeline = await loadPipeline(cli.file);
  const concurrency = cli.concurrency ?? pipeline.concurrency ?? availableParallelism();
  const tty =
    cli.progress === 'tty' ||
    (cli.progress === 'auto' && process.stderr.isTTY === true && process.env.TERM !== 'dumb');

  // Filled in once the run starts (a dry run never creates one).
  const out: { reporter?: Reporter } = {};
  const logs = new Map<string, WriteStream>();
  if (cli.logDir !== undefined && !cli.dryRun) mkdirSync(cli.logDir, { recursive: true });

  const definitions = new Map<string, TaskDefinition>();
  for (const task of pipeline.tasks) {
    definitions.set(task.name, {
      dependsOn: task.dependsOn,
      ...(task.priority !== undefined && { priority: task.priority }),
      ...(task.retries !== undefined && { retries: task.retries }),
      ...(task.timeout !== undefined && { timeout: task.timeout }),
      ...(task.weight !== undefined && { weight: Math.min(task.weight, concurrency) }),
      run: (...args: unknown[]) => {
        const ctx = args[args.length - 1] as { signal: AbortSignal };
        let log = logs.get(task.name);
        if (cli.logDir !== undefined && log === undefined) {
          log = createWriteStream(join(cli.logDir, `${task.name}.log`));
          logs.set(task.name, log);
        }
        return runShellTask(task, ctx.signal, {
          shell: pipeline.shell,
          killTimeoutMs: cli.killTimeoutMs,
          onLine: (stream, line) => out.reporter?.taskOutput(task.name, stream, line),
          onChunk: log === undefined ? undefined : (chunk) => log.write(chunk),
        });
      },
    });
  }
  // Validates the graph (cycles, unknown dependencies) before anything runs.
  const scheduler = new Scheduler(definitions, {
    maxConcurrentTasks: concurrency,
    errorHandling: cli.errorHandling ?? pipeline.errorHandling ?? 'fail-fast',
    backoff: { delay: 1000, factor: 2, maxDelay: 60_000 },
    // Commands are always killed (SIGKILL at the latest), so wait for them to exit.
    abortGracePeriod: Infinity,
  });

  if (cli.dryRun) {
    const waves = plan(pipeline);
    process.stdout.write(
      `${pipeline.tasks.length} tasks, concurrency ${concurrency}, ${waves.length} waves:\n`,
    );
    waves.forEach((wave, i) => process.stdout.write(`  ${i + 1}. ${wave.join(', ')}\n`));
    return EXIT_OK;
  }

  const r: Reporter = tty
    ? new TtyReporter(
        (s) => process.stderr.write(s),
        pipeline.tasks.map((t) => t.name),
        () => process.stderr.columns || 80,
        () => process.stderr.rows || 24,
        cli.logDir,
      )
    : new PlainReporter((s) => process.stdout.write(s), cli.quiet);
  out.reporter = r;
  scheduler.on('taskStart', ({ name, attempt }) => r.taskStarted(name, attempt));
  scheduler.on('taskRetry', ({ name, attempt, error, delayMs }) =>
    r.taskRetrying(name, attempt, error, delayMs),
  );
  scheduler.on('taskSettled', (outcome) => r.taskSettled(outcome));

  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy === undefined) {
      interruptedBy = signal;
      r.interrupted(signal, false);
      scheduler.abort(`interrupted by ${signal}`);
      return;
    }
    r.interrupted(signal, true);
    for (const child of liveChildren) killGroup(child, 'SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const report = await scheduler.runSettled();
  await Promise.all(
    [...logs.values()].map((log) => new Promise<void>((resolve) => log.end(() => resolve()))),
  );
  r.finish(report);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (interruptedBy !== undefined) return interruptedBy === 'SIGINT' ? 130 : 143;
  return report.status === 'succeeded' ? EXIT_OK : EXIT_TASKS_FAILED;
}

// Commands run detached (own process groups), so they would outlive a CLI that dies
// unexpectedly: whatever is still running when the process exits is killed.
process.on('exit', () => {
  for (const child of liveChildren) killGroup(child, 'SIGKILL');
  // The live view hides the cursor; give it back even if the run ended abnormally.
  if (process.stderr.isTTY) process.stderr.write('\x1b[?25h');
});
// A closed pipe on stdout (`… | head`) must not crash the run; the output is dropped.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      error instanceof PipelineFileError ||
      error instanceof SchedulerError
    ) {
      process.stderr.write(`linkforge-pipeline: ${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write('Try --help.\n');
      process.exitCode = EXIT_USAGE;
      return;
    }
    process.stderr.write(`linkforge-pipeline: unexpected error: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
