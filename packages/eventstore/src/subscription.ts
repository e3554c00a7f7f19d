import { EventStoreError, EventStoreValidationError } from './errors.js';
import { rowsOf } from './executor.js';
import type { EventStore } from './event-store.js';
import { filterTypes } from './event-store.js';
import { comparePositions, parsePosition, START } from './position.js';
import type { Projection } from './types.js';

export interface SubscribeOptions {
  /** Events per batch (one transaction each); default 500, at most 10 000. */
  readonly batchSize?: number;
  /** Wait between polls once caught up, in ms; default 250. */
  readonly pollIntervalMs?: number;
  /**
   * Where a subscription without a stored checkpoint begins: `'start'` (replay everything,
   * the default) or `'end'` (only events after the first poll).
   */
  readonly from?: 'start' | 'end';
  /** First retry delay after a failed batch, doubled per failure up to 30 s; default 500 ms. */
  readonly retryDelayMs?: number;
  /**
   * Called with every failed batch (the batch is retried). Default: writes the subscription
   * name and error message to stderr.
   */
  readonly onError?: (error: unknown, subscription: string) => void;
  /** Begin polling at once; default `true`. With `false`, drive it with `catchUp()`. */
  readonly autoStart?: boolean;
}

/** Result of one batch. */
interface BatchResult {
  /** Checkpoint after the batch (unset when the batch did not run). */
  position?: string;
  processed: number;
  caughtUp: boolean;
  /** Another process holds this subscription right now. */
  busy: boolean;
}

const MAX_RETRY_MS = 30_000;
const PENDING_POLL_MS = 20;

/**
 * A running asynchronous projection. Each batch runs in one transaction that takes a
 * transaction-scoped advisory lock on the subscription name (so two processes never run the
 * same subscription at once), reads the next events after the stored checkpoint, hands them
 * to the projection and stores the new checkpoint. A failure rolls the batch back and it is
 * retried, so delivery is at least once; writes made through `tx` are exactly once.
 */
export class Subscription {
  readonly name: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly from: 'start' | 'end';
  private readonly onError: (error: unknown, subscription: string) => void;
  private stopped = true;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private poked = false;
  /** Latest position the store told us about that this subscription has not passed yet. */
  private pending: string | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private failures = 0;

  constructor(
    private readonly store: EventStore,
    private readonly projection: Projection,
    options: SubscribeOptions,
  ) {
    this.name = projection.name;
    this.batchSize = positiveInt(options.batchSize ?? 500, 'batchSize', 10_000);
    this.pollIntervalMs = positiveInt(options.pollIntervalMs ?? 250, 'pollIntervalMs', 3_600_000);
    this.retryDelayMs = positiveInt(options.retryDelayMs ?? 500, 'retryDelayMs', MAX_RETRY_MS);
    if (options.from !== undefined && options.from !== 'start' && options.from !== 'end') {
      throw new EventStoreValidationError(
        `from must be "start" or "end", got ${String(options.from)}`,
      );
    }
    this.from = options.from ?? 'start';
    this.onError =
      options.onError ??
      ((error, name) => {
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(`[eventstore] subscription "${name}" batch failed: ${message}\n`);
      });
    if (options.autoStart ?? true) this.start();
  }

  /** Starts polling (no-op when already running). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.store.attach(this);
    this.loopDone = this.loop();
  }

  /** Stops polling and waits for the batch in flight to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.store.detach(this);
    this.wakeUp?.();
    await this.loopDone;
    await this.chain.catch(() => undefined);
  }

  /**
   * Polls now instead of waiting for the interval. The store pokes its running subscriptions
   * after each append it commits itself; a failed batch still waits out its retry delay.
   */
  poke(position?: string): void {
    if (position !== undefined) {
      parsePosition(position);
      if (this.pending === undefined || comparePositions(position, this.pending) > 0) {
        this.pending = position;
      }
    }
    if (this.failures > 0) return;
    this.poked = true;
    this.wakeUp?.();
  }

  /**
   * Processes batches until the projection has seen every event below the horizon — or, with
   * `until`, every event up to and including that position (waiting for the horizon to pass
   * it). Returns the number of events read. Errors propagate (the failed batch is rolled back).
   *
   * @example
   * const { events } = await store.append('a', [{ type: 'x', data: 1 }]);
   * await subscription.catchUp({ until: events[0]!.position });
   */
  async catchUp(options: { until?: string; timeoutMs?: number } = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    if (options.until !== undefined) parsePosition(options.until);
    let total = 0;
    for (;;) {
      const r = await this.runBatch();
      total += r.processed;
      if (r.caughtUp && !r.busy) {
        if (options.until === undefined) return total;
        const at = (await this.checkpoint()) ?? START;
        if (comparePositions(at, options.until) >= 0) return total;
      }
      if (r.caughtUp || r.busy) {
        if (Date.now() > deadline) {
          throw new EventStoreError(
            r.busy ? 'SUBSCRIPTION_BUSY' : 'HORIZON_TIMEOUT',
            r.busy
              ? `subscription "${this.name}" is held by another process`
              : `subscription "${this.name}" did not reach ${options.until} in ${timeoutMs} ms: ` +
                  'the position is not readable yet (an older transaction is still open) ' +
                  'or no event has it',
          );
        }
        await delay(Math.min(this.pollIntervalMs, 20));
      }
    }
  }

  /** The stored checkpoint, or `undefined` before the first batch. */
  checkpoint(): Promise<string | undefined> {
    return this.store.getCheckpoint(this.name);
  }

  private runBatch(): Promise<BatchResult> {
    // One batch at a time per instance: the poll loop and catchUp() share this chain.
    const next = this.chain.then(() => this.batch());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async batch(): Promise<BatchResult> {
    const { store } = this;
    return store.db.transaction(async (tx) => {
      // Advisory locks take no transaction id, so waiting here does not hold the horizon back.
      const lock = await rowsOf<{ locked: boolean }>(
        tx,
        'SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS locked',
        [`linkforge-eventstore:${store.schema}`, this.name],
      );
      if (!lock[0]?.locked) return { processed: 0, caughtUp: true, busy: true };
      let after = await store.getCheckpoint(this.name, { tx });
      if (after === undefined && this.from === 'end') {
        // Pin "the end" now, so events appended after this first poll are all delivered.
        after = await store.headPosition({ tx });
        await store.setCheckpoint(this.name, after, { tx });
      }
      after ??= START;
      const page = await store.readAll({ after, limit: this.batchSize, tx });
      const relevant = filterTypes(this.projection, page.events);
      if (relevant.length > 0) await this.projection.handle(relevant, tx);
      if (page.events.length > 0) await store.setCheckpoint(this.name, page.position, { tx });
      return {
        processed: page.events.length,
        caughtUp: page.caughtUp,
        busy: false,
        position: page.position,
      };
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let wait = this.pollIntervalMs;
      this.poked = false;
      try {
        const r = await this.runBatch();
        this.failures = 0;
        if (!r.caughtUp && !r.busy) wait = 0;
        if (
          r.busy ||
          (r.position && this.pending && comparePositions(r.position, this.pending) >= 0)
        ) {
          this.pending = undefined;
        }
        // An append we were told about is not readable yet (an older transaction is still
        // open): look again soon rather than after a whole poll interval.
        if (this.pending) wait = Math.min(wait, PENDING_POLL_MS);
      } catch (err) {
        this.failures += 1;
        wait = Math.min(this.retryDelayMs * 2 ** (this.failures - 1), MAX_RETRY_MS);
        try {
          this.onError(err, this.name);
        } catch {
          // A throwing error callback must not kill the loop.
        }
      }
      if (wait > 0 && !this.stopped && !(this.poked && this.failures === 0)) {
        await this.sleep(wait);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

function positiveInt(value: number, name: string, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new EventStoreValidationError(
      `${name} must be an integer from 1 to ${max}, got ${value}`,
    );
  }
  return value;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
