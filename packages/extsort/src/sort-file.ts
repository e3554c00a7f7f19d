import { Duplex, PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { runSort } from './engine.js';
import type { Source, SortStats } from './engine.js';
import { normalizeOptions } from './options.js';
import type { SortOptions } from './options.js';

/**
 * Sorts one or more files into `output`, like `LC_ALL=C sort [options] input... -o output`.
 * The output appears atomically (written to a temporary file beside it, then renamed),
 * so a failed or cancelled sort leaves no partial output; it may be one of the inputs.
 * Temporary runs go to `options.tempDir` and are always removed.
 *
 * @example
 * import { sortFile } from '@linkforge/extsort';
 * const stats = await sortFile('clicks.tsv', 'clicks.sorted.tsv', {
 *   keys: ['3,3n'], fieldSeparator: '\t', bufferSize: '512M',
 * });
 * console.log(`${stats.lines} lines in ${stats.totalMs} ms`);
 */
export async function sortFile(
  input: string | string[],
  output: string,
  options: SortOptions = {},
): Promise<SortStats> {
  const opts = normalizeOptions(options);
  const inputs = Array.isArray(input) ? input : [input];
  const sources: Source[] = inputs.map((path) => ({ kind: 'file', path }));
  return runSort(sources, { kind: 'file', path: output }, opts);
}

/**
 * Sorts a byte stream and returns the sorted bytes as a Readable. Input is consumed
 * with backpressure; output starts once all input has been read (a sort cannot emit
 * its first line earlier). Errors (e.g. `--strict` failures) destroy the returned stream.
 *
 * @example
 * import { createReadStream } from 'node:fs';
 * import { sortStream } from '@linkforge/extsort';
 * sortStream(createReadStream('events.ndjson'), { jsonKey: 'ts' }).pipe(process.stdout);
 */
export function sortStream(source: AsyncIterable<Uint8Array>, options: SortOptions = {}): Readable {
  const opts = normalizeOptions(options);
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  runSort(
    [{ kind: 'stream', name: '-', iterable: source }],
    { kind: 'stream', stream: out, end: true },
    opts,
  ).catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/**
 * A Duplex that sorts what is written to it: write unsorted lines, read sorted ones.
 *
 * @example
 * import { pipeline } from 'node:stream/promises';
 * await pipeline(process.stdin, createSortStream({ numeric: true }), process.stdout);
 */
export function createSortStream(options: SortOptions = {}): Duplex {
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  const output = sortStream(input, options);
  return Duplex.from({ writable: input, readable: output });
}
