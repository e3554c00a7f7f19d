import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli-args.js';
import { sortFile } from '../src/index.js';
import {
  gnuSortFile,
  intLines,
  mixedLines,
  read,
  runCli,
  tempDir,
  textLines,
  write,
} from './helpers.js';

const FLAG_SETS: string[][] = [
  [],
  ['-r'],
  ['-n'],
  ['-nr'],
  ['-u'],
  ['-nu'],
  ['-ru'],
  ['-s', '-n'],
  ['-b'],
  ['-k2'],
  ['-k2,2'],
  ['-k2,2n'],
  ['-k2n', '-k1,1r'],
  ['-k1,1', '-u'],
  ['-k2,2n', '-u', '-r'],
  ['-t,', '-k2,2'],
  ['-t,', '-k2,2n', '-k1,1'],
  ['-t,', '-k3', '-s'],
  ['-t:', '-k2n,2r'],
  ['-k1.2,1.4'],
  ['-k2.2b,2.3'],
  ['-b', '-k2,2'],
  ['-k1,1b', '-n'],
  ['-k3,3nr', '-k1,1', '-s'],
  ['-s', '-k1,1'],
  ['-n', '-k2bn'],
  ['-t', ' ', '-k2,2', '-u'],
];

describe('output is byte-identical to LC_ALL=C sort', () => {
  let dir: string;
  let cleanup: () => void;
  const inputs: Record<string, string> = {};

  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    inputs.mixed = write(dir, 'mixed.txt', mixedLines(1, 3000).join('\n') + '\n');
    inputs.crlf = write(dir, 'crlf.txt', mixedLines(2, 500).join('\r\n') + '\r\n');
    inputs.noTrailingNewline = write(dir, 'nonl.txt', mixedLines(3, 400).join('\n'));
    inputs.empty = write(dir, 'empty.txt', '');
    inputs.oneLine = write(dir, 'one.txt', 'just one line without newline');
    inputs.blankLines = write(dir, 'blank.txt', '\n\n \n\t\n\n');
    inputs.binary = write(
      dir,
      'binary.txt',
      Buffer.from([0x61, 0, 0x62, 10, 0x61, 10, 0xff, 0xfe, 10, 0x80, 10, 0, 10, 0x61, 0, 10]),
    );
  });
  afterAll(() => cleanup());

  for (const flags of FLAG_SETS) {
    it(`matches for flags [${flags.join(' ')}] on every edge-case input`, async () => {
      const cmd = parseArgs(flags);
      for (const [name, file] of Object.entries(inputs)) {
        const out = `${file}.${name}.out`;
        await sortFile(file, out, { ...cmd.options, bufferSize: '2M' });
        const expected = gnuSortFile(flags, file);
        expect(read(out).equals(expected), `${name} with [${flags.join(' ')}]`).toBe(true);
      }
    });
  }

  it('matches through a multi-pass merge with a tiny budget and fan-in 2', async () => {
    const file = write(dir, 'multi.txt', mixedLines(9, 150_000).join('\n') + '\n');
    for (const flags of [[], ['-n'], ['-k2,2n', '-u'], ['-r', '-s', '-k1,1']]) {
      const out = `${file}.out`;
      const stats = await sortFile(file, out, {
        ...parseArgs(flags).options,
        bufferSize: '1M',
        batchSize: 2,
      });
      expect(stats.runs).toBeGreaterThan(2);
      expect(stats.mergePasses).toBeGreaterThan(1);
      expect(read(out).equals(gnuSortFile(flags, file)), `[${flags.join(' ')}]`).toBe(true);
    }
  });

  it('matches on random integers and random text spread over several runs', async () => {
    const ints = write(dir, 'ints.txt', intLines(5, 200_000));
    const text = write(dir, 'text.txt', textLines(6, 60_000));
    const a = await sortFile(ints, `${ints}.out`, {
      numeric: true,
      bufferSize: '4M',
      compress: true,
    });
    expect(a.runs).toBeGreaterThan(1);
    expect(read(`${ints}.out`).equals(gnuSortFile(['-n'], ints))).toBe(true);
    const b = await sortFile(text, `${text}.out`, { bufferSize: '2M' });
    expect(b.runs).toBeGreaterThan(1);
    expect(read(`${text}.out`).equals(gnuSortFile([], text))).toBe(true);
  });

  it('matches when canonical integers meet non-canonical numbers mid-piece (key fallback)', async () => {
    const head = intLines(12, 50_000);
    const file = write(dir, 'canon.txt', `${head}007\n-0\n 42\n+3\n${intLines(13, 50_000)}12.5\n`);
    for (const flags of [['-n'], ['-nu'], ['-nr'], ['-n', '-s']]) {
      const out = `${file}.out`;
      await sortFile(file, out, { ...parseArgs(flags).options, bufferSize: '2M' });
      expect(read(out).equals(gnuSortFile(flags, file)), `[${flags.join(' ')}]`).toBe(true);
    }
  });

  it('matches when binary integer runs and text runs meet in multi-pass merges', async () => {
    // Whole pieces of canonical integers become binary key runs; pieces with one
    // non-canonical number stay text. Both kinds meet in intermediate and final merges.
    const blocks: string[] = [];
    for (let i = 0; i < 12; i++) {
      blocks.push(intLines(40 + i, 30_000));
      if (i % 4 === 3) blocks.push(`007\n-0\n 42\n12.5\n${intLines(60 + i, 2_000)}`);
    }
    const file = write(dir, 'binmix.txt', blocks.join(''));
    for (const flags of [['-n'], ['-nu'], ['-nr'], ['-nru']]) {
      for (const compress of [false, true]) {
        const out = `${file}.out`;
        const stats = await sortFile(file, out, {
          ...parseArgs(flags).options,
          bufferSize: '1M',
          batchSize: 2,
          compress,
        });
        expect(stats.mergePasses).toBeGreaterThan(1);
        expect(
          read(out).equals(gnuSortFile(flags, file)),
          `[${flags.join(' ')}] compress=${compress}`,
        ).toBe(true);
      }
    }
    // --strict sorts integer pieces through the general key loop first: same result.
    const ints = write(dir, 'strictints.txt', intLines(70, 60_000));
    for (const flags of [['-n'], ['-nru']]) {
      const out = `${ints}.out`;
      await sortFile(ints, out, {
        ...parseArgs(flags).options,
        strict: true,
        bufferSize: '1M',
        batchSize: 2,
      });
      expect(read(out).equals(gnuSortFile(flags, ints)), `[${flags.join(' ')}] strict`).toBe(true);
    }
  });

  it('sorts several input files as one, like sort FILE1 FILE2', async () => {
    const out = `${inputs.mixed}.multi.out`;
    await sortFile([inputs.noTrailingNewline!, inputs.mixed!, inputs.empty!], out, {
      numeric: true,
    });
    const expected = gnuSortFile(['-n', inputs.noTrailingNewline!, inputs.mixed!], inputs.empty!);
    expect(read(out).equals(expected)).toBe(true);
  });

  it('the CLI reads stdin and writes stdout with - and matches sort', () => {
    const input = mixedLines(11, 2000).join('\n');
    const file = write(dir, 'stdin.txt', input);
    for (const flags of [['-n'], ['-t,', '-k2,2', '-r'], ['-u']]) {
      const r = runCli([...flags, '-'], input);
      expect(r.status).toBe(0);
      expect(r.stdout.equals(gnuSortFile(flags, file))).toBe(true);
    }
  });
});
