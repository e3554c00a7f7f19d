import type { Readable } from 'node:stream';
import type { Database } from '../infra/db/database.js';
import { consistentPages, type ExportSummary } from './consistent-export.js';
import { exportChunks } from './export-stream.js';
import { csvLine, type ExportFormat } from './format.js';
import { LINK_COLUMNS, linkChunkSource, pageTexts } from './sources.js';

export interface LinkExportOptions {
  readonly format: ExportFormat;
  readonly onError?: (err: unknown) => void;
  /** Rows per page. Default 5,000. */
  readonly pageSize?: number;
}

/**
 * The consistent export of a workspace's links as the endpoint sends it: pages of lines
 * rendered by the database, the next page read while one is sent (one at a time: the link
 * source has no `bound`; a workspace holds far fewer links than clicks).
 */
export function linkExport(
  db: Database,
  workspaceId: number,
  o: LinkExportOptions,
): { body: Readable; summary: () => ExportSummary | undefined } {
  const exp = consistentPages(db, linkChunkSource(workspaceId, o.format), {
    pageSize: o.pageSize ?? 5000,
  });
  const body = exportChunks(pageTexts(exp.pages), exp.summary, {
    format: o.format,
    header: csvLine([...LINK_COLUMNS, 'change']),
    ...(o.onError !== undefined ? { onError: o.onError } : {}),
  });
  return { body, summary: exp.summary };
}
