import type { DomainEvent, DomainEventType } from './domain-events.js';

export type EventHandler<K extends DomainEventType> = (
  event: DomainEvent<K>,
) => void | Promise<void>;

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

  /** Whether anything listens to `type` (lets producers skip building events nobody reads). */
  has(type: DomainEventType): boolean {
    return (this.#handlers.get(type)?.size ?? 0) > 0;
  }

  /** Delivers to every handler and waits for them; rejects with an AggregateError if any failed. */
  async publish<K extends DomainEventType>(event: DomainEvent<K>): Promise<void> {
    const set = this.#handlers.get(event.type);
    if (set === undefined || set.size === 0) return;
    const results = await Promise.allSettled(
      [...set].map(async (h) => (h as unknown as EventHandler<K>)(event)),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0)
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
