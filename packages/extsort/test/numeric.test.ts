import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli-args.js';
import { numCompare, numValue } from '../src/numeric.js';
import { rng } from './helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const cmp = (x: string, y: string): number => numCompare(b(x), 0, x.length, b(y), 0, y.length);
const val = (x: string): number => numValue(b(x), 0, x.length);

describe('numeric keys', () => {
  it('compare exactly, including numbers beyond double precision', () => {
    expect(cmp('9007199254740993', '9007199254740992')).toBe(1);
    expect(cmp('-9007199254740993', '-9007199254740992')).toBe(-1);
    expect(cmp('0.10000000000000001', '0.1')).toBe(1);
    expect(cmp('1.50', '1.5')).toBe(0);
    expect(cmp('-0', '0.000')).toBe(0);
    expect(cmp(' \t-3', '-3')).toBe(0);
    expect(cmp('abc', '0')).toBe(0);
    expect(cmp('+5', '0')).toBe(0);
    expect(cmp('12abc', '12')).toBe(0);
    expect(cmp('.5', '0.5')).toBe(0);
  });

  it('the double prefix never contradicts the exact comparison', () => {
    const r = rng(42);
    const digits = (n: number): string =>
      Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
    const samples: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const sign = r() < 0.4 ? '-' : '';
      const int = digits(Math.floor(r() * 22));
      const frac = r() < 0.5 ? `.${digits(Math.floor(r() * 25))}` : '';
      samples.push(`${sign}${int}${frac}`);
    }
    for (let i = 0; i + 1 < samples.length; i++) {
      const x = samples[i]!;
      const y = samples[i + 1]!;
      const c = cmp(x, y);
      const vx = val(x);
      const vy = val(y);
      if (vx < vy) expect(c, `${x} vs ${y}`).toBe(-1);
      if (vx > vy) expect(c, `${x} vs ${y}`).toBe(1);
      if (c === 0) expect(vx).toBe(vy);
    }
  });
});

describe('command-line parsing', () => {
  it('accepts GNU forms: grouped flags, attached and separate values, long options', () => {
    const c = parseArgs([
      '-nru',
      '-k2,2',
      '-k',
      '1',
      '-t,',
      '-S256M',
      '--parallel=2',
      '-o',
      'out',
      '--',
      '-file',
    ]);
    expect(c.options).toMatchObject({
      numeric: true,
      reverse: true,
      unique: true,
      keys: ['2,2', '1'],
      fieldSeparator: ',',
      bufferSize: '256M',
      parallel: 2,
    });
    expect(c.output).toBe('out');
    expect(c.inputs).toEqual(['-file']);
  });

  it('reads stdin when no file is given and understands --check variants', () => {
    expect(parseArgs([]).inputs).toEqual(['-']);
    expect(parseArgs(['--check=quiet']).check).toBe('quiet');
    expect(parseArgs(['--buffer', '1M']).options.bufferSize).toBe('1M');
    expect(() => parseArgs(['--check=loud'])).toThrow("invalid argument 'loud'");
    expect(() => parseArgs(['-c', 'a', 'b'])).toThrow('extra operand');
  });
});
