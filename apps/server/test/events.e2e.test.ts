import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/events/domain-events.js';
import { appendToOutbox, domainEvent } from '../src/events/outbox.js';
import { auth, availableModes, startService, type TestService } from './helpers.js';

async function until<T>(fn: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `read` until `done` holds (or 5 s pass) and returns the last value read. */
async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const end = Date.now() + 5_000;
  let v = await read();
  while (!done(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    v = await read();
  }
  return v;
}

describe.each(availableModes())(
  'domain events through the transactional outbox (%s mode)',
  (mode) => {
    let svc: TestService;
    const seen: DomainEvent[] = [];

    beforeAll(async () => {
      svc = await startService(mode);
      const bus = svc.built.analytics.bus;
      for (const type of ['link.created', 'link.updated', 'link.deleted'] as const) {
        bus.on(type, (e) => {
          seen.push(e);
        });
      }
    });
    afterAll(async () => {
      await svc?.close();
    });

    const outboxRows = () =>
      svc.built.runtime.db
        .query<{ n: number }>(`SELECT count(*)::int AS n FROM event_outbox`)
        .then((r) => r[0]!.n);

    const inject: TestService['built']['app']['inject'] = ((
      ...args: Parameters<TestService['built']['app']['inject']>
    ) => svc.built.app.inject(...args)) as never;

    it('delivers link.created, link.updated and link.deleted for changes made through the API', async () => {
      const created = await inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: 'https://example.com/events', alias: `ev-${mode}` },
      });
      expect(created.statusCode).toBe(201);
      await inject({
        method: 'PATCH',
        url: `/api/v1/links/ev-${mode}`,
        headers: auth(),
        payload: { title: 'Renamed' },
      });
      await inject({ method: 'DELETE', url: `/api/v1/links/ev-${mode}`, headers: auth() });

      const mine = await until(() => {
        const e = seen.filter(
          (x) => (x.data as { link: { code: string } }).link.code === `ev-${mode}`,
        );
        return e.length >= 3 ? e : undefined;
      });
      expect(mine.map((e) => e.type)).toEqual(['link.created', 'link.updated', 'link.deleted']);
      expect(mine[0]!.data).toMatchObject({
        link: { url: 'https://example.com/events', isAlias: true },
      });
      expect(mine[1]!.data).toMatchObject({ link: { title: 'Renamed' }, changed: ['title'] });
      expect(new Set(mine.map((e) => e.id)).size).toBe(3);
      // Every event every handler took is deleted: nothing is left in the outbox.
      expect(await eventually(outboxRows, (n) => n === 0)).toBe(0);
    });

    it('writes no event for a change that is refused or rolled back', async () => {
      const from = seen.length;
      const taken = await inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: 'https://example.com/x', alias: `ev-${mode}` },
      });
      expect(taken.statusCode).toBe(409);
      const missing = await inject({
        method: 'PATCH',
        url: '/api/v1/links/not-a-link',
        headers: auth(),
        payload: { title: 'x' },
      });
      expect(missing.statusCode).toBe(404);
      await expect(
        svc.built.runtime.db.transaction(async (tx) => {
          await appendToOutbox(tx, [
            domainEvent('link.deleted', {
              link: {
                id: 1,
                workspaceId: 1,
                code: 'ghost',
                url: 'https://example.com',
                isAlias: false,
                redirectType: 302,
                title: null,
                tags: [],
                expiresAt: null,
                maxClicks: null,
              },
            }),
          ]);
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      // A change committed afterwards: the relay goes in outbox order, so once its event is
      // delivered, any event committed before it would have been delivered too.
      const sentinel = await inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: { url: 'https://example.com/after', alias: `ev-after-${mode}` },
      });
      expect(sentinel.statusCode).toBe(201);
      await until(() =>
        seen.some((e) => (e.data as { link: { code: string } }).link.code === `ev-after-${mode}`)
          ? true
          : undefined,
      );
      const codes = seen
        .slice(from)
        .map((e) => `${e.type} ${(e.data as { link: { code: string } }).link.code}`);
      expect(codes).toEqual([`link.created ev-after-${mode}`]);
      const ghost = await svc.built.runtime.db.query(
        `SELECT 1 FROM event_outbox WHERE payload->'link'->>'code' = 'ghost'`,
      );
      expect(ghost).toHaveLength(0);
    });

    it('link.created carries every field of the link as stored', async () => {
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: auth(),
        payload: {
          url: 'https://example.com/full?x=1#f',
          alias: `ev-full-${mode}`,
          title: 'Full "quoted" title',
          tags: ['a', 'b c'],
          expiresAt,
          maxClicks: 7,
          redirectType: 308,
        },
      });
      expect(res.statusCode).toBe(201);
      const [link] = await svc.built.runtime.db.query<{ id: number }>(
        `SELECT id FROM links WHERE code = $1`,
        [`ev-full-${mode}`],
      );
      const event = await until(() =>
        seen.find(
          (e) =>
            e.type === 'link.created' &&
            (e.data as { link: { code: string } }).link.code === `ev-full-${mode}`,
        ),
      );
      expect(event.data).toEqual({
        link: {
          id: Number(link!.id),
          workspaceId: 1,
          code: `ev-full-${mode}`,
          url: 'https://example.com/full?x=1#f',
          isAlias: true,
          redirectType: 308,
          title: 'Full "quoted" title',
          tags: ['a', 'b c'],
          expiresAt,
          maxClicks: 7,
        },
      });
      expect(event.id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    });

    it('retries an event whose handler failed until it succeeds, then deletes it', async () => {
      let failures = 0;
      const delivered: string[] = [];
      const off = svc.built.analytics.bus.on('link.created', (e) => {
        if (e.data.link.code !== `retry-${mode}`) return;
        if (failures < 2) {
          failures++;
          throw new Error('subscriber down');
        }
        delivered.push(e.id);
      });
      try {
        await inject({
          method: 'POST',
          url: '/api/v1/links',
          headers: auth(),
          payload: { url: 'https://example.com/r', alias: `retry-${mode}` },
        });
        await until(() => (delivered.length > 0 ? true : undefined), 15_000);
        expect(failures).toBe(2);
        // Once every handler of it has finished, the relay deletes the event.
        const rows = () =>
          svc.built.runtime.db
            .query(
              `SELECT 1 FROM event_outbox
                WHERE event_id = $1
                   OR (batch AND payload::jsonb @> jsonb_build_array(jsonb_build_object('eventId', $1::text)))`,
              [delivered[0]],
            )
            .then((r) => r.length);
        expect(await eventually(rows, (n) => n === 0)).toBe(0);
        expect(delivered).toHaveLength(1);
      } finally {
        off();
      }
    });
  },
);
