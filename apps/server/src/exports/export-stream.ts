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
    const out = sortStream(source(), {
      jsonKey: o.sortBy!,
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
        yield o.format === 'csv' ? asCsv(JSON.parse(line) as Record<string, unknown>) : `${line}\n`;
      }
    }
    if (rest !== '') {
      yield o.format === 'csv' ? asCsv(JSON.parse(rest) as Record<string, unknown>) : `${rest}\n`;
    }
  }

  return Readable.from(lines(), { objectMode: false });
}
