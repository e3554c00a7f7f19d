import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Small deterministic PRNG (xorshift32) so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function tempDir(prefix = 'extsort-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** GNU sort's output for the same flags, in the C locale. */
export function gnuSort(args: string[], input: string | Buffer): Buffer {
  return execFileSync('sort', args, {
    input,
    env: { ...process.env, LC_ALL: 'C' },
    maxBuffer: 1 << 30,
  });
}

export function gnuSortFile(args: string[], file: string): Buffer {
  return execFileSync('sort', [...args, file], {
    env: { ...process.env, LC_ALL: 'C' },
    maxBuffer: 1 << 30,
  });
}

export function runCli(
  args: string[],
  input?: string | Buffer,
): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: input ?? '',
    maxBuffer: 1 << 30,
    env: { ...process.env, LC_ALL: 'en_US.UTF-8' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const WORDS = [
  'apple',
  'Apple',
  'banana',
  'b',
  'a b',
  'zeta',
  'é',
  'ü',
  '\u00ff',
  'x\ty',
  '',
  ' ',
  'same',
  'same ',
];
const NUMS = [
  '0',
  '-0',
  '0.0',
  '-0.000',
  '1',
  '01',
  '001',
  '-1',
  '-01',
  '10',
  '9',
  '1.5',
  '1.50',
  '-1.5',
  '.5',
  '-.5',
  '5.',
  ' 7',
  '  -7',
  '\t3',
  '+5',
  'abc',
  '',
  '-',
  '1e5',
  '12abc',
  '1,000',
  '123456789012345678901234567890',
  '123456789012345678901234567891',
  '-123456789012345678901234567890.5',
  '0.1',
  '0.10000000000000001',
  '0.1000000000000000055511151231257827',
  '999999999999999',
  '1000000000000000',
  '9007199254740993',
  '9007199254740992',
  '-9007199254740993',
  '3.14159265358979323846',
  '3.1415926535897932',
  '2\r',
  '-2\r',
];

/** Lines mixing fields, blanks, separators, numbers, duplicates and odd bytes. */
export function mixedLines(seed: number, count: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r();
    if (kind < 0.3) lines.push(pick(NUMS));
    else if (kind < 0.5) lines.push(`${pick(NUMS)} ${pick(WORDS)} ${pick(NUMS)}`);
    else if (kind < 0.7) lines.push(`${pick(WORDS)},${pick(NUMS)},${pick(WORDS)}:${pick(NUMS)}`);
    else if (kind < 0.8)
      lines.push(`${' '.repeat(Math.floor(r() * 3))}${pick(WORDS)}\t${pick(NUMS)}`);
    else if (kind < 0.9 && lines.length > 0) lines.push(lines[Math.floor(r() * lines.length)]!);
    else {
      let s = '';
      const n = Math.floor(r() * 12);
      for (let j = 0; j < n; j++) s += String.fromCharCode(32 + Math.floor(r() * 95));
      lines.push(s);
    }
  }
  return lines;
}

/** Random signed integers, one per line (the benchmark's numeric shape, small). */
export function intLines(seed: number, count: number): string {
  const r = rng(seed);
  let s = '';
  for (let i = 0; i < count; i++) s += `${Math.floor(r() * 4294967296) - 2147483648}\n`;
  return s;
}

/** Random alphanumeric lines of 10–100 characters. */
export function textLines(seed: number, count: number): string {
  const r = rng(seed);
  const alpha = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = 10 + Math.floor(r() * 91);
    let s = '';
    for (let j = 0; j < len; j++) s += alpha[Math.floor(r() * 62)];
    parts.push(s);
  }
  return parts.join('\n') + '\n';
}

export function write(dir: string, name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

export function read(p: string): Buffer {
  return readFileSync(p);
}
