import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePartitions } from '../src/analytics/click-store.js';
import { clickExport } from '../src/exports/click-export.js';
import { linkExport } from '../src/exports/link-export.js';
import { consistentExport, consistentPages } from '../src/exports/consistent-export.js';
import { exportBody, exportLines } from '../src/exports/export-stream.js';
import { csvLine } from '../src/exports/format.js';
import {
  CLICK_COLUMNS,
  clickChunkSource,
  clickLineSource,
  clickSource,
  LINK_COLUMNS,
  linkSource,
} from '../src/exports/sources.js';
import type { ExportSummary } from '../src/exports/consistent-export.js';
import type { Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrate.js';
import { databaseSetups, type DatabaseSetup } from './database-setups.js';

const WORKSPACE = 1;

// Values that exercise both renderings: JSON escapes, CSV quoting, formula prefixes, nulls.
const TRICKY = [
  'plain',
  'a,b',
  'say "hi"',
  'line\nbreak',
  'cr\rhere',
  'tab\there',
  '=SUM(A1)',
  '+1',
  '-2',
  '@x',
  '\ttab first',
  '\rcr first',
  '-1,5',
  'é=x',
  '=",\n"',
  'back\\slash',
  'ctl\u0001\u001f',
  'ünïcødé ✓ 😀',
  '',
  null,
];

const setups = databaseSetups(4);

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

/** Drops the summary line (its timestamps differ between two runs). */
const withoutSummary = (ndjson: string) =>
  ndjson
    .split('\n')
    .filter((l) => !l.startsWith('{"_summary"'))
    .join('\n');

async function insertClicks(db: Database, n: number, offset: number): Promise<void> {
  await db.query(
    `INSERT INTO clicks (clicked_at, event_id, link_id, workspace_id, code, visitor, referrer,
                         referrer_host, country, device, browser, os, is_bot)
     SELECT now() - (g || ' seconds')::interval + interval '0.123 seconds', 'e' || g, 1, $1,
            'c' || g, g, ($2::text[])[1 + g % $3], coalesce(($2::text[])[1 + (g + 1) % $3], 'x'),
            coalesce(($2::text[])[1 + (g + 2) % $3], 'GB'), 'desktop',
            coalesce(($2::text[])[1 + (g + 3) % $3], 'Firefox'), 'Linux', g % 5 = 0
       FROM generate_series($4::int, $5::int) g`,
    [WORKSPACE, TRICKY, TRICKY.length, offset, offset + n - 1],
  );
}

describe.each(setups)('click export lines rendered by the database ($name)', (setup) => {
  let env: Awaited<ReturnType<DatabaseSetup['open']>>;
  let db: Database;

  beforeAll(async () => {
    env = await setup.open();
    db = env.db;
    await migrate(db);
    await ensurePartitions(db, [Date.now(), Date.now() - 86_400_000]);
    await db.query(
      `INSERT INTO links (id, workspace_id, code, is_alias, url)
       VALUES (nextval('link_ids'), $1, 'lines', true, 'https://example.com/')`,
      [WORKSPACE],
    );
    await insertClicks(db, 500, 1);
  }, 60_000);
  afterAll(async () => {
    await env?.cleanup();
  });

  it('match, byte for byte, the rows formatted in JavaScript (NDJSON and CSV, sorted or not)', async () => {
    const filter = { workspaceId: WORKSPACE };
    for (const format of ['ndjson', 'csv'] as const) {
      const viaObjects = consistentExport(db, clickSource(filter), { pageSize: 73 });
      const expected = await text(
        exportBody(viaObjects.rows, viaObjects.summary, { format, columns: CLICK_COLUMNS }),
      );
      const viaLines = consistentExport(db, clickLineSource(filter, format), { pageSize: 61 });
      const actual = await text(
        exportLines(viaLines.rows, viaLines.summary, {
          format,
          header: csvLine([...CLICK_COLUMNS, 'change']),
        }),
      );
      expect(actual.length).toBeGreaterThan(500 * 60);
      expect(withoutSummary(actual)).toBe(withoutSummary(expected));
      expect(viaLines.summary()).toMatchObject({ rows: 500, existing: 500, created: 0 });
      // The endpoint's path: pages of lines, read one ahead or several at once (parallel),
      // sent a page at a time.
      for (const parallel of [1, 3]) {
        const viaPages = clickExport(db, filter, { format, pageSize: 61, parallel });
        const paged = await text(viaPages.body);
        expect(withoutSummary(paged)).toBe(withoutSummary(expected));
        expect(viaPages.summary()).toMatchObject({ rows: 500, existing: 500, created: 0 });
        if (format === 'ndjson') {
          const last = JSON.parse(paged.trimEnd().split('\n').pop()!) as { _summary: unknown };
          expect(last._summary).toEqual(viaPages.summary());
        }
      }
    }
    // Every line parses back to what the object source holds.
    const lines = consistentExport(db, clickLineSource(filter, 'ndjson'));
    const objects: unknown[] = [];
    for await (const r of consistentExport(db, clickSource(filter)).rows)
      objects.push({ change: r.change, ...r.data });
    const parsed: unknown[] = [];
    for await (const r of lines.rows) parsed.push(JSON.parse(r.data));
    expect(parsed).toEqual(objects);
    expect(parsed.some((p) => (p as { referrer: unknown }).referrer === null)).toBe(true);

    const sortedObjects = consistentExport(db, clickSource(filter));
    const sortedExpected = await text(
      exportBody(sortedObjects.rows, sortedObjects.summary, {
        format: 'csv',
        columns: CLICK_COLUMNS,
        sortBy: 'country',
      }),
    );
    const sortedLines = consistentExport(db, clickLineSource(filter, 'ndjson'));
    const sortedActual = await text(
      exportLines(sortedLines.rows, sortedLines.summary, {
        format: 'csv',
        header: csvLine([...CLICK_COLUMNS, 'change']),
        sortBy: 'country',
        toCsv: (line) => {
          const row = JSON.parse(line) as Record<string, unknown>;
          return csvLine([...CLICK_COLUMNS.map((c) => row[c]), row['change']]);
        },
      }),
    );
    expect(sortedActual).toBe(sortedExpected);
    const sortedPages = clickExport(db, filter, { format: 'csv', sortBy: 'country', pageSize: 53 });
    expect(await text(sortedPages.body)).toBe(sortedExpected);
  });

  it('link lines match, byte for byte, the links formatted in JavaScript (NDJSON and CSV)', async () => {
    const [{ id: ws }] = (await db.query<{ id: number }>(
      `INSERT INTO workspaces (slug, name) VALUES ('lines', 'lines') RETURNING id`,
    )) as [{ id: number }];
    await db.query(
      `INSERT INTO links (id, workspace_id, code, is_alias, url, title, tags, redirect_type,
                          expires_at, max_clicks, clicks, deleted_at)
       SELECT nextval('link_ids'), $1, 'l' || g, g % 2 = 0,
              'https://example.com/' || coalesce(($2::text[])[1 + g % $3], 'x'),
              ($2::text[])[1 + (g + 1) % $3],
              CASE WHEN g % 3 = 0 THEN '{}'::text[]
                   ELSE ARRAY[coalesce(($2::text[])[1 + (g + 2) % $3], 't'), 'b'] END,
              (ARRAY[301, 302, 307, 308])[1 + g % 4],
              CASE WHEN g % 4 = 0 THEN now() + interval '1 day' + g * interval '1.234567 seconds' END,
              CASE WHEN g % 5 = 0 THEN g END, g * 7,
              CASE WHEN g % 6 = 0 THEN now() - g * interval '1.5 seconds' END
         FROM generate_series(1, 200) g`,
      [ws, TRICKY, TRICKY.length],
    );
    for (const format of ['ndjson', 'csv'] as const) {
      const viaObjects = consistentExport(db, linkSource(ws), { pageSize: 37 });
      const expected = await text(
        exportBody(viaObjects.rows, viaObjects.summary, { format, columns: LINK_COLUMNS }),
      );
      const viaLines = linkExport(db, ws, { format, pageSize: 41 });
      const actual = await text(viaLines.body);
      expect(actual.length).toBeGreaterThan(200 * 100);
      expect(withoutSummary(actual)).toBe(withoutSummary(expected));
      expect(viaLines.summary()).toMatchObject({ rows: 200, existing: 200, created: 0 });
    }
  });

  it.skipIf(setup.name !== 'PostgreSQL').each([1, 3])(
    'reads a transaction that took its id first and committed last, after it commits, not past it (pages, %i at once)',
    async (parallel) => {
      const late = new pg.Client({ connectionString: env.url! });
      const early = new pg.Client({ connectionString: env.url! });
      await late.connect();
      await early.connect();
      const insert = (c: pg.Client, prefix: string) =>
        c.query(
          `INSERT INTO clicks (clicked_at, event_id, link_id, workspace_id, code, visitor,
                               referrer_host, country, device, browser, os, is_bot)
           SELECT now(), $2 || g, 1, $1, 'c', g, 'x', 'GB', 'desktop', 'Firefox', 'Linux', false
             FROM generate_series(1, 20) g`,
          [WORKSPACE, prefix],
        );
      try {
        // `late` takes its transaction id first and stays open; `early` commits after it.
        await late.query('BEGIN');
        await insert(late, `late${parallel}-`);
        await insert(early, `early${parallel}-`);
        const exp = consistentPages(db, clickChunkSource({ workspaceId: WORKSPACE }, 'ndjson'), {
          pageSize: 50,
          parallel,
        });
        const seen: string[] = [];
        let commit: Promise<unknown> | undefined;
        for await (const page of exp.pages) {
          for (const l of page.text.split('\n').slice(0, -1))
            seen.push((JSON.parse(l) as { eventId: string }).eventId);
          // Committed once the export is under way: a horizon past `late` (the snapshot's
          // xmax, say) would have read `early`'s rows and moved beyond `late`'s by then.
          commit ??= new Promise((r) => setTimeout(r, 200)).then(() => late.query('COMMIT'));
        }
        await commit;
        expect(new Set(seen).size).toBe(seen.length);
        for (const prefix of [`late${parallel}-`, `early${parallel}-`])
          expect(seen.filter((e) => e.startsWith(prefix))).toHaveLength(20);
        expect(exp.summary()).toMatchObject({ rows: seen.length });
      } finally {
        await late.query('ROLLBACK').catch(() => undefined);
        await late.end();
        await early.end();
      }
    },
    60_000,
  );

  it.skipIf(setup.name !== 'PostgreSQL').each(['lines', 'pages', 'parallel pages'] as const)(
    'export every click that existed at the start once, and clicks committed meanwhile once, while 3 connections insert with out-of-order commits (%s)',
    async (path) => {
      const stop = { now: false };
      let next = { lines: 100_000, pages: 1_000_000, 'parallel pages': 2_000_000 }[path];
      const commits: bigint[] = [];
      const writer = async (maxPauseMs: number) => {
        const c = new pg.Client({ connectionString: env.url! });
        await c.connect();
        try {
          while (!stop.now) {
            const first = next;
            next += 50;
            await c.query('BEGIN');
            const [tx] = (await c.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x'))
              .rows;
            await c.query(
              `INSERT INTO clicks (clicked_at, event_id, link_id, workspace_id, code, visitor,
                                   referrer_host, country, device, browser, os, is_bot)
               SELECT now(), 'w' || g, 1, $1, 'c', g, 'x', 'GB', 'desktop', 'Firefox', 'Linux', false
                 FROM generate_series($2::int, $3::int) g`,
              [WORKSPACE, first, first + 49],
            );
            await new Promise((r) => setTimeout(r, Math.random() * maxPauseMs));
            await c.query('COMMIT');
            commits.push(BigInt(tx!.x));
          }
        } finally {
          await c.end();
        }
      };
      const writers = [writer(200), writer(20), writer(20)];
      await new Promise((r) => setTimeout(r, 150)); // writers are mid-transaction
      const before = new Set(
        (await db.query<{ e: string }>('SELECT event_id AS e FROM clicks')).map((r) => r.e),
      );
      const seen: string[] = [];
      let summary: () => ExportSummary | undefined;
      if (path === 'lines') {
        const exp = consistentExport(db, clickLineSource({ workspaceId: WORKSPACE }, 'ndjson'), {
          pageSize: 97,
        });
        summary = exp.summary;
        for await (const r of exp.rows) {
          seen.push((JSON.parse(r.data) as { eventId: string }).eventId);
          await new Promise((res) => setImmediate(res));
        }
      } else {
        // The endpoint's path: pages of lines, the next ones read while this one is consumed
        // (one ahead, or three at once on three connections).
        const exp = consistentPages(db, clickChunkSource({ workspaceId: WORKSPACE }, 'ndjson'), {
          pageSize: 97,
          parallel: path === 'pages' ? 1 : 3,
        });
        summary = exp.summary;
        for await (const page of exp.pages) {
          const lines = page.text.split('\n').slice(0, -1);
          expect(lines).toHaveLength(page.rows);
          for (const l of lines) seen.push((JSON.parse(l) as { eventId: string }).eventId);
          await new Promise((res) => setTimeout(res, 2));
        }
      }
      await new Promise((r) => setTimeout(r, 100));
      stop.now = true;
      await Promise.all(writers);
      const s = summary()!;
      expect(new Set(seen).size).toBe(seen.length);
      const seenSet = new Set(seen);
      expect([...before].filter((e) => !seenSet.has(e))).toEqual([]);
      // Exactly the clicks committed below the final horizon were exported.
      const below = await db.query<{ e: string }>(
        `SELECT event_id AS e FROM clicks WHERE txid < $1::xid8`,
        [s.horizon],
      );
      expect(seenSet).toEqual(new Set(below.map((r) => r.e)));
      expect(s.rows).toBe(seen.length);
      expect(s.created).toBeGreaterThan(0);
      expect(s.existing).toBeGreaterThanOrEqual(before.size);
      // Transactions did commit out of order (a later xid committed before an earlier one).
      expect(commits.some((x, i) => i > 0 && x < commits[i - 1]!)).toBe(true);
    },
    60_000,
  );
});
