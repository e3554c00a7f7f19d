#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { checkSorted } from './check.js';
import { HELP, parseArgs } from './cli-args.js';
import type { CliCommand } from './cli-args.js';
import { runSort } from './engine.js';
import type { Destination, Source } from './engine.js';
import { ExtsortError } from './errors.js';
import { normalizeOptions } from './options.js';
import { ProgressBar } from './progress.js';

function fail(err: unknown): number {
  if (err instanceof ExtsortError) {
    if (err.code === 'ABORTED') return 130;
    process.stderr.write(`extsort: ${err.message}\n`);
    if (err.code === 'INVALID_OPTION')
      process.stderr.write("Try 'extsort --help' for more information.\n");
    return 2;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EPIPE') return 141;
  process.stderr.write(`extsort: ${(err as Error | undefined)?.message ?? String(err)}\n`);
  return 2;
}

async function check(cmd: CliCommand): Promise<number> {
  const input = cmd.inputs[0]!;
  const r = await checkSorted(input === '-' ? process.stdin : input, cmd.options);
  if (r.sorted) return 0;
  if (cmd.check === 'diagnose')
    process.stderr.write(`extsort: ${input}:${r.line}: disorder: ${r.text}\n`);
  return 1;
}

async function sort(cmd: CliCommand): Promise<number> {
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const showProgress = cmd.progress ?? process.stderr.isTTY === true;
  const bar = showProgress ? new ProgressBar(process.stderr) : null;
  const opts = normalizeOptions({
    ...cmd.options,
    signal: ac.signal,
    ...(bar !== null ? { onProgress: (p) => bar.update(p) } : {}),
  });
  if (cmd.inputs.filter((i) => i === '-').length > 1) {
    throw new ExtsortError('INVALID_OPTION', 'standard input given more than once');
  }
  const sources: Source[] = cmd.inputs.map((path) =>
    path === '-' ? { kind: 'stream', name: '-', iterable: process.stdin } : { kind: 'file', path },
  );
  const dest: Destination =
    cmd.output === null || cmd.output === '-'
      ? { kind: 'stream', stream: process.stdout, end: false }
      : { kind: 'file', path: cmd.output };
  try {
    const stats = await runSort(sources, dest, opts);
    bar?.clear();
    if (cmd.stats) process.stderr.write(`${JSON.stringify(stats)}\n`);
    return 0;
  } finally {
    bar?.clear();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

async function main(argv: string[]): Promise<number> {
  const cmd = parseArgs(argv);
  if (cmd.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (cmd.version) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`extsort ${pkg.version}\n`);
    return 0;
  }
  if (cmd.check !== 'no') return check(cmd);
  return sort(cmd);
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(141);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = fail(err);
  },
);
