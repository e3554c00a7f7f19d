import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sortFile } from '../src/index.js';
import { gnuSortFile, intLines, read, runCli, tempDir, textLines, write } from './helpers.js';

const MiB = 1024 * 1024;

describe('parallel run generation and partitioned merge', () => {
  let dir: string;
  let cleanup: () => void;
  let ints: string;
  let text: string;

  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    ints = write(dir, 'ints.txt', intLines(21, 2_200_000));
    text = write(dir, 'text.txt', textLines(22, 400_000));
  });
  afterAll(() => cleanup());

  it('with two workers and several chunks, numeric output equals sort -n', async () => {
    const out = `${ints}.out`;
    const stats = await sortFile(ints, out, { numeric: true, bufferSize: '64M', parallel: 2 });
    expect(stats.workers).toBe(2);
    expect(stats.runs).toBeGreaterThan(2);
    expect(read(out).equals(gnuSortFile(['-n'], ints))).toBe(true);
  });

  it('with two workers, reverse text output equals sort -r', async () => {
    const out = `${text}.out`;
    await sortFile(text, out, { reverse: true, bufferSize: '64M', parallel: 2 });
    expect(read(out).equals(gnuSortFile(['-r'], text))).toBe(true);
  });

  it('keeps peak RSS within the budget plus 64 MiB on a file larger than the budget', () => {
    const r = runCli(['-n', '-S', '16M', '--stats', '-o', `${ints}.rss`, ints]);
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr) as { peakRssBytes: number; runs: number };
    expect(stats.runs).toBeGreaterThan(1);
    expect(stats.peakRssBytes).toBeLessThanOrEqual(16 * MiB + 64 * MiB);
  });

  it('with an 8 MiB budget, merges in several passes and stays correct', () => {
    const r = runCli(['-S', '8M', '--batch-size', '4', '--stats', '-o', `${text}.multi`, text]);
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr) as { mergePasses: number; peakRssBytes: number };
    expect(stats.mergePasses).toBeGreaterThan(1);
    expect(stats.peakRssBytes).toBeLessThanOrEqual(8 * MiB + 64 * MiB);
    expect(read(`${text}.multi`).equals(gnuSortFile([], text))).toBe(true);
  });

  it('draws a progress bar when asked and stays quiet on a pipe by default', () => {
    const shown = runCli(['-n', '-S', '16M', '--progress', '-o', `${ints}.p1`, ints]);
    expect(shown.status).toBe(0);
    expect(shown.stderr).toMatch(/(sorting runs|merging \d\/\d) .*%.*\/s/);
    const quiet = runCli(['-n', '-S', '16M', '-o', `${ints}.p2`, ints]);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});
