import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../infra/db/database.js';
import type { EnrichedClick } from './enrich.js';

/** Data access of the write side of analytics: raw click partitions, salts, rollups. */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
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

export type StoredClick = EnrichedClick & { readonly workspaceId: number };

function cmp(a: string | number | bigint, b: string | number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where the time of one {@link storeClicks} call went, in milliseconds. */
export interface StoreTimings {
  /** The raw-click insert (the idempotency check by event id). */
  raw: number;
  /** The per-day visitor sets of links and workspaces. */
  visitors: number;
  /** The counter upserts (hourly, daily, dimensions, workspace visitors). */
  rollups: number;
}

export interface StoreResult {
  /** Clicks newly written (the others were redeliveries). */
  readonly stored: number;
  /**
   * Keys (`link|day|visitor`) of the link visitor sets that hold the row once the transaction
   * commits: the caller may remember them (after the commit) and pass them back as
   * `knownVisitors` to skip their inserts.
   */
  readonly presentVisitors: readonly string[];
  readonly timings: StoreTimings;
}

export interface StoreOptions {
  /**
   * Link visitor keys (`link|day|visitor`) known to be committed in `link_day_visitors`.
   * Their inserts are skipped: such a visitor is not new for the link, nor (see below) for
   * the workspace, so skipping changes no count.
   */
  readonly knownVisitors?: { has(key: string): boolean };
}

interface Hourly {
  link: number;
  hour: number;
  bot: boolean;
  ws: number;
  n: number;
}
interface Daily {
  link: number;
  day: string;
  bot: boolean;
  ws: number;
  n: number;
  visitors: number;
}
interface DimCount {
  link: number;
  day: string;
  dim: Dimension;
  value: string;
  bot: boolean;
  ws: number;
  n: number;
}

/**
 * Writes a batch of clicks and rolls them up, on the caller's transaction, in a fixed handful
 * of set-based statements whatever the batch size (each one `INSERT … SELECT FROM unnest(…)`):
 *
 * 1. raw clicks, `ON CONFLICT (clicked_at, event_id) DO NOTHING RETURNING event_id`: only the
 *    events returned (new ones) are counted below, so a redelivered batch changes nothing;
 * 2. the link visitor sets, `RETURNING` the visitors new for their link and day;
 * 3. the workspace visitor sets, for those new link visitors only: a visitor already in a
 *    link's set was added to the workspace's set by the same transaction that added it there;
 * 4. counters pre-aggregated in memory (one row per key and statement): hourly, daily (clicks
 *    and new visitors), dimensions, workspace visitors.
 *
 * Every statement writes its keys in sorted order, so concurrent workers lock rows in one
 * global order (no deadlock).
 */
export async function storeClicks(
  tx: Queryable,
  batch: readonly StoredClick[],
  options: StoreOptions = {},
): Promise<StoreResult> {
  const timings: StoreTimings = { raw: 0, visitors: 0, rollups: 0 };
  const byId = new Map<string, StoredClick>();
  for (const c of batch) if (!byId.has(c.eventId)) byId.set(c.eventId, c);
  if (byId.size === 0) return { stored: 0, presentVisitors: [], timings };
  const rows = [...byId.values()];
  let t = performance.now();
  const inserted = await tx.query<{ event_id: string }>(
    `INSERT INTO clicks (clicked_at, event_id, link_id, workspace_id, code, visitor, referrer,
                         referrer_host, country, device, browser, os, is_bot)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                          $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[],
                          $11::text[], $12::text[], $13::bool[])
     ON CONFLICT (clicked_at, event_id) DO NOTHING
     RETURNING event_id`,
    [
      rows.map((c) => new Date(c.clickedAt).toISOString()),
      rows.map((c) => c.eventId),
      rows.map((c) => c.linkId),
      rows.map((c) => c.workspaceId),
      rows.map((c) => c.code),
      rows.map((c) => c.visitor),
      rows.map((c) => c.referrer),
      rows.map((c) => c.referrerHost),
      rows.map((c) => c.country),
      rows.map((c) => c.device),
      rows.map((c) => c.browser),
      rows.map((c) => c.os),
      rows.map((c) => c.isBot),
    ],
  );
  timings.raw = performance.now() - t;
  if (inserted.length === 0) return { stored: 0, presentVisitors: [], timings };
  const fresh = inserted.map((r) => byId.get(r.event_id)!);

  // Counters, aggregated here so that each key appears once per statement.
  const hourly = new Map<string, Hourly>();
  const daily = new Map<string, Daily>();
  const dims = new Map<string, DimCount>();
  // Distinct (link, day, visitor) of the new clicks, with one click standing for each.
  const linkVisitors = new Map<string, StoredClick>();
  for (const c of fresh) {
    const hour = c.clickedAt - (c.clickedAt % HOUR_MS);
    const day = utcDay(c.clickedAt);
    const hk = `${c.linkId}|${hour}|${c.isBot}`;
    const h = hourly.get(hk);
    if (h) h.n++;
    else hourly.set(hk, { link: c.linkId, hour, bot: c.isBot, ws: c.workspaceId, n: 1 });
    const dk = `${c.linkId}|${day}|${c.isBot}`;
    const d = daily.get(dk);
    if (d) d.n++;
    else daily.set(dk, { link: c.linkId, day, bot: c.isBot, ws: c.workspaceId, n: 1, visitors: 0 });
    const prefix = `${c.linkId}|${day}|`;
    addDim(dims, prefix, c, day, 'referrer', c.referrerHost);
    addDim(dims, prefix, c, day, 'country', c.country);
    addDim(dims, prefix, c, day, 'device', c.device);
    addDim(dims, prefix, c, day, 'browser', c.browser);
    addDim(dims, prefix, c, day, 'os', c.os);
    linkVisitors.set(prefix + c.visitor, c);
  }

  // Distinct visitors: a hash newly added to a day's set counts one visitor.
  t = performance.now();
  const candidates: { key: string; c: StoredClick; day: string; visitor: bigint }[] = [];
  for (const [key, c] of linkVisitors) {
    if (options.knownVisitors?.has(key) === true) continue;
    candidates.push({ key, c, day: utcDay(c.clickedAt), visitor: BigInt(c.visitor) });
  }
  candidates.sort(
    (a, b) => a.c.linkId - b.c.linkId || cmp(a.day, b.day) || cmp(a.visitor, b.visitor),
  );
  const newLinkVisitors =
    candidates.length === 0
      ? []
      : await tx.query<{ link_id: number; day: string; visitor: string }>(
          `INSERT INTO link_day_visitors (link_id, day, visitor)
           SELECT * FROM unnest($1::bigint[], $2::date[], $3::bigint[])
           ON CONFLICT DO NOTHING
           RETURNING link_id, to_char(day, 'YYYY-MM-DD') AS day, visitor::text AS visitor`,
          [
            candidates.map((v) => v.c.linkId),
            candidates.map((v) => v.day),
            candidates.map((v) => v.c.visitor),
          ],
        );
  const wsVisitors = new Map<
    string,
    { ws: number; day: string; visitor: bigint; c: StoredClick }
  >();
  for (const v of newLinkVisitors) {
    const c = linkVisitors.get(`${v.link_id}|${v.day}|${v.visitor}`)!;
    daily.get(`${v.link_id}|${v.day}|${c.isBot}`)!.visitors++;
    const wk = `${c.workspaceId}|${v.day}|${v.visitor}`;
    if (!wsVisitors.has(wk))
      wsVisitors.set(wk, { ws: c.workspaceId, day: v.day, visitor: BigInt(v.visitor), c });
  }
  const wv = [...wsVisitors.values()].sort(
    (a, b) => a.ws - b.ws || cmp(a.day, b.day) || cmp(a.visitor, b.visitor),
  );
  const newWsVisitors =
    wv.length === 0
      ? []
      : await tx.query<{ workspace_id: number; day: string; visitor: string }>(
          `INSERT INTO workspace_day_visitors (workspace_id, day, visitor)
           SELECT * FROM unnest($1::bigint[], $2::date[], $3::bigint[])
           ON CONFLICT DO NOTHING
           RETURNING workspace_id, to_char(day, 'YYYY-MM-DD') AS day, visitor::text AS visitor`,
          [wv.map((v) => v.ws), wv.map((v) => v.day), wv.map((v) => v.c.visitor)],
        );
  const wsDaily = new Map<string, { ws: number; day: string; bot: boolean; n: number }>();
  for (const v of newWsVisitors) {
    const c = wsVisitors.get(`${v.workspace_id}|${v.day}|${v.visitor}`)!.c;
    const k = `${v.workspace_id}|${v.day}|${c.isBot}`;
    const e = wsDaily.get(k);
    if (e) e.n++;
    else wsDaily.set(k, { ws: v.workspace_id, day: v.day, bot: c.isBot, n: 1 });
  }
  timings.visitors = performance.now() - t;

  t = performance.now();
  const h = [...hourly.values()].sort(
    (a, b) => a.link - b.link || a.hour - b.hour || Number(a.bot) - Number(b.bot),
  );
  await tx.query(
    `INSERT INTO click_hourly (link_id, hour, is_bot, workspace_id, clicks)
     SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bool[], $4::bigint[], $5::bigint[])
     ON CONFLICT (link_id, hour, is_bot) DO UPDATE SET clicks = click_hourly.clicks + EXCLUDED.clicks`,
    [
      h.map((r) => r.link),
      h.map((r) => new Date(r.hour).toISOString()),
      h.map((r) => r.bot),
      h.map((r) => r.ws),
      h.map((r) => r.n),
    ],
  );
  const d = [...daily.values()].sort(
    (a, b) => a.link - b.link || cmp(a.day, b.day) || Number(a.bot) - Number(b.bot),
  );
  await tx.query(
    `INSERT INTO click_daily (link_id, day, is_bot, workspace_id, clicks, visitors)
     SELECT * FROM unnest($1::bigint[], $2::date[], $3::bool[], $4::bigint[], $5::bigint[], $6::bigint[])
     ON CONFLICT (link_id, day, is_bot) DO UPDATE
       SET clicks = click_daily.clicks + EXCLUDED.clicks,
           visitors = click_daily.visitors + EXCLUDED.visitors`,
    [
      d.map((r) => r.link),
      d.map((r) => r.day),
      d.map((r) => r.bot),
      d.map((r) => r.ws),
      d.map((r) => r.n),
      d.map((r) => r.visitors),
    ],
  );
  const m = [...dims.values()].sort(
    (a, b) =>
      a.link - b.link ||
      cmp(a.day, b.day) ||
      cmp(a.dim, b.dim) ||
      cmp(a.value, b.value) ||
      Number(a.bot) - Number(b.bot),
  );
  await tx.query(
    `INSERT INTO click_dims (link_id, day, dim, value, is_bot, workspace_id, clicks)
     SELECT * FROM unnest($1::bigint[], $2::date[], $3::text[], $4::text[], $5::bool[],
                          $6::bigint[], $7::bigint[])
     ON CONFLICT (link_id, day, dim, value, is_bot) DO UPDATE
       SET clicks = click_dims.clicks + EXCLUDED.clicks`,
    [
      m.map((r) => r.link),
      m.map((r) => r.day),
      m.map((r) => r.dim),
      m.map((r) => r.value),
      m.map((r) => r.bot),
      m.map((r) => r.ws),
      m.map((r) => r.n),
    ],
  );
  if (wsDaily.size > 0) {
    const w = [...wsDaily.values()].sort(
      (a, b) => a.ws - b.ws || cmp(a.day, b.day) || Number(a.bot) - Number(b.bot),
    );
    await tx.query(
      `INSERT INTO workspace_daily (workspace_id, day, is_bot, visitors)
       SELECT * FROM unnest($1::bigint[], $2::date[], $3::bool[], $4::bigint[])
       ON CONFLICT (workspace_id, day, is_bot) DO UPDATE
         SET visitors = workspace_daily.visitors + EXCLUDED.visitors`,
      [w.map((r) => r.ws), w.map((r) => r.day), w.map((r) => r.bot), w.map((r) => r.n)],
    );
  }
  timings.rollups = performance.now() - t;
  return { stored: fresh.length, presentVisitors: [...linkVisitors.keys()], timings };
}

function addDim(
  dims: Map<string, DimCount>,
  prefix: string,
  c: StoredClick,
  day: string,
  dim: Dimension,
  value: string,
): void {
  const key = `${prefix}${dim}|${value}|${c.isBot}`;
  const e = dims.get(key);
  if (e) e.n++;
  else dims.set(key, { link: c.linkId, day, dim, value, bot: c.isBot, ws: c.workspaceId, n: 1 });
}
