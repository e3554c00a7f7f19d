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
      // Every dispatched event is marked so, nothing left pending.
      const pending = await svc.built.runtime.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM event_outbox WHERE dispatched_at IS NULL`,
      );
      expect(pending[0]!.n).toBe(0);
    });

    it('writes no event for a change that is refused or rolled back', async () => {
      const before = await svc.built.runtime.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM event_outbox`,
      );
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
      const after = await svc.built.runtime.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM event_outbox`,
      );
      expect(after[0]!.n).toBe(before[0]!.n);
    });

    it('retries an event whose handler failed until it succeeds, then marks it dispatched', async () => {
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
        // The relay marks the event after every handler of it has finished, not just this one.
        const query = () =>
          svc.built.runtime.db.query<{ attempts: number; dispatched: boolean }>(
            `SELECT attempts, dispatched_at IS NOT NULL AS dispatched FROM event_outbox
            WHERE event_id = $1`,
            [delivered[0]],
          );
        let [row] = await query();
        for (let i = 0; i < 100 && row?.dispatched !== true; i++) {
          await new Promise((r) => setTimeout(r, 20));
          [row] = await query();
        }
        expect(row).toEqual({ attempts: 3, dispatched: true });
      } finally {
        off();
      }
    });
  },
);
