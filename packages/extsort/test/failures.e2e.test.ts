import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtsortError, sortFile } from '../src/index.js';
import { CLI, intLines, read, runCli, tempDir, write } from './helpers.js';

describe('failures leave nothing behind', () => {
  let dir: string;
  let cleanup: () => void;
  let tmp: string;
  let input: string;

  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    input = write(dir, 'in.txt', '3\n1\n2\n');
  });
  afterAll(() => cleanup());

  it('a missing input exits 2 with a message naming it and creates no output', () => {
    const out = join(dir, 'never.txt');
    const r = runCli(['-o', out, join(dir, 'missing.txt')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing.txt: no such file');
    expect(existsSync(out)).toBe(false);
  });

  it('the library rejects a missing input with INPUT_NOT_FOUND', async () => {
    const err = await sortFile(join(dir, 'nope.txt'), join(dir, 'o.txt'), { tempDir: tmp }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExtsortError);
    expect((err as ExtsortError).code).toBe('INPUT_NOT_FOUND');
  });

  it('an output in a missing directory exits 2 before sorting', () => {
    const r = runCli(['-o', join(dir, 'no-such-dir', 'out.txt'), input]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot write');
  });

  it('an output path that is a directory is refused', async () => {
    const err = await sortFile(input, tmp, { tempDir: tmp }).catch((e: unknown) => e);
    expect((err as ExtsortError).code).toBe('OUTPUT_UNWRITABLE');
  });

  it('a temporary directory that does not exist is reported and no output appears', () => {
    const out = join(dir, 'o2.txt');
    const r = runCli(['-T', join(dir, 'no-tmp'), '-o', out, input]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('temporary');
    expect(existsSync(out)).toBe(false);
  });

  it('a full device on standard output is reported as no space left (exit 2)', () => {
    const r = spawnSync('sh', ['-c', `node ${CLI} ${input} > /dev/full`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no space left on device');
  });

  it('a full temporary filesystem fails with NO_SPACE, removes its runs and keeps the old output', () => {
    const mnt = join(dir, 'small');
    mkdirSync(mnt);
    const mounted =
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]).status === 0;
    expect(mounted, 'mounting a 256 KiB tmpfs (needs root)').toBe(true);
    try {
      const big = write(dir, 'big.txt', intLines(7, 200_000));
      const out = write(dir, 'keep.txt', 'previous content\n');
      const r = runCli(['-n', '-S', '1M', '-T', mnt, '-o', out, big]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('no space left on device');
      expect(read(out).toString()).toBe('previous content\n');
      expect(readdirSync(mnt)).toEqual([]);
      expect(readdirSync(dir).filter((f) => f.includes('extsort-tmp'))).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('SIGINT stops the sort with exit 130, no output and no temporary files', async () => {
    const big = write(dir, 'sigint.txt', intLines(8, 1_500_000));
    const out = join(dir, 'sigint.out');
    const child = spawn(
      process.execPath,
      [CLI, '-n', '-S', '1M', '--batch-size', '2', '-T', tmp, '-o', out, big],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    // Interrupt once the sort has written runs.
    for (
      let i = 0;
      i < 400 && readdirSync(tmp).every((d) => readdirSync(join(tmp, d)).length === 0);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.includes('extsort-tmp'))).toEqual([]);
  });

  it('an aborted library sort rejects with ABORTED and leaves no output', async () => {
    const big = write(dir, 'abort.txt', intLines(9, 1_000_000));
    const out = join(dir, 'abort.out');
    const ac = new AbortController();
    const p = sortFile(big, out, {
      numeric: true,
      bufferSize: '1M',
      tempDir: tmp,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 20);
    const err = await p.catch((e: unknown) => e);
    expect((err as ExtsortError).code).toBe('ABORTED');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('invalid numbers and JSON', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir()));
  afterAll(() => cleanup());

  it('without --strict, invalid numbers sort as 0 like GNU sort', () => {
    const r = runCli(['-n'], '5\nabc\n-1\n\n0\n');
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('-1\n\n0\nabc\n5\n');
  });

  it('--strict names the file and line of the first invalid number and writes nothing', () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => String(i));
    lines[41_234] = '12x';
    const file = write(dir, 'nums.txt', lines.join('\n') + '\n');
    const out = join(dir, 'nums.out');
    const r = runCli(['-n', '--strict', '-S', '1M', '-o', out, file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}:41235: invalid number '12x'`);
    expect(existsSync(out)).toBe(false);
  });

  it('--strict with --json-key reports a line that is not JSON', () => {
    const r = runCli(['--json-key', 'ts', '--strict'], '{"ts":"b"}\nnot json\n');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('-:2: line is not valid JSON');
  });

  it('invalid flags exit 2 with a hint', () => {
    for (const args of [['-k', '0'], ['-t', 'ab'], ['-S', 'lots'], ['--frobnicate'], ['-k1x']]) {
      const r = runCli(args, 'a\n');
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain("Try 'extsort --help'");
    }
  });
});

describe('check mode and JSON keys', () => {
  it('-c exits 0 on sorted input and 1 with the first disorder on unsorted input', () => {
    expect(runCli(['-c', '-n'], '1\n2\n10\n').status).toBe(0);
    const r = runCli(['-c', '-n'], '1\n10\n2\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('-:3: disorder: 2');
    const q = runCli(['-C'], 'b\na\n');
    expect(q.status).toBe(1);
    expect(q.stderr).toBe('');
  });

  it('-c -u treats equal neighbours as disorder', () => {
    expect(runCli(['-c', '-u'], 'a\na\n').status).toBe(1);
    expect(runCli(['-c'], 'a\na\n').status).toBe(0);
  });

  it('--json-key sorts NDJSON by a nested value, numerically with -n, stably on ties', () => {
    const input = [
      '{"user":{"id":10},"n":1}',
      '{"user":{"id":9},"n":2}',
      '{"user":{"id":10},"n":3}',
      '{"other":true}',
      '{"user":{"id":-2.5},"n":5}',
    ].join('\n');
    const r = runCli(['--json-key', 'user.id', '-n', '-s'], input);
    expect(r.status).toBe(0);
    expect(r.stdout.toString().split('\n').filter(Boolean)).toEqual([
      '{"user":{"id":-2.5},"n":5}',
      '{"other":true}',
      '{"user":{"id":9},"n":2}',
      '{"user":{"id":10},"n":1}',
      '{"user":{"id":10},"n":3}',
    ]);
  });

  it('--json-key compares strings by their UTF-8 bytes', () => {
    const r = runCli(['--json-key', 'k'], '{"k":"b"}\n{"k":"\\u00e9"}\n{"k":"a"}\n{"k":"B"}\n');
    expect(r.stdout.toString()).toBe('{"k":"B"}\n{"k":"a"}\n{"k":"b"}\n{"k":"\\u00e9"}\n');
  });

  it('-o may name the input file: the output replaces it atomically', () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = join(dir, 'same.txt');
      writeFileSync(f, 'c\nb\na\n');
      expect(runCli(['-o', f, f]).status).toBe(0);
      expect(read(f).toString()).toBe('a\nb\nc\n');
    } finally {
      cleanup();
    }
  });
});
