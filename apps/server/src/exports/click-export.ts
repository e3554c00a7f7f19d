import type { Readable } from 'node:stream';
import type { Database } from '../infra/db/database.js';
import { consistentPages, type ExportSummary } from './consistent-export.js';
import { exportChunks } from './export-stream.js';
import { csvLine, type ExportFormat } from './format.js';
import { CLICK_COLUMNS, clickChunkSource, pageTexts, type ClickFilter } from './sources.js';

/** Rows per page of a click export (lines rendered by the database). */
const CLICK_PAGE_SIZE = 10_000;

export interface ClickExportOptions {
  readonly format: ExportFormat;
  readonly sortBy?: string | undefined;
  readonly sortBufferBytes?: number | undefined;
  readonly onError?: (err: unknown) => void;
  /** Rows per page. Default 10,000. */
  readonly pageSize?: number;
  /** Pages read at once (`parallel` of consistentPages). Default 2 on PostgreSQL, 1 on PGlite. */
  readonly parallel?: number;
}

/** The consistent export of raw clicks as the endpoint sends it: body and summary. */
export function clickExport(
  db: Database,
  filter: ClickFilter,
  o: ClickExportOptions,
): { body: Readable; summary: () => ExportSummary | undefined } {
  // Sorted exports sort NDJSON lines (by their field), then turn them into CSV if asked.
  const exp = consistentPages(
    db,
    clickChunkSource(filter, o.sortBy === undefined ? o.format : 'ndjson'),
    {
      pageSize: o.pageSize ?? CLICK_PAGE_SIZE,
      // PostgreSQL renders two pages at once on two connections (two cores); PGlite runs one
      // query at a time in this process: there the next page is only read ahead.
      parallel: o.parallel ?? (db.kind === 'postgres' ? 2 : 1),
    },
  );
  const body = exportChunks(pageTexts(exp.pages), exp.summary, {
    format: o.format,
    header: csvLine([...CLICK_COLUMNS, 'change']),
    sortBy: o.sortBy,
    toCsv: (line) => {
      const row = JSON.parse(line) as Record<string, unknown>;
      return csvLine([...CLICK_COLUMNS.map((c) => row[c]), row['change']]);
    },
    sortBufferBytes: o.sortBufferBytes,
    ...(o.onError !== undefined ? { onError: o.onError } : {}),
  });
  return { body, summary: exp.summary };
}
