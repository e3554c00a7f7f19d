import type { Database } from '../infra/db/database.js';
import type { EventBus } from './event-bus.js';
import { claimPending, markFailed, pruneSetAside, removeDispatched } from './outbox.js';

export interface OutboxRelayOptions {
  /** Pause between polls when the outbox was empty. Default 200 ms. */
  readonly pollMs?: number;
  /**
   * Pause after a round that was not full, so that events written meanwhile go together in
   * the next one (fewer, larger rounds under a steady trickle of changes). Default 20 ms.
   */
  readonly lingerMs?: number;
  /** Events claimed per round (whole rows: a row of a bulk creation may hold more). Default 500. */
  readonly batchSize?: number;
  /** How long a claim holds before another relay may take the event. Default 30,000 ms. */
  readonly leaseMs?: number;
  /** Attempts before an event is set aside as dispatched with its last error. Default 10. */
  readonly maxAttempts?: number;
  /** Events set aside after `maxAttempts` are kept this long for operators. Default 7 days. */
  readonly retainMs?: number;
  readonly onError?: (err: unknown) => void;
  /** Called for an event that failed `maxAttempts` times and is set aside. */
  readonly onGiveUp?: (eventId: string, err: unknown) => void;
}

/**
 * Moves committed events from the outbox to the in-process bus: claim a batch (several
 * relays share the work), deliver it to the bus in order, delete what every handler took.
 * Delivery is at-least-once: a relay that dies after publishing and before deleting leaves the
 * claim to lapse, and the event is published again. A handler that fails makes the event's
 * row (the event, or the link.created events of one creation statement) retry with backoff;
 * after `maxAttempts` the row is set aside (kept with its error, `dispatched_at` set, for
 * `retainMs`).
 *
 * @example
 * const relay = new OutboxRelay(db, bus, { pollMs: 100 });
 * relay.start();
 * // …
 * await relay.close();
 */
export class OutboxRelay {
  readonly #o: Required<Omit<OutboxRelayOptions, 'onError' | 'onGiveUp'>>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #lastPrune = 0;

  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    private readonly options: OutboxRelayOptions = {},
  ) {
    this.#o = {
      pollMs: options.pollMs ?? 200,
      lingerMs: options.lingerMs ?? 20,
      batchSize: options.batchSize ?? 500,
      leaseMs: options.leaseMs ?? 30_000,
      maxAttempts: options.maxAttempts ?? 10,
      retainMs: options.retainMs ?? 7 * 86_400_000,
    };
  }

  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const tick = () => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.#running = this.drain()
        .catch((err: unknown) => {
          this.options.onError?.(err);
          return 0;
        })
        .then((n) => {
          this.#running = undefined;
          if (!this.#closed) {
            const pause = n >= this.#o.batchSize ? 0 : n > 0 ? this.#o.lingerMs : this.#o.pollMs;
            this.#timer = setTimeout(tick, pause);
            this.#timer.unref();
          }
        });
    };
    this.#timer = setTimeout(tick, 0);
    this.#timer.unref();
  }

  /** Relays one batch; returns how many events it handled. */
  async drain(): Promise<number> {
    const rows = await claimPending(this.db, this.#o.batchSize, this.#o.leaseMs);
    const failures = await this.bus.deliver(rows.flatMap((r) => r.events));
    const done: number[] = [];
    for (const row of rows) {
      // A row is retried whole: handlers take an event again at least once anyway.
      const errors = row.events.flatMap((e) => failures.get(e.id) ?? []);
      if (errors.length === 0) {
        done.push(row.id);
        continue;
      }
      const first = row.events[0]!;
      const err =
        errors.length === 1
          ? errors[0]
          : new AggregateError(errors, `${errors.length} handler(s) of ${first.type} failed`);
      const giveUp = row.attempts >= this.#o.maxAttempts;
      const backoff = Math.min(60_000, 100 * 2 ** Math.min(row.attempts, 10));
      await markFailed(this.db, row.id, errorText(err), backoff, giveUp);
      if (giveUp) for (const e of row.events) this.options.onGiveUp?.(e.id, err);
      else this.options.onError?.(err);
    }
    await removeDispatched(this.db, done);
    if (Date.now() - this.#lastPrune > 60_000) {
      this.#lastPrune = Date.now();
      await pruneSetAside(this.db, this.#o.retainMs);
    }
    return rows.reduce((n, r) => n + r.events.length, 0);
  }

  /** Stops polling and waits for the round under way. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError)
    return err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  return err instanceof Error ? err.message : String(err);
}
