import { AppError } from '../errors.js';
import type { Database } from '../infra/db/database.js';
import {
  clickSeries,
  topDimensions,
  totalClicks,
  uniqueVisitors,
  type AnalyticsRange,
  type AnalyticsScope,
  type ValueCount,
} from './analytics-repo.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Most buckets one series may have. */
export const MAX_BUCKETS = 1000;

/** The analytics answer: the shape the REST API, GraphQL and the dashboard share. */
export interface AnalyticsReport {
  totals: { clicks: number; uniqueVisitors: number };
  series: { t: string; clicks: number }[];
  referrers: ValueCount[];
  countries: ValueCount[];
  devices: ValueCount[];
  browsers: ValueCount[];
  os: ValueCount[];
}

export interface RangeInput {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly interval?: 'hour' | 'day' | undefined;
  readonly includeBots?: boolean | undefined;
}

function parseInstant(name: string, raw: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new AppError(
      'validation_failed',
      `${name} must be an ISO 8601 date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z).`,
    );
  }
  return ms;
}

/**
 * Resolves a requested range to bucket boundaries: `from` is rounded down and `to` up to the
 * interval (UTC). Defaults: the 30 days up to today by day, the 24 hours up to this one by hour.
 */
export function resolveRange(input: RangeInput, now = Date.now()): AnalyticsRange {
  const interval = input.interval ?? 'day';
  const unit = interval === 'hour' ? HOUR_MS : DAY_MS;
  const toMs = input.to === undefined ? now : parseInstant('to', input.to);
  const to = Math.ceil(toMs / unit) * unit;
  const fromMs =
    input.from === undefined
      ? to - (interval === 'hour' ? 24 * HOUR_MS : 30 * DAY_MS)
      : parseInstant('from', input.from);
  if (fromMs >= toMs) throw new AppError('validation_failed', 'from must be before to.');
  const from = Math.floor(fromMs / unit) * unit;
  if ((to - from) / unit > MAX_BUCKETS) {
    throw new AppError(
      'validation_failed',
      `The range spans more than ${MAX_BUCKETS} ${interval}s: narrow it or use a coarser interval.`,
    );
  }
  return {
    from: new Date(from),
    to: new Date(to),
    interval,
    includeBots: input.includeBots ?? false,
  };
}

/**
 * Click analytics queries (the read side of CQRS): answers come from rollups the workers
 * maintain, so their cost depends on the range and the number of distinct values, not on the
 * number of clicks.
 *
 * @example
 * const report = await analytics.report({ workspaceId: 1, linkId: 42 }, resolveRange({ interval: 'day' }));
 */
export class AnalyticsService {
  constructor(private readonly db: Database) {}

  async report(scope: AnalyticsScope, range: AnalyticsRange, top = 10): Promise<AnalyticsReport> {
    const [clicks, visitors, series, dims] = await Promise.all([
      totalClicks(this.db, scope, range),
      uniqueVisitors(this.db, scope, range),
      clickSeries(this.db, scope, range),
      topDimensions(this.db, scope, range, top),
    ]);
    return {
      totals: { clicks, uniqueVisitors: visitors },
      series,
      referrers: dims.referrer,
      countries: dims.country,
      devices: dims.device,
      browsers: dims.browser,
      os: dims.os,
    };
  }
}
