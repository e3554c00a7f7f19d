import { describe, expect, it } from 'vitest';
import { EventBus } from '../src/events/event-bus.js';
import { domainEvent } from '../src/events/outbox.js';

const click = (linkId: number) =>
  domainEvent('link.clicked', {
    linkId,
    code: 'abc',
    at: Date.now(),
    ip: '127.0.0.1',
    userAgent: undefined,
    referrer: undefined,
  });

describe('EventBus', () => {
  it('delivers an event only to the handlers of its type, until they unsubscribe', async () => {
    const bus = new EventBus();
    const got: number[] = [];
    const off = bus.on('link.clicked', (e) => {
      got.push(e.data.linkId);
    });
    bus.on('link.deleted', () => {
      got.push(-1);
    });
    await bus.publish(click(1));
    bus.emit(click(2));
    off();
    await bus.publish(click(3));
    expect(got).toEqual([1, 2]);
    expect(bus.has('link.clicked')).toBe(false);
  });

  it('publish waits for async handlers and rejects with every failure, after running all of them', async () => {
    const bus = new EventBus();
    let ran = 0;
    bus.on('link.clicked', async () => {
      await new Promise((r) => setTimeout(r, 5));
      ran++;
    });
    bus.on('link.clicked', () => {
      throw new Error('one');
    });
    bus.on('link.clicked', async () => Promise.reject(new Error('two')));
    const err = await bus.publish(click(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors.map((e: Error) => e.message)).toEqual(['one', 'two']);
    expect(ran).toBe(1);
  });

  it('emit never throws to the caller: sync and async handler errors go to onError', async () => {
    const errors: string[] = [];
    const bus = new EventBus({ onError: (e) => errors.push((e as Error).message) });
    bus.on('link.clicked', () => {
      throw new Error('sync');
    });
    bus.on('link.clicked', async () => Promise.reject(new Error('async')));
    expect(() => bus.emit(click(1))).not.toThrow();
    await new Promise((r) => setTimeout(r, 0));
    expect(errors.sort()).toEqual(['async', 'sync']);
  });

  it('deliver hands a batch handler its types in order, once, and fails only its share', async () => {
    const bus = new EventBus();
    const batches: number[][] = [];
    bus.onBatch(['link.clicked'], async (events) => {
      batches.push(events.map((e) => e.data.linkId));
      if (events.some((e) => e.data.linkId === 3)) throw new Error('batch down');
    });
    const deleted: string[] = [];
    bus.on('link.deleted', (e) => {
      deleted.push(e.id);
    });
    const gone = domainEvent('link.deleted', {
      link: {
        id: 9,
        workspaceId: 1,
        code: 'gone',
        url: 'https://x.example/',
        isAlias: false,
        redirectType: 302,
        title: null,
        tags: [],
        expiresAt: null,
        maxClicks: null,
      },
    });
    const ok = await bus.deliver([click(1), gone, click(2)]);
    expect(ok.size).toBe(0);
    expect(batches).toEqual([[1, 2]]);
    expect(deleted).toEqual([gone.id]);
    const events = [click(3), click(4), gone];
    const failed = await bus.deliver(events);
    expect([...failed.keys()].sort()).toEqual([events[0]!.id, events[1]!.id].sort());
    expect(bus.has('link.clicked')).toBe(true);
    // publish is a batch of one, and rejects when the batch handler fails.
    await expect(bus.publish(click(3))).rejects.toBeInstanceOf(AggregateError);
    expect(batches.at(-1)).toEqual([3]);
  });
});
