import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { checkSorted, createSortStream, parseSize, sortStream } from '../src/index.js';
import { gnuSort, mixedLines } from './helpers.js';

async function collect(r: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('stream API', () => {
  it('sortStream sorts an async iterable of chunks split mid-line like sort does', async () => {
    const text = mixedLines(31, 5000).join('\n');
    const bytes = Buffer.from(text);
    const pieces = Array.from({ length: Math.ceil(bytes.length / 777) }, (_, i) =>
      bytes.subarray(i * 777, (i + 1) * 777),
    );
    const out = await collect(
      sortStream(Readable.from(pieces), { keys: ['2,2n'], bufferSize: '1M' }),
    );
    expect(out.equals(gnuSort(['-k2,2n'], text))).toBe(true);
  });

  it('createSortStream works as a pipeline stage', async () => {
    const chunks: Buffer[] = [];
    await pipeline(
      Readable.from([Buffer.from('10\n9\n-1\n')]),
      createSortStream({ numeric: true }),
      async function (source: AsyncIterable<Buffer>) {
        for await (const c of source) chunks.push(c);
      },
    );
    expect(Buffer.concat(chunks).toString()).toBe('-1\n9\n10\n');
  });

  it('sortStream destroys its output with the error on --strict failures', async () => {
    const s = sortStream(Readable.from([Buffer.from('1\nx\n')]), { numeric: true, strict: true });
    await expect(collect(s)).rejects.toThrow('-:2: invalid number');
  });

  it('checkSorted reports the first line out of order', async () => {
    const r = await checkSorted(Readable.from([Buffer.from('a\nc\nb\n')]));
    expect(r).toEqual({ sorted: false, line: 3, text: 'b' });
    expect((await checkSorted(Readable.from([Buffer.from('a\nb')]))).sorted).toBe(true);
  });

  it('parseSize follows GNU -S units (bare number = KiB)', () => {
    expect(parseSize('256M')).toBe(256 * 1024 * 1024);
    expect(parseSize('100')).toBe(100 * 1024);
    expect(parseSize('10b')).toBe(10);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(() => parseSize('12Q')).toThrow('invalid buffer size');
  });
});
