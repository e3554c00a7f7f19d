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
});
