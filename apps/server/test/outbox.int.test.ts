import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/events/domain-events.js';
import { EventBus } from '../src/events/event-bus.js';
import { linkSnapshot } from '../src/events/link-events.js';
import { appendToOutbox, claimPending, countPending, domainEvent } from '../src/events/outbox.js';
import { OutboxRelay } from '../src/events/outbox-relay.js';
import type { Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrate.js';
import { insertLinks, type NewLinkRow } from '../src/links/link-repo.js';
import { databaseSetups } from './database-setups.js';

let nextId = 1;
const row = (code: string, extra: Partial<NewLinkRow> = {}): NewLinkRow => ({
  id: nextId++,
  workspaceId: 1,
  code,
  isAlias: false,
  url: `https://example.com/${code}`,
  redirectType: 302,
  title: null,
  tags: [],
  expiresAt: null,
  maxClicks: null,
  ...extra,
});

const codesOf = (events: readonly DomainEvent[]) =>
  events.map((e) => `${e.type} ${(e.data as { link: { code: string } }).link.code}`);

describe.each(databaseSetups(4))('transactional outbox ($name)', (setup) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db, cleanup } = await setup.open());
    await migrate(db);
  });
  afterAll(async () => cleanup?.());

  it('stores the link.created events of one creation as one row and claims whole rows up to the limit', async () => {
    const expiresAt = new Date('2031-02-03T04:05:06.789Z');
    const first = await insertLinks(db, [
      row('ob-a', { title: 'A "quoted" title', tags: ['x', 'y z'], expiresAt, maxClicks: 3 }),
      row('ob-b', { isAlias: true, redirectType: 308 }),
      row('ob-c'),
    ]);
    expect(first.map((l) => l.code)).toEqual(['ob-a', 'ob-b', 'ob-c']);
    await db.transaction((tx) =>
      appendToOutbox(tx, [domainEvent('link.deleted', { link: linkSnapshot(first[2]!) })]),
    );
    // One code is taken: only the other link is created, and only its event is written.
    const second = await insertLinks(db, [row('ob-a'), row('ob-d')]);
    expect(second.map((l) => l.code)).toEqual(['ob-d']);
    expect(await countPending(db)).toBe(5);
    const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_outbox`);
    expect(rows[0]!.n).toBe(3);

    // Two events asked: the first row holds three, and is claimed whole.
    const round1 = await claimPending(db, 2, 30_000);
    expect(round1).toHaveLength(1);
    const events = round1[0]!.events;
    expect(codesOf(events)).toEqual([
      'link.created ob-a',
      'link.created ob-b',
      'link.created ob-c',
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    expect(events[0]!.data).toEqual({
      link: {
        id: first[0]!.id,
        workspaceId: 1,
        code: 'ob-a',
        url: 'https://example.com/ob-a',
        isAlias: false,
        redirectType: 302,
        title: 'A "quoted" title',
        tags: ['x', 'y z'],
        expiresAt: '2031-02-03T04:05:06.789Z',
        maxClicks: 3,
      },
    });
    expect(events[0]!.occurredAt).toBe(first[0]!.createdAt.toISOString());

    // The next rows in order; claimed rows are not handed out again while their lease holds.
    const round2 = await claimPending(db, 2, 30_000);
    expect(codesOf(round2.flatMap((r) => r.events))).toEqual([
      'link.deleted ob-c',
      'link.created ob-d',
    ]);
    expect(await claimPending(db, 100, 30_000)).toEqual([]);
    await db.exec('DELETE FROM event_outbox');
  });

  it('retries a row whose handler failed for one of its events, with the same event ids', async () => {
    const bus = new EventBus();
    const seen: DomainEvent[] = [];
    let failOnce = true;
    bus.on('link.created', (e) => {
      seen.push(e);
      if (e.data.link.code === 'rt-b' && failOnce) {
        failOnce = false;
        throw new Error('subscriber down');
      }
    });
    const errors: unknown[] = [];
    const relay = new OutboxRelay(db, bus, { leaseMs: 60_000, onError: (e) => errors.push(e) });
    await insertLinks(db, [row('rt-a'), row('rt-b')]);
    expect(await relay.drain()).toBe(2);
    expect(errors).toHaveLength(1);
    expect(await countPending(db)).toBe(2);
    // Released for a retry after a backoff of 200 ms.
    await new Promise((r) => setTimeout(r, 250));
    expect(await relay.drain()).toBe(2);
    expect(await countPending(db)).toBe(0);
    expect(codesOf(seen)).toEqual([
      'link.created rt-a',
      'link.created rt-b',
      'link.created rt-a',
      'link.created rt-b',
    ]);
    expect(seen.slice(2).map((e) => e.id)).toEqual(seen.slice(0, 2).map((e) => e.id));
    const left = await db.query(`SELECT 1 FROM event_outbox`);
    expect(left).toHaveLength(0);
  });
});
