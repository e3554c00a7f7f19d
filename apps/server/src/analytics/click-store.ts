import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../infra/db/database.js';
import type { EnrichedClick } from './enrich.js';

/** Data access of the write side of analytics: raw click partitions, salts, rollups. */

const DAY_MS = 86_400_000;
// Arbitrary constant: serialises partition creation between workers.
const PARTITION_LOCK = 4_747_012;

/** Days of visitor salts and per-day visitor sets kept; older ones are deleted. */
export const SALT_RETENTION_DAYS = 3;

export const DIMENSIONS = ['referrer', 'country', 'device', 'browser', 'os'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

const dayNames = new Map<number, string>();

/** `YYYY-MM-DD` of the UTC day holding `ms` (memoised: a batch has few distinct days). */
export function utcDay(ms: number): string {
  const start = ms - (ms % DAY_MS);
  let name = dayNames.get(start);
  if (name === undefined) {
    name = new Date(start).toISOString().slice(0, 10);
    if (dayNames.size > 1000) dayNames.clear();
    dayNames.set(start, name);
  }
  return name;
}

function monthStart(ms: number): Date {
  const d = new Date(ms);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

function partitionName(start: Date): string {
  return `clicks_p${start.getUTCFullYear()}${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * Makes sure the monthly partitions of `clicks` that hold the given instants exist. Creation
 * is serialised by an advisory lock so that workers starting together do not race.
 */
export async function ensurePartitions(
  db: Database,
  instants: Iterable<number>,
): Promise<string[]> {
  const months = new Map<string, Date>();
  for (const ms of instants) {
    const start = monthStart(ms);
    months.set(partitionName(start), start);
  }
  if (months.size === 0) return [];
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    const existing = new Set(
      (
        await tx.query<{ relname: string }>(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'clicks'::regclass`,
        )
      ).map((r) => r.relname),
    );
    const created: string[] = [];
    for (const [name, start] of months) {
      if (existing.has(name)) continue;
      const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
      // Names and bounds are computed here from dates, never taken from input.
      await tx.exec(
        `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF clicks
           FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
      );
      created.push(name);
    }
    return created;
  });
}

/** Names of the existing partitions of `clicks`, oldest first. */
export async function listPartitions(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ relname: string }>(
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'clicks'::regclass ORDER BY c.relname`,
  );
  return rows.map((r) => r.relname);
}

/** The visitor salt of each given UTC day, creating the missing ones. */
export async function saltsFor(
  q: Queryable,
  days: readonly string[],
): Promise<Map<string, Buffer>> {
  if (days.length > 0) {
    await q.query(
      `INSERT INTO analytics_salts (day, salt)
       SELECT d, s FROM unnest($1::date[], $2::bytea[]) AS t(d, s)
       ON CONFLICT (day) DO NOTHING`,
      [days, days.map(() => randomBytes(32))],
    );
  }
  const rows = await q.query<{ day: string; salt: Uint8Array }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, salt FROM analytics_salts WHERE day = ANY($1::date[])`,
    [days],
  );
  return new Map(rows.map((r) => [r.day, Buffer.from(r.salt)]));
}

/**
 * Deletes salts and per-day visitor sets older than {@link SALT_RETENTION_DAYS}: afterwards
 * an old visitor hash can no longer be recomputed from an IP. The visitor counters stay.
 */
export async function pruneVisitorState(q: Queryable, now = Date.now()): Promise<void> {
  const cutoff = utcDay(now - SALT_RETENTION_DAYS * DAY_MS);
  await q.query(`DELETE FROM analytics_salts WHERE day < $1::date`, [cutoff]);
  await q.query(`DELETE FROM link_day_visitors WHERE day < $1::date`, [cutoff]);
  await q.query(`DELETE FROM workspace_day_visitors WHERE day < $1::date`, [cutoff]);
}

/** Workspace of each link id (links never move between workspaces). */
export async function workspacesOf(
  q: Queryable,
  linkIds: readonly number[],
): Promise<Map<number, number>> {
  if (linkIds.length === 0) return new Map();
  const rows = await q.query<{ id: number; workspace_id: number }>(
    `SELECT id, workspace_id FROM links WHERE id = ANY($1::bigint[])`,
    [linkIds],
  );
  return new Map(rows.map((r) => [r.id, r.workspace_id]));
}

/** A click ready to store (enriched, its link's workspace known). */
export type StoredClick = EnrichedClick;

/** Where the time of one {@link storeClicks} call went, in milliseconds. */
export interface StoreTimings {
  /** Building the statement's parameters from the batch. */
  prepare: number;
  /** The one statement that writes raw clicks, visitor sets and rollups. */
  statement: number;
}

export interface StoreResult {
  /** Clicks newly written (the others were redeliveries). */
  readonly stored: number;
  readonly timings: StoreTimings;
}

/**
 * The whole write of a batch, one statement: each step is a data-modifying CTE fed by the
 * `RETURNING` rows of the one before, so every count below derives from the clicks that were
 * actually inserted.
 *
 * 1. `raw`: the clicks, `ON CONFLICT (clicked_at, event_id) DO NOTHING`: a redelivered event
 *    returns nothing and adds nothing below;
 * 2. `lv`: the distinct link visitors of the new clicks into the link visitor sets, returning
 *    those new for their link and day;
 * 3. `wv`: those new link visitors into the workspace visitor sets (a visitor already in a
 *    link's set went into its workspace's set in the transaction that put it there);
 * 4. the counters, grouped by key in the database (one row per key and statement): hourly,
 *    daily (clicks and new link visitors), dimensions, workspace visitors.
 *
 * Every insert takes its rows in key order, so concurrent workers lock rows in one global order.
 * Days and hours are computed from epoch milliseconds with integer arithmetic (UTC, whatever the
 * session time zone).
 */
const STORE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                       $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[],
                       $11::text[], $12::text[], $13::bool[])
    AS t(ms, event_id, link_id, workspace_id, code, visitor, referrer, referrer_host,
         country, device, browser, os, is_bot)
),
raw AS (
  INSERT INTO clicks (clicked_at, event_id, link_id, workspace_id, code, visitor, referrer,
                      referrer_host, country, device, browser, os, is_bot)
  SELECT timestamptz 'epoch' + ms * interval '1 millisecond', event_id, link_id, workspace_id,
         code, visitor, referrer, referrer_host, country, device, browser, os, is_bot
    FROM input
  ON CONFLICT (clicked_at, event_id) DO NOTHING
  RETURNING clicked_at, link_id, workspace_id, visitor, referrer_host, country, device,
            browser, os, is_bot
),
fresh AS MATERIALIZED (
  SELECT link_id, workspace_id, visitor, referrer_host, country, device, browser, os, is_bot,
         (clicked_at AT TIME ZONE 'UTC')::date AS day,
         date_trunc('hour', clicked_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour
    FROM raw
),
visits AS MATERIALIZED (
  SELECT link_id, day, visitor, min(workspace_id) AS workspace_id, bool_and(is_bot) AS is_bot
    FROM fresh GROUP BY link_id, day, visitor
),
lv AS (
  INSERT INTO link_day_visitors (link_id, day, visitor)
  SELECT link_id, day, visitor FROM visits ORDER BY link_id, day, visitor
  ON CONFLICT DO NOTHING
  RETURNING link_id, day, visitor
),
new_lv AS MATERIALIZED (
  SELECT v.link_id, v.day, v.visitor, v.workspace_id, v.is_bot
    FROM visits v JOIN lv USING (link_id, day, visitor)
),
wv AS (
  INSERT INTO workspace_day_visitors (workspace_id, day, visitor)
  SELECT DISTINCT workspace_id, day, visitor FROM new_lv ORDER BY workspace_id, day, visitor
  ON CONFLICT DO NOTHING
  RETURNING workspace_id, day, visitor
),
hourly AS (
  INSERT INTO click_hourly (link_id, hour, is_bot, workspace_id, clicks)
  SELECT link_id, hour, is_bot, min(workspace_id), count(*)
    FROM fresh GROUP BY link_id, hour, is_bot ORDER BY link_id, hour, is_bot
  ON CONFLICT (link_id, hour, is_bot) DO UPDATE SET clicks = click_hourly.clicks + EXCLUDED.clicks
),
daily AS (
  INSERT INTO click_daily (link_id, day, is_bot, workspace_id, clicks, visitors)
  SELECT link_id, day, is_bot, min(workspace_id), sum(c), sum(v)
    FROM (SELECT link_id, day, is_bot, workspace_id, 1 AS c, 0 AS v FROM fresh
          UNION ALL
          SELECT link_id, day, is_bot, workspace_id, 0, 1 FROM new_lv) t
   GROUP BY link_id, day, is_bot ORDER BY link_id, day, is_bot
  ON CONFLICT (link_id, day, is_bot) DO UPDATE
    SET clicks = click_daily.clicks + EXCLUDED.clicks,
        visitors = click_daily.visitors + EXCLUDED.visitors
),
combos AS MATERIALIZED (
  SELECT link_id, day, is_bot, referrer_host, country, device, browser, os,
         min(workspace_id) AS workspace_id, count(*) AS n
    FROM fresh GROUP BY link_id, day, is_bot, referrer_host, country, device, browser, os
),
dims AS (
  INSERT INTO click_dims (link_id, day, dim, value, is_bot, workspace_id, clicks)
  SELECT link_id, day, dim, value, is_bot, min(workspace_id), sum(n)
    FROM (SELECT link_id, day, 'browser' AS dim, browser AS value, is_bot, workspace_id, n
            FROM combos
          UNION ALL
          SELECT link_id, day, 'country', country, is_bot, workspace_id, n FROM combos
          UNION ALL
          SELECT link_id, day, 'device', device, is_bot, workspace_id, n FROM combos
          UNION ALL
          SELECT link_id, day, 'os', os, is_bot, workspace_id, n FROM combos
          UNION ALL
          SELECT link_id, day, 'referrer', referrer_host, is_bot, workspace_id, n FROM combos) d
   GROUP BY link_id, day, dim, value, is_bot
   ORDER BY link_id, day, dim, value, is_bot
  ON CONFLICT (link_id, day, dim, value, is_bot) DO UPDATE
    SET clicks = click_dims.clicks + EXCLUDED.clicks
),
ws_daily AS (
  INSERT INTO workspace_daily (workspace_id, day, is_bot, visitors)
  SELECT n.workspace_id, n.day, bool_and(n.is_bot), count(*)
    FROM (SELECT DISTINCT ON (workspace_id, day, visitor) workspace_id, day, visitor, is_bot
            FROM new_lv ORDER BY workspace_id, day, visitor, is_bot) n
    JOIN wv USING (workspace_id, day, visitor)
   GROUP BY n.workspace_id, n.day, n.is_bot ORDER BY n.workspace_id, n.day, n.is_bot
  ON CONFLICT (workspace_id, day, is_bot) DO UPDATE
    SET visitors = workspace_daily.visitors + EXCLUDED.visitors
)
SELECT count(*)::int AS stored FROM fresh`;

/** Characters that must be escaped inside a quoted element of an array literal. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * A `text[]` literal (`{"a","b\\"c",NULL}`): built here in one pass, which costs a fraction
 * of the driver's generic array serialisation for the batch's eight text columns.
 */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? null;
    parts[i] = v === null ? 'NULL' : `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, '\\$&') : v}"`;
  }
  return `{${parts.join(',')}}`;
}

/**
 * Writes a batch of clicks and rolls them up, on the caller's transaction, in one statement
 * whatever the batch size (see {@link STORE_SQL}): idempotent by event id, so a redelivered
 * batch changes nothing; the per-key aggregation happens in the database.
 */
export async function storeClicks(
  tx: Queryable,
  batch: readonly StoredClick[],
): Promise<StoreResult> {
  let t = performance.now();
  const seen = new Set<string>();
  const n = batch.length;
  const ms: number[] = [];
  const eventIds: string[] = [];
  const links: number[] = [];
  const workspaces: number[] = [];
  const codes: string[] = [];
  const visitors: string[] = [];
  const referrers: (string | null)[] = [];
  const hosts: string[] = [];
  const countries: string[] = [];
  const devices: string[] = [];
  const browsers: string[] = [];
  const oses: string[] = [];
  const bots: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = batch[i]!;
    if (seen.has(c.eventId)) continue;
    seen.add(c.eventId);
    ms.push(Math.trunc(c.clickedAt));
    eventIds.push(c.eventId);
    links.push(c.linkId);
    workspaces.push(c.workspaceId);
    codes.push(c.code);
    visitors.push(c.visitor);
    referrers.push(c.referrer);
    hosts.push(c.referrerHost);
    countries.push(c.country);
    devices.push(c.device);
    browsers.push(c.browser);
    oses.push(c.os);
    bots.push(c.isBot ? 't' : 'f');
  }
  const timings: StoreTimings = { prepare: 0, statement: 0 };
  if (eventIds.length === 0) return { stored: 0, timings };
  // Integers need no quoting (link ids are checked safe integers, visitors decimal strings).
  const params = [
    `{${ms.join(',')}}`,
    textArrayLiteral(eventIds),
    `{${links.join(',')}}`,
    `{${workspaces.join(',')}}`,
    textArrayLiteral(codes),
    `{${visitors.join(',')}}`,
    textArrayLiteral(referrers),
    textArrayLiteral(hosts),
    textArrayLiteral(countries),
    textArrayLiteral(devices),
    textArrayLiteral(browsers),
    textArrayLiteral(oses),
    `{${bots.join(',')}}`,
  ];
  timings.prepare = performance.now() - t;
  t = performance.now();
  // The planner cannot estimate the rows of the CTEs and would join the new visitors by nested
  // loops (quadratic in the batch): hash and merge joins keep the statement linear. JIT would
  // spend longer compiling this one-off plan than running it.
  await tx.exec('SET LOCAL enable_nestloop = off; SET LOCAL jit = off');
  const [row] = await tx.query<{ stored: number }>(STORE_SQL, params);
  timings.statement = performance.now() - t;
  return { stored: row?.stored ?? 0, timings };
}
