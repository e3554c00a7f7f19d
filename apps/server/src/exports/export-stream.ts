import { Readable } from 'node:stream';
import { sortStream } from '@linkforge/extsort';
import type { ExportSummary, KeyedRow } from './consistent-export.js';
import { csvLine, type ExportFormat } from './format.js';

export interface ExportStreamOptions<T> {
  readonly format: ExportFormat;
  readonly columns: readonly (keyof T & string)[];
  /** Sort the output by this field (external merge sort when it exceeds `sortBufferBytes`). */
  readonly sortBy?: (keyof T & string) | undefined;
  readonly sortBufferBytes?: number;
  readonly tempDir?: string;
  readonly onError?: (err: unknown) => void;
}

/**
 * Turns exported rows into the response body. NDJSON: one `{"change": …, …row}` object per
 * line, then a last line `{"_summary": {…}}` (or `{"_error": …}` if the export failed). CSV: a
 * header, then rows with a `change` column (the summary goes to the HTTP trailer).
 */
export function exportBody<T extends object>(
  rows: AsyncIterable<KeyedRow<T>>,
  summary: () => ExportSummary | undefined,
  o: ExportStreamOptions<T>,
): Readable {
  const asJson = (r: KeyedRow<T>) => `${JSON.stringify({ change: r.change, ...r.data })}\n`;
  const asCsv = (obj: Record<string, unknown>) =>
    csvLine([...o.columns.map((c) => obj[c]), obj['change']]);

  async function* lines(): AsyncGenerator<string> {
    if (o.format === 'csv') yield csvLine([...o.columns, 'change']);
    try {
      if (o.sortBy === undefined) {
        for await (const r of rows)
          yield o.format === 'csv' ? asCsv({ ...r.data, change: r.change }) : asJson(r);
      } else {
        yield* sorted();
      }
      if (o.format === 'ndjson') yield `${JSON.stringify({ _summary: summary() })}\n`;
    } catch (err) {
      o.onError?.(err);
      if (o.format === 'ndjson') {
        yield `${JSON.stringify({ _error: err instanceof Error ? err.message : 'export failed' })}\n`;
      } else throw err;
    }
  }

  async function* sorted(): AsyncGenerator<string> {
    async function* source(): AsyncGenerator<Uint8Array> {
      for await (const r of rows) yield Buffer.from(asJson(r));
    }
    yield* sortedLines(source(), o.sortBy!, o, (line) =>
      asCsv(JSON.parse(line) as Record<string, unknown>),
    );
  }

  return Readable.from(lines(), { objectMode: false });
}

/** Output chunks of about this size: one write per chunk, not one per row. */
const CHUNK_CHARS = 64 * 1024;

export interface ExportLinesOptions {
  readonly format: ExportFormat;
  /** CSV header line (with its line break). */
  readonly header?: string;
  /**
   * Rows are NDJSON lines to sort by this field first (external merge sort when they exceed
   * `sortBufferBytes`); `toCsv` turns a sorted NDJSON line into its CSV line.
   */
  readonly sortBy?: string | undefined;
  readonly toCsv?: (jsonLine: string) => string;
  readonly sortBufferBytes?: number | undefined;
  readonly tempDir?: string;
  readonly onError?: (err: unknown) => void;
}

/**
 * Like {@link exportBody}, for sources that hand over ready-made lines (`data` is the line,
 * rendered by the database): the lines are only concatenated into chunks of ~64 KiB. Unsorted,
 * `data` is in the output format; sorted, it is NDJSON.
 */
export function exportLines(
  rows: AsyncIterable<KeyedRow<string>>,
  summary: () => ExportSummary | undefined,
  o: ExportLinesOptions,
): Readable {
  async function* chunks(): AsyncGenerator<string> {
    let chunk = '';
    for await (const r of rows) {
      chunk += r.data;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk !== '') yield chunk;
  }
  return exportChunks(chunks(), summary, o);
}

/**
 * Like {@link exportLines}, for sources that hand over whole pages of ready-made lines: each
 * string holds complete lines (in the output format unsorted, NDJSON sorted) and is sent as
 * it comes, one write a page.
 */
export function exportChunks(
  pages: AsyncIterable<string>,
  summary: () => ExportSummary | undefined,
  o: ExportLinesOptions,
): Readable {
  async function* chunks(): AsyncGenerator<string> {
    if (o.format === 'csv' && o.header !== undefined) yield o.header;
    try {
      if (o.sortBy === undefined) {
        yield* pages;
      } else {
        async function* source(): AsyncGenerator<Uint8Array> {
          for await (const page of pages) yield Buffer.from(page);
        }
        const toCsv = o.toCsv ?? ((line: string) => line);
        let chunk = '';
        for await (const line of sortedLines(source(), o.sortBy, o, toCsv)) {
          chunk += line;
          if (chunk.length >= CHUNK_CHARS) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk !== '') yield chunk;
      }
      if (o.format === 'ndjson') yield `${JSON.stringify({ _summary: summary() })}\n`;
    } catch (err) {
      o.onError?.(err);
      if (o.format === 'ndjson') {
        yield `${JSON.stringify({ _error: err instanceof Error ? err.message : 'export failed' })}\n`;
      } else throw err;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** NDJSON lines sorted by `key` through extsort, each re-emitted as NDJSON or via `toCsv`. */
async function* sortedLines(
  source: AsyncIterable<Uint8Array>,
  key: string,
  o: {
    readonly format: ExportFormat;
    readonly sortBufferBytes?: number | undefined;
    readonly tempDir?: string | undefined;
  },
  toCsv: (line: string) => string,
): AsyncGenerator<string> {
  const out = sortStream(source, {
    jsonKey: key,
    stable: true,
    bufferSize: o.sortBufferBytes ?? 64 * 1024 * 1024,
    ...(o.tempDir !== undefined ? { tempDir: o.tempDir } : {}),
    parallel: 1,
  });
  let rest = '';
  for await (const chunk of out as AsyncIterable<Buffer>) {
    const text = rest + chunk.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      if (line === '') continue;
      yield o.format === 'csv' ? toCsv(line) : `${line}\n`;
    }
  }
  if (rest !== '') {
    yield o.format === 'csv' ? toCsv(rest) : `${rest}\n`;
  }
}
