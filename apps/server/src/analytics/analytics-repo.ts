import type { Queryable } from '../infra/db/database.js';
import { DIMENSIONS, type Dimension } from './click-store.js';

/** Read models of click analytics: every query reads rollup tables, never raw clicks. */

export interface AnalyticsScope {
  readonly workspaceId: number;
  /** One link, or the whole workspace when undefined. */
  readonly linkId?: number;
}

export interface AnalyticsRange {
  /** Inclusive start, at a bucket boundary. */
  readonly from: Date;
  /** Exclusive end, at a bucket boundary. */
  readonly to: Date;
  readonly interval: 'hour' | 'day';
  readonly includeBots: boolean;
}

export interface ValueCount {
  readonly value: string;
  readonly clicks: number;
}

function scopeWhere(scope: AnalyticsScope, first: number): { sql: string; params: unknown[] } {
  return scope.linkId === undefined
    ? { sql: `workspace_id = $${first}`, params: [scope.workspaceId] }
    : {
        sql: `link_id = $${first} AND workspace_id = $${first + 1}`,
        params: [scope.linkId, scope.workspaceId],
      };
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Clicks per bucket over the range, zero-filled, oldest first. */
export async function clickSeries(
  q: Queryable,
  scope: AnalyticsScope,
  r: AnalyticsRange,
): Promise<{ t: string; clicks: number }[]> {
  const w = scopeWhere(scope, 4);
  const rows =
    r.interval === 'hour'
      ? await q.query<{ t: Date; clicks: number }>(
          `SELECT b.t, coalesce(s.clicks, 0)::float8 AS clicks
             FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour') AS b(t)
             LEFT JOIN (SELECT hour, sum(clicks) AS clicks FROM click_hourly
                         WHERE ${w.sql} AND hour >= $1 AND hour < $2 AND (NOT is_bot OR $3)
                         GROUP BY hour) s ON s.hour = b.t
            ORDER BY b.t`,
          [r.from.toISOString(), r.to.toISOString(), r.includeBots, ...w.params],
        )
      : await q.query<{ t: string; clicks: number }>(
          `SELECT to_char(b.t, 'YYYY-MM-DD') AS t, coalesce(s.clicks, 0)::float8 AS clicks
             FROM generate_series($1::date, $2::date - 1, interval '1 day') AS b(t)
             LEFT JOIN (SELECT day, sum(clicks) AS clicks FROM click_daily
                         WHERE ${w.sql} AND day >= $1::date AND day < $2::date AND (NOT is_bot OR $3)
                         GROUP BY day) s ON s.day = b.t::date
            ORDER BY b.t`,
          [day(r.from), day(r.to), r.includeBots, ...w.params],
        );
  return rows.map((row) => ({
    t: typeof row.t === 'string' ? `${row.t}T00:00:00.000Z` : row.t.toISOString(),
    clicks: Number(row.clicks),
  }));
}

/** Total clicks over the range (hour precision with the hourly interval). */
export async function totalClicks(
  q: Queryable,
  scope: AnalyticsScope,
  r: AnalyticsRange,
): Promise<number> {
  const w = scopeWhere(scope, 4);
  const rows =
    r.interval === 'hour'
      ? await q.query<{ n: number }>(
          `SELECT coalesce(sum(clicks), 0)::float8 AS n FROM click_hourly
            WHERE ${w.sql} AND hour >= $1 AND hour < $2 AND (NOT is_bot OR $3)`,
          [r.from.toISOString(), r.to.toISOString(), r.includeBots, ...w.params],
        )
      : await q.query<{ n: number }>(
          `SELECT coalesce(sum(clicks), 0)::float8 AS n FROM click_daily
            WHERE ${w.sql} AND day >= $1::date AND day < $2::date AND (NOT is_bot OR $3)`,
          [day(r.from), day(r.to), r.includeBots, ...w.params],
        );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Unique visitors over the days of the range: the sum of daily distinct visitor hashes (the
 * hash changes every day by design, so a visitor is counted once per day visited).
 */
export async function uniqueVisitors(
  q: Queryable,
  scope: AnalyticsScope,
  r: AnalyticsRange,
): Promise<number> {
  const from = day(r.from);
  // The hourly range [from, to) touches the day that holds `to - 1 ms`.
  const to = day(new Date(r.to.getTime() - 1));
  const rows =
    scope.linkId === undefined
      ? await q.query<{ n: number }>(
          `SELECT coalesce(sum(visitors), 0)::float8 AS n FROM workspace_daily
            WHERE workspace_id = $4 AND day >= $1::date AND day <= $2::date AND (NOT is_bot OR $3)`,
          [from, to, r.includeBots, scope.workspaceId],
        )
      : await q.query<{ n: number }>(
          `SELECT coalesce(sum(visitors), 0)::float8 AS n FROM click_daily
            WHERE link_id = $4 AND workspace_id = $5 AND day >= $1::date AND day <= $2::date
              AND (NOT is_bot OR $3)`,
          [from, to, r.includeBots, scope.linkId, scope.workspaceId],
        );
  return Number(rows[0]?.n ?? 0);
}

/** Top `limit` values of every dimension over the days of the range, most clicks first. */
export async function topDimensions(
  q: Queryable,
  scope: AnalyticsScope,
  r: AnalyticsRange,
  limit: number,
): Promise<Record<Dimension, ValueCount[]>> {
  const w = scopeWhere(scope, 5);
  const rows = await q.query<{ dim: Dimension; value: string; clicks: number }>(
    `SELECT dim, value, clicks FROM (
       SELECT dim, value, sum(clicks)::float8 AS clicks,
              row_number() OVER (PARTITION BY dim ORDER BY sum(clicks) DESC, value) AS rn
         FROM click_dims
        WHERE ${w.sql} AND day >= $1::date AND day <= $2::date AND (NOT is_bot OR $3)
        GROUP BY dim, value) ranked
      WHERE rn <= $4
      ORDER BY dim, rn`,
    [day(r.from), day(new Date(r.to.getTime() - 1)), r.includeBots, limit, ...w.params],
  );
  const out = Object.fromEntries(DIMENSIONS.map((d) => [d, [] as ValueCount[]])) as Record<
    Dimension,
    ValueCount[]
  >;
  for (const row of rows) out[row.dim]?.push({ value: row.value, clicks: Number(row.clicks) });
  return out;
}

/** Total clicks per link over a range (for GraphQL's batched loader). */
export async function clicksByLink(
  q: Queryable,
  workspaceId: number,
  linkIds: readonly number[],
  fromDay: string,
  toDay: string,
  includeBots: boolean,
): Promise<Map<number, { clicks: number; visitors: number }>> {
  const rows = await q.query<{ link_id: number; clicks: number; visitors: number }>(
    `SELECT link_id, sum(clicks)::float8 AS clicks, sum(visitors)::float8 AS visitors
       FROM click_daily
      WHERE link_id = ANY($1::bigint[]) AND workspace_id = $2 AND day >= $3::date AND day < $4::date
        AND (NOT is_bot OR $5)
      GROUP BY link_id`,
    [linkIds, workspaceId, fromDay, toDay, includeBots],
  );
  return new Map(
    rows.map((r) => [r.link_id, { clicks: Number(r.clicks), visitors: Number(r.visitors) }]),
  );
}
