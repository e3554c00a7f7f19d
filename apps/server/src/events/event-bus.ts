import type { DomainEvent, DomainEventType } from './domain-events.js';

export type EventHandler<K extends DomainEventType> = (
  event: DomainEvent<K>,
) => void | Promise<void>;

/** Receives every event of a relay round of the types it subscribed to, in commit order. */
export type BatchHandler<K extends DomainEventType> = (
  events: readonly DomainEvent<K>[],
) => Promise<void>;

export interface EventBusOptions {
  /** Receives errors of handlers called through {@link EventBus.emit} (fire-and-forget). */
  readonly onError?: (error: unknown, event: DomainEvent) => void;
}

/**
 * Typed in-process event bus: features subscribe to the events they care about and never
 * call each other (the seed's loose coupling). Two ways to deliver:
 * - {@link publish} awaits every handler and rejects if any failed (the outbox relay uses it,
 *   so a failed handler leaves the event pending and it is delivered again);
 * - {@link emit} is synchronous fire-and-forget for hot paths (a click): errors go to
 *   `onError`, nothing is awaited.
 *
 * @example
 * const bus = new EventBus();
 * const off = bus.on('link.created', (e) => console.log(e.data.link.code));
 * await bus.publish({ id: randomUUID(), type: 'link.created', occurredAt: new Date().toISOString(), data });
 * off();
 */
export class EventBus {
  readonly #handlers = new Map<DomainEventType, Set<EventHandler<never>>>();
  readonly #batchHandlers = new Set<{
    types: ReadonlySet<DomainEventType>;
    handler: BatchHandler<never>;
  }>();

  constructor(private readonly options: EventBusOptions = {}) {}

  /** Subscribes `handler` to events of `type`; returns the function that unsubscribes it. */
  on<K extends DomainEventType>(type: K, handler: EventHandler<K>): () => void {
    let set = this.#handlers.get(type);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(type, set);
    }
    const h = handler as unknown as EventHandler<never>;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }

  /**
   * Subscribes a handler that takes events in batches (one set-based write for many events):
   * {@link deliver} hands it all events of `types` in a round at once, in order;
   * {@link publish} a batch of one. Returns the function that unsubscribes it.
   */
  onBatch<K extends DomainEventType>(types: readonly K[], handler: BatchHandler<K>): () => void {
    const entry = {
      types: new Set<DomainEventType>(types),
      handler: handler as BatchHandler<never>,
    };
    this.#batchHandlers.add(entry);
    return () => {
      this.#batchHandlers.delete(entry);
    };
  }

  /** Whether anything listens to `type` (lets producers skip building events nobody reads). */
  has(type: DomainEventType): boolean {
    if ((this.#handlers.get(type)?.size ?? 0) > 0) return true;
    for (const b of this.#batchHandlers) if (b.types.has(type)) return true;
    return false;
  }

  /**
   * Delivers a batch of events, in order, to every handler and waits for them. Returns the
   * failures by event id: an event is failed when any handler of it failed (for a batch
   * handler, every event of its share of the batch).
   */
  async deliver(events: readonly DomainEvent[]): Promise<Map<string, unknown[]>> {
    const failed = new Map<string, unknown[]>();
    const fail = (event: DomainEvent, err: unknown) => {
      const list = failed.get(event.id);
      if (list === undefined) failed.set(event.id, [err]);
      else list.push(err);
    };
    await Promise.all(
      [...this.#batchHandlers].map(async ({ types, handler }) => {
        const share = events.filter((e) => types.has(e.type));
        if (share.length === 0) return;
        try {
          await (handler as BatchHandler<DomainEventType>)(share);
        } catch (err) {
          for (const e of share) fail(e, err);
        }
      }),
    );
    for (const event of events) {
      const set = this.#handlers.get(event.type);
      if (set === undefined || set.size === 0) continue;
      const results = await Promise.allSettled(
        [...set].map(async (h) => (h as unknown as EventHandler<DomainEventType>)(event)),
      );
      for (const r of results) if (r.status === 'rejected') fail(event, r.reason);
    }
    return failed;
  }

  /** Delivers to every handler and waits for them; rejects with an AggregateError if any failed. */
  async publish<K extends DomainEventType>(event: DomainEvent<K>): Promise<void> {
    const errors = (await this.deliver([event])).get(event.id);
    if (errors !== undefined)
      throw new AggregateError(errors, `${errors.length} handler(s) of ${event.type} failed`);
  }

  /** Delivers without waiting: for hot paths. Handler errors go to `onError`. */
  emit<K extends DomainEventType>(event: DomainEvent<K>): void {
    const set = this.#handlers.get(event.type);
    if (set === undefined) return;
    for (const h of set) {
      try {
        const r = (h as unknown as EventHandler<K>)(event);
        if (r instanceof Promise) r.catch((err: unknown) => this.#fail(err, event));
      } catch (err) {
        this.#fail(err, event);
      }
    }
  }

  #fail(error: unknown, event: DomainEvent): void {
    this.options.onError?.(error, event);
  }
}
