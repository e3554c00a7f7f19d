import DataLoader from 'dataloader';
import { clicksByLink } from '../analytics/analytics-repo.js';
import type { Database } from '../infra/db/database.js';

const DAY_MS = 86_400_000;

export interface StatsKey {
  readonly linkId: number;
  readonly days: number;
  readonly includeBots: boolean;
}

export interface Loaders {
  /** Clicks and unique visitors of links over their last N days: one query per (N, bots) group. */
  readonly stats: DataLoader<StatsKey, { clicks: number; uniqueVisitors: number }, string>;
}

/** Per-request loaders: batch the N link fields of one query into a single SQL statement. */
export function createLoaders(db: Database, workspaceId: number, now = Date.now()): Loaders {
  const today = now - (now % DAY_MS);
  return {
    stats: new DataLoader(
      async (keys) => {
        const groups = new Map<string, StatsKey[]>();
        for (const k of keys) {
          const g = `${k.days}|${k.includeBots}`;
          groups.set(g, [...(groups.get(g) ?? []), k]);
        }
        const results = new Map<string, { clicks: number; uniqueVisitors: number }>();
        for (const group of groups.values()) {
          const { days, includeBots } = group[0]!;
          const from = new Date(today - (days - 1) * DAY_MS).toISOString().slice(0, 10);
          const to = new Date(today + DAY_MS).toISOString().slice(0, 10);
          const rows = await clicksByLink(
            db,
            workspaceId,
            group.map((k) => k.linkId),
            from,
            to,
            includeBots,
          );
          for (const k of group) {
            const r = rows.get(k.linkId);
            results.set(statsKey(k), { clicks: r?.clicks ?? 0, uniqueVisitors: r?.visitors ?? 0 });
          }
        }
        return keys.map((k) => results.get(statsKey(k))!);
      },
      { cacheKeyFn: statsKey, maxBatchSize: 1000 },
    ),
  };
}

function statsKey(k: StatsKey): string {
  return `${k.linkId}|${k.days}|${k.includeBots}`;
}
