import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePartitions, storeClicks, type StoredClick } from '../src/analytics/click-store.js';
import type { Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrate.js';
import { databaseSetups, type DatabaseSetup } from './database-setups.js';

const setups = databaseSetups(2);

const AT = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1, 12);

function click(eventId: string, linkId: number, visitor: string, workspaceId = 1): StoredClick {
  return {
    eventId,
    linkId,
    code: `l${linkId}`,
    clickedAt: AT,
    visitor,
    referrer: null,
    referrerHost: '(direct)',
    country: 'GB',
    device: 'desktop',
    browser: 'Firefox',
    os: 'Linux',
    isBot: false,
    workspaceId,
  };
}

describe.each(setups)('storeClicks ($name)', (setup) => {
  let env: Awaited<ReturnType<DatabaseSetup['open']>>;
  let db: Database;

  beforeAll(async () => {
    env = await setup.open();
    db = env.db;
    await migrate(db);
    await ensurePartitions(db, [AT]);
  }, 60_000);
  afterAll(async () => {
    await env?.cleanup();
  });

  async function counts() {
    const daily = await db.query<{ link_id: number; clicks: number; visitors: number }>(
      `SELECT link_id, clicks::int AS clicks, visitors::int AS visitors FROM click_daily ORDER BY link_id`,
    );
    const ws = await db.query<{ workspace_id: number; visitors: number }>(
      `SELECT workspace_id, visitors::int AS visitors FROM workspace_daily ORDER BY workspace_id`,
    );
    const dims = await db.query<{ n: number }>(
      `SELECT coalesce(sum(clicks), 0)::int AS n FROM click_dims WHERE dim = 'country'`,
    );
    return { daily, ws, countryClicks: dims[0]!.n };
  }

  it('counts each event once and each visitor once per link and per workspace and day, with or without the known-visitor cache', async () => {
    const first = await db.transaction((tx) =>
      storeClicks(tx, [click('a1', 1, '11'), click('a2', 1, '11'), click('a3', 2, '11')]),
    );
    expect(first.stored).toBe(3);
    expect([...first.presentVisitors].sort()).toEqual(
      [
        `1|${new Date(AT).toISOString().slice(0, 10)}|11`,
        `2|${new Date(AT).toISOString().slice(0, 10)}|11`,
      ].sort(),
    );
    expect(await counts()).toEqual({
      daily: [
        { link_id: 1, clicks: 2, visitors: 1 },
        { link_id: 2, clicks: 1, visitors: 1 },
      ],
      ws: [{ workspace_id: 1, visitors: 1 }],
      countryClicks: 3,
    });

    // Redelivered: nothing new.
    const again = await db.transaction((tx) =>
      storeClicks(tx, [click('a1', 1, '11'), click('a3', 2, '11')]),
    );
    expect(again.stored).toBe(0);

    // The cache says link 1's visitor is stored: its insert is skipped and nothing changes
    // for it; link 3 is new to that visitor but the workspace already counted them; a new
    // visitor counts for link 1 and the workspace.
    const known = new Set(first.presentVisitors);
    const second = await db.transaction((tx) =>
      storeClicks(
        tx,
        [click('b1', 1, '11'), click('b2', 3, '11'), click('b3', 1, '-22'), click('a2', 1, '11')],
        { knownVisitors: known },
      ),
    );
    expect(second.stored).toBe(3);
    expect(await counts()).toEqual({
      daily: [
        { link_id: 1, clicks: 4, visitors: 2 },
        { link_id: 2, clicks: 1, visitors: 1 },
        { link_id: 3, clicks: 1, visitors: 1 },
      ],
      ws: [{ workspace_id: 1, visitors: 2 }],
      countryClicks: 6,
    });

    // Without the cache the same clicks give the same counts (the sets say the same).
    const third = await db.transaction((tx) =>
      storeClicks(tx, [click('c1', 1, '11'), click('c2', 3, '-22'), click('c3', 4, '33', 2)]),
    );
    expect(third.stored).toBe(3);
    expect(await counts()).toEqual({
      daily: [
        { link_id: 1, clicks: 5, visitors: 2 },
        { link_id: 2, clicks: 1, visitors: 1 },
        { link_id: 3, clicks: 2, visitors: 2 },
        { link_id: 4, clicks: 1, visitors: 1 },
      ],
      ws: [
        { workspace_id: 1, visitors: 2 },
        { workspace_id: 2, visitors: 1 },
      ],
      countryClicks: 9,
    });
  });
});
