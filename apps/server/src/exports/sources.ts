import type { Change, Cursor, ExportSource, KeyedRow, PagedSource } from './consistent-export.js';
import type { ExportFormat } from './format.js';
import type { Queryable } from '../infra/db/database.js';

/** One link as exported. */
export interface LinkExportRow {
  code: string;
  url: string;
  alias: boolean;
  title: string | null;
  tags: string[];
  redirectType: number;
  expiresAt: string | null;
  maxClicks: number | null;
  clicks: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

export const LINK_COLUMNS: readonly (keyof LinkExportRow)[] = [
  'code',
  'url',
  'alias',
  'title',
  'tags',
  'redirectType',
  'expiresAt',
  'maxClicks',
  'clicks',
  'createdAt',
  'updatedAt',
  'deletedAt',
];

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

// ORDER BY names the table columns: the text aliases in the select list would sort as text.
// The cursor condition is written only when there is a cursor: `$5 IS NULL OR (…) > (…)`
// would keep the planner from starting the index scan at the cursor.

/** A link row's change against the export's start snapshot ($4). */
const LINK_CHANGE_SQL = `CASE WHEN pg_visible_in_snapshot(txid, $4::pg_snapshot) THEN 'existing'
     WHEN pg_visible_in_snapshot(created_txid, $4::pg_snapshot) THEN 'updated'
     ELSE 'created' END`;

/** The conditions, order and limit of one page of a workspace's links, with their parameters. */
function linkPage(
  workspaceId: number,
  after: Cursor | undefined,
  horizon: string,
  snapshot: string,
  limit: number,
) {
  return {
    where: `workspace_id = $1 AND txid < $2::xid8
            AND ${after === undefined ? '$5::xid8 IS NULL AND $6::bigint IS NULL' : '(txid, id) > ($5::xid8, $6::bigint)'}
          ORDER BY links.txid, links.id
          LIMIT $3`,
    params: [workspaceId, horizon, limit, snapshot, after?.txid ?? null, after?.key ?? null],
  };
}

/** Every link of a workspace, deleted ones included (their deletion is a change). */
export function linkSource(workspaceId: number): ExportSource<LinkExportRow> {
  return {
    async page(q, after, horizon, snapshot, limit) {
      const page = linkPage(workspaceId, after, horizon, snapshot, limit);
      const rows = await q.query<{
        txid_text: string;
        id_text: string;
        change: Change;
        code: string;
        url: string;
        is_alias: boolean;
        title: string | null;
        tags: string[];
        redirect_type: number;
        expires_at: Date | null;
        max_clicks: number | null;
        clicks: number;
        created_at: Date;
        updated_at: Date;
        deleted_at: Date | null;
      }>(
        `SELECT txid::text AS txid_text, id::text AS id_text, ${LINK_CHANGE_SQL} AS change,
                code, url, is_alias, title, tags, redirect_type, expires_at, max_clicks, clicks,
                created_at, updated_at, deleted_at
           FROM links
          WHERE ${page.where}`,
        page.params,
      );
      return rows.map((r): KeyedRow<LinkExportRow> => ({
        txid: r.txid_text,
        key: r.id_text,
        change: r.change,
        data: {
          code: r.code,
          url: r.url,
          alias: r.is_alias,
          title: r.title,
          tags: r.tags,
          redirectType: r.redirect_type,
          expiresAt: iso(r.expires_at),
          maxClicks: r.max_clicks,
          clicks: r.clicks,
          createdAt: iso(r.created_at)!,
          updatedAt: iso(r.updated_at)!,
          deletedAt: iso(r.deleted_at),
        },
      }));
    },
  };
}

/** One click as exported (the visitor hash and IP are never exported). */
export interface ClickExportRow {
  eventId: string;
  clickedAt: string;
  code: string;
  referrer: string | null;
  referrerHost: string;
  country: string;
  device: string;
  browser: string;
  os: string;
  bot: boolean;
}

export const CLICK_COLUMNS: readonly (keyof ClickExportRow)[] = [
  'eventId',
  'clickedAt',
  'code',
  'referrer',
  'referrerHost',
  'country',
  'device',
  'browser',
  'os',
  'bot',
];

export interface ClickFilter {
  readonly workspaceId: number;
  readonly linkId?: number | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
}

/** The WHERE clause and parameters shared by both click sources (parameters from $5 on). */
function clickPage(
  f: ClickFilter,
  after: Cursor | undefined,
  horizon: string,
  snapshot: string,
  limit: number,
  until?: Cursor,
) {
  const cond = `workspace_id = $1 AND txid < $2::xid8
            AND ${after === undefined ? '$5::xid8 IS NULL AND $6::bigint IS NULL' : '(txid, seq) > ($5::xid8, $6::bigint)'}
            AND ($7::bigint IS NULL OR link_id = $7)
            AND ($8::timestamptz IS NULL OR clicked_at >= $8)
            AND ($9::timestamptz IS NULL OR clicked_at < $9)`;
  const params: unknown[] = [
    f.workspaceId,
    horizon,
    limit,
    snapshot,
    after?.txid ?? null,
    after?.key ?? null,
    f.linkId ?? null,
    f.from?.toISOString() ?? null,
    f.to?.toISOString() ?? null,
  ];
  if (until !== undefined) params.push(until.txid, until.key);
  return {
    cond,
    where: `${cond}
            ${until === undefined ? '' : 'AND (txid, seq) <= ($10::xid8, $11::bigint)'}
          ORDER BY clicks.txid, clicks.seq
          LIMIT $3`,
    params,
  };
}

/** Raw clicks of a workspace (optionally one link, a time range). Clicks are insert-only. */
export function clickSource(f: ClickFilter): ExportSource<ClickExportRow> {
  return {
    async page(q, after, horizon, snapshot, limit) {
      const { where, params } = clickPage(f, after, horizon, snapshot, limit);
      const rows = await q.query<{
        txid_text: string;
        seq_text: string;
        existing: boolean;
        event_id: string;
        clicked_at: Date;
        code: string;
        referrer: string | null;
        referrer_host: string;
        country: string;
        device: string;
        browser: string;
        os: string;
        is_bot: boolean;
      }>(
        `SELECT txid::text AS txid_text, seq::text AS seq_text,
                pg_visible_in_snapshot(txid, $4::pg_snapshot) AS existing,
                event_id, clicked_at, code, referrer, referrer_host, country, device, browser, os,
                is_bot
           FROM clicks
          WHERE ${where}`,
        params,
      );
      return rows.map((r): KeyedRow<ClickExportRow> => ({
        txid: r.txid_text,
        key: r.seq_text,
        change: r.existing ? 'existing' : 'created',
        data: {
          eventId: r.event_id,
          clickedAt: r.clicked_at.toISOString(),
          code: r.code,
          referrer: r.referrer,
          referrerHost: r.referrer_host,
          country: r.country,
          device: r.device,
          browser: r.browser,
          os: r.os,
          bot: r.is_bot,
        },
      }));
    },
  };
}

// SQL that renders one click as its export line, so that the rows are never parsed into
// objects and formatted again in JavaScript (the cost of a large export). `change` is the SQL
// of the row's change ('existing' / 'created'). Both renderings match, byte for byte,
// `JSON.stringify({ change, ...row })` and `csvLine` of the object source.
const CHANGE_SQL = `CASE WHEN pg_visible_in_snapshot(txid, $4::pg_snapshot) THEN 'existing' ELSE 'created' END`;
/** A timestamptz column as `Date#toISOString` writes it. */
const isoSql = (col: string) =>
  `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const json = (expr: string) => `coalesce(to_json(${expr})::text, 'null')`;
const csv = (expr: string) => `export_csv_field(${expr})`;

/** The select expression of one click's export line (ending in its line break). */
export function clickLineSql(format: ExportFormat, change: string = CHANGE_SQL): string {
  if (format === 'ndjson') {
    return `'{"change":"' || ${change} || '","eventId":' || ${json('event_id')}
      || ',"clickedAt":"' || ${isoSql('clicked_at')} || '","code":' || ${json('code')}
      || ',"referrer":' || ${json('referrer')} || ',"referrerHost":' || ${json('referrer_host')}
      || ',"country":' || ${json('country')} || ',"device":' || ${json('device')}
      || ',"browser":' || ${json('browser')} || ',"os":' || ${json('os')}
      || ',"bot":' || CASE WHEN is_bot THEN 'true' ELSE 'false' END || E'}\n'`;
  }
  return `${csv('event_id')} || ',' || ${isoSql('clicked_at')} || ',' || ${csv('code')} || ','
      || ${csv('referrer')} || ',' || ${csv('referrer_host')} || ',' || ${csv('country')} || ','
      || ${csv('device')} || ',' || ${csv('browser')} || ',' || ${csv('os')} || ','
      || CASE WHEN is_bot THEN 'true' ELSE 'false' END || ',' || ${change} || E'\r\n'`;
}

/**
 * One page of clicks with their export line (`l`) rendered by the database; `e`: the row
 * existed at the export's start. The inner query picks the page, the outer one renders it,
 * testing visibility once a row.
 */
function renderedClicks(
  q: Queryable,
  format: ExportFormat,
  { where, params }: { where: string; params: unknown[] },
): Promise<{ t: string; k: string; e: boolean; l: string }[]> {
  const line = clickLineSql(format, `CASE WHEN e THEN 'existing' ELSE 'created' END`);
  return q.query(
    `SELECT txid::text AS t, seq::text AS k, e, ${line} AS l
       FROM (SELECT *, pg_visible_in_snapshot(txid, $4::pg_snapshot) AS e
               FROM clicks
              WHERE ${where}) c
      ORDER BY c.txid, c.seq`,
    params,
  );
}

/**
 * Raw clicks as ready-made export lines (NDJSON with `change`, or CSV rows with the
 * `change` column, in {@link CLICK_COLUMNS} order), rendered by the database: the fast path of
 * unsorted click exports. Same rows, order and keyset as {@link clickSource}.
 */
export function clickLineSource(f: ClickFilter, format: ExportFormat): ExportSource<string> {
  return {
    async page(q, after, horizon, snapshot, limit) {
      const rows = await renderedClicks(q, format, clickPage(f, after, horizon, snapshot, limit));
      const out: KeyedRow<string>[] = new Array<KeyedRow<string>>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        out[i] = { txid: r.t, key: r.k, change: r.e ? 'existing' : 'created', data: r.l };
      }
      return out;
    },
  };
}

/** A page of ready-made export lines (see {@link clickChunkSource}). */
export interface LinePage {
  /** The page's lines, concatenated, each ending in its line break. */
  readonly text: string;
  readonly rows: number;
  readonly existing: number;
  readonly last: Cursor | undefined;
}

/** The text of each page, in order: what an export endpoint sends. */
export async function* pageTexts(pages: AsyncIterable<LinePage>): AsyncGenerator<string> {
  for await (const page of pages) yield page.text;
}

/**
 * Raw clicks a page at a time as one string of export lines rendered by the database (the
 * lines of {@link clickLineSource}, same rows, order and keyset): no object per row is kept.
 * The fast path of click exports.
 */
export function clickChunkSource(f: ClickFilter, format: ExportFormat): PagedSource<LinePage> {
  return {
    async page(q, after, horizon, snapshot, limit, until) {
      const rows = await renderedClicks(
        q,
        format,
        clickPage(f, after, horizon, snapshot, limit, until),
      );
      let text = '';
      let existing = 0;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        text += r.l;
        if (r.e) existing++;
      }
      const last = rows[rows.length - 1];
      return {
        text,
        rows: rows.length,
        existing,
        last: last === undefined ? undefined : { txid: last.t, key: last.k },
      };
    },
    async bound(q, after, horizon, limit) {
      // The snapshot ($4) plays no part here; it is named only so that its type is known.
      const { cond, params } = clickPage(f, after, horizon, '', limit);
      const [b] = await q.query<{ t: string; k: string }>(
        `SELECT txid::text AS t, seq::text AS k
           FROM clicks
          WHERE ${cond} AND $4::text IS NOT NULL
          ORDER BY clicks.txid, clicks.seq
         OFFSET $3::int - 1
          LIMIT 1`,
        params,
      );
      return b === undefined ? undefined : { txid: b.t, key: b.k };
    },
    info: (p) => ({
      rows: p.rows,
      existing: p.existing,
      created: p.rows - p.existing,
      updated: 0,
      last: p.last,
    }),
  };
}

// One link as its export line, rendered by the database like the click lines: both renderings
// match, byte for byte, `JSON.stringify({ change, ...row })` and `csvLine` of linkSource's rows.

/** The select expression of one link's export line (ending in its line break). */
export function linkLineSql(format: ExportFormat, change: string = LINK_CHANGE_SQL): string {
  const isoOrNull = (col: string) =>
    `CASE WHEN ${col} IS NULL THEN 'null' ELSE '"' || ${isoSql(col)} || '"' END`;
  if (format === 'ndjson') {
    return `'{"change":"' || ${change} || '","code":' || ${json('code')}
      || ',"url":' || ${json('url')} || ',"alias":' || CASE WHEN is_alias THEN 'true' ELSE 'false' END
      || ',"title":' || ${json('title')} || ',"tags":' || ${json('tags')}
      || ',"redirectType":' || redirect_type::text || ',"expiresAt":' || ${isoOrNull('expires_at')}
      || ',"maxClicks":' || coalesce(max_clicks::text, 'null') || ',"clicks":' || clicks::text
      || ',"createdAt":"' || ${isoSql('created_at')} || '","updatedAt":"' || ${isoSql('updated_at')}
      || '","deletedAt":' || ${isoOrNull('deleted_at')} || E'}\n'`;
  }
  return `${csv('code')} || ',' || ${csv('url')} || ',' || CASE WHEN is_alias THEN 'true' ELSE 'false' END
      || ',' || ${csv('title')} || ',' || ${csv(`array_to_string(tags, '|')`)} || ','
      || redirect_type::text || ',' || coalesce(${isoSql('expires_at')}, '') || ','
      || coalesce(max_clicks::text, '') || ',' || clicks::text || ',' || ${isoSql('created_at')}
      || ',' || ${isoSql('updated_at')} || ',' || coalesce(${isoSql('deleted_at')}, '') || ','
      || ${change} || E'\r\n'`;
}

/**
 * Every link of a workspace (deleted ones included) a page at a time as one string of export
 * lines rendered by the database: same rows, order and keyset as {@link linkSource}.
 */
export function linkChunkSource(
  workspaceId: number,
  format: ExportFormat,
): PagedSource<LinePage & { updated: number }> {
  const line = linkLineSql(format, 'c');
  return {
    async page(q, after, horizon, snapshot, limit) {
      const { where, params } = linkPage(workspaceId, after, horizon, snapshot, limit);
      const rows = await q.query<{ t: string; k: string; c: Change; l: string }>(
        `SELECT txid::text AS t, id::text AS k, c, ${line} AS l
           FROM (SELECT *, ${LINK_CHANGE_SQL} AS c FROM links WHERE ${where}) l
          ORDER BY l.txid, l.id`,
        params,
      );
      let text = '';
      let existing = 0;
      let updated = 0;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        text += r.l;
        if (r.c === 'existing') existing++;
        else if (r.c === 'updated') updated++;
      }
      const last = rows[rows.length - 1];
      return {
        text,
        rows: rows.length,
        existing,
        updated,
        last: last === undefined ? undefined : { txid: last.t, key: last.k },
      };
    },
    info: (p) => ({
      rows: p.rows,
      existing: p.existing,
      created: p.rows - p.existing - p.updated,
      updated: p.updated,
      last: p.last,
    }),
  };
}
