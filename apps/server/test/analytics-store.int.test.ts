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

  it('counts each event once and each visitor once per link and per workspace and day', async () => {
    const first = await db.transaction((tx) =>
      storeClicks(tx, [click('a1', 1, '11'), click('a2', 1, '11'), click('a3', 2, '11')]),
    );
    expect(first.stored).toBe(3);
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

    // Link 1's visitor is not new for link 1; link 3 is new to that visitor but the workspace
    // already counted them; a new visitor counts for link 1 and the workspace; a1 is a
    // redelivery and b1 comes twice in the batch.
    const second = await db.transaction((tx) =>
      storeClicks(tx, [
        click('b1', 1, '11'),
        click('b2', 3, '11'),
        click('b3', 1, '-22'),
        click('a2', 1, '11'),
        click('b1', 1, '11'),
      ]),
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

  it('buckets by UTC hour and day whatever the session time zone, and keeps bots apart', async () => {
    // 23:30 UTC on the 2nd of the month is 05:00 on the 3rd in Kolkata (UTC+5:30): a day or an
    // hour truncated in the session time zone would land in another bucket.
    const late = Date.UTC(new Date(AT).getUTCFullYear(), new Date(AT).getUTCMonth(), 2, 23, 30);
    const at = (c: StoredClick, ms: number, isBot = false): StoredClick => ({
      ...c,
      clickedAt: ms,
      isBot,
      device: isBot ? 'bot' : c.device,
    });
    const stored = await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL TIME ZONE 'Asia/Kolkata'`);
      return storeClicks(tx, [
        at(click('d1', 9, '44'), late),
        at(click('d2', 9, '44'), late + 10 * 60_000),
        at(click('d3', 9, '55'), late + 20 * 60_000, true),
      ]);
    });
    expect(stored.stored).toBe(3);
    const hourly = await db.query<{ hour: string; is_bot: boolean; clicks: number }>(
      `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS hour, is_bot, clicks::int AS clicks
         FROM click_hourly WHERE link_id = 9 ORDER BY is_bot`,
    );
    const day = new Date(late).toISOString().slice(0, 10);
    expect(hourly).toEqual([
      { hour: `${day} 23:00`, is_bot: false, clicks: 2 },
      { hour: `${day} 23:00`, is_bot: true, clicks: 1 },
    ]);
    const daily = await db.query<{
      day: string;
      is_bot: boolean;
      clicks: number;
      visitors: number;
    }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, is_bot, clicks::int AS clicks, visitors::int AS visitors
         FROM click_daily WHERE link_id = 9 ORDER BY is_bot`,
    );
    expect(daily).toEqual([
      { day, is_bot: false, clicks: 2, visitors: 1 },
      { day, is_bot: true, clicks: 1, visitors: 1 },
    ]);
    const devices = await db.query<{ value: string; clicks: number }>(
      `SELECT value, clicks::int AS clicks FROM click_dims
        WHERE link_id = 9 AND dim = 'device' ORDER BY value`,
    );
    expect(devices).toEqual([
      { value: 'bot', clicks: 1 },
      { value: 'desktop', clicks: 2 },
    ]);
    const ws = await db.query<{ is_bot: boolean; visitors: number }>(
      `SELECT is_bot, visitors::int AS visitors FROM workspace_daily
        WHERE day = $1::date ORDER BY is_bot`,
      [day],
    );
    expect(ws).toEqual([
      { is_bot: false, visitors: 1 },
      { is_bot: true, visitors: 1 },
    ]);
    const raw = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clicks WHERE link_id = 9 AND clicked_at = $1::timestamptz`,
      [new Date(late).toISOString()],
    );
    expect(raw[0]!.n).toBe(1);
  });

  it('stores text values as sent, whatever characters they hold', async () => {
    const odd = ['say "hi"', 'back\\slash\\', '{a,b}', 'NULL', '', ' spaced ', 'ünïcødé ✓', 'a,b'];
    const batch = odd.map((v, i): StoredClick => ({
      ...click(`e${i}`, 20 + i, String(100 + i)),
      code: v,
      referrer: v,
      referrerHost: v,
      browser: v,
    }));
    batch.push({ ...click('e-null', 30, '200'), referrer: null });
    const r = await db.transaction((tx) => storeClicks(tx, batch));
    expect(r.stored).toBe(odd.length + 1);
    const rows = await db.query<{ event_id: string; code: string; referrer: string | null }>(
      `SELECT event_id, code, referrer FROM clicks WHERE event_id LIKE 'e%' ORDER BY event_id`,
    );
    expect(rows).toEqual(
      [
        ...odd.map((v, i) => ({ event_id: `e${i}`, code: v, referrer: v })),
        { event_id: 'e-null', code: 'l30', referrer: null },
      ].sort((a, b) => (a.event_id < b.event_id ? -1 : 1)),
    );
    const browsers = await db.query<{ value: string }>(
      `SELECT value FROM click_dims WHERE dim = 'browser' AND link_id BETWEEN 20 AND 27 ORDER BY link_id`,
    );
    expect(browsers.map((b) => b.value)).toEqual(odd);
  });
});
