import { randomUUID } from 'node:crypto';
import type { OutgoingMessage, StreamProducer } from '@linkforge/stream';
import type { LinkClicked } from '../events/domain-events.js';
import { toClickMessage, type ClickMessage } from './click-message.js';

export interface ClickPublisherOptions {
  /** Events per stream write. Default 500. */
  readonly batchSize?: number;
  /** Longest an event waits for its batch to fill. Default 20 ms. */
  readonly lingerMs?: number;
  /** Stream writes under way at once. Default 4. */
  readonly maxInFlight?: number;
  /**
   * Most events held while the stream is slow or down; past it the oldest are dropped (and
   * counted) so that memory stays bounded and redirects never wait. Default 200,000.
   */
  readonly maxBuffered?: number;
  readonly onError?: (err: unknown) => void;
  readonly onDrop?: (n: number) => void;
  readonly onPublished?: (n: number) => void;
}

/**
 * Batches click events and writes them to the stream without ever making the redirect wait:
 * `push` only appends to an array. A failed write keeps its events for the next attempt
 * (with backoff); `close()` writes what is left.
 *
 * @example
 * const publisher = new ClickPublisher(await stream.createProducer());
 * bus.on('link.clicked', (e) => publisher.push(e.id, e.data));
 */
export class ClickPublisher {
  readonly #o: Required<Omit<ClickPublisherOptions, 'onError' | 'onDrop' | 'onPublished'>>;
  #buffer: OutgoingMessage<ClickMessage>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  #failures = 0;
  #closed = false;
  #published = 0;

  constructor(
    private readonly producer: StreamProducer<ClickMessage>,
    private readonly options: ClickPublisherOptions = {},
  ) {
    this.#o = {
      batchSize: options.batchSize ?? 500,
      lingerMs: options.lingerMs ?? 20,
      maxInFlight: options.maxInFlight ?? 4,
      maxBuffered: options.maxBuffered ?? 200_000,
    };
  }

  /** Events written to the stream so far. */
  get published(): number {
    return this.#published;
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.#buffer.length;
  }

  /** Queues one click under its event id. Synchronous and cheap: the redirect calls it. */
  push(eventId: string, click: LinkClicked): void {
    if (this.#closed) return;
    this.#buffer.push({ id: eventId, key: String(click.linkId), payload: toClickMessage(click) });
    if (this.#buffer.length > this.#o.maxBuffered) {
      const drop = this.#buffer.length - this.#o.maxBuffered;
      this.#buffer.splice(0, drop);
      this.options.onDrop?.(drop);
    }
    if (this.#buffer.length >= this.#o.batchSize) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#o.lingerMs);
  }

  #kick(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#buffer.length > 0 && this.#inFlight.size < this.#o.maxInFlight) {
      const batch = this.#buffer.splice(0, this.#o.batchSize);
      const p: Promise<void> = this.producer.publishBatch(batch).then(
        () => {
          this.#failures = 0;
          this.#published += batch.length;
          this.options.onPublished?.(batch.length);
        },
        (err: unknown) => {
          // Back to the front, in order: a retried batch may store some events twice, which
          // the workers' event-id deduplication absorbs.
          this.#buffer.unshift(...batch);
          this.#failures++;
          this.options.onError?.(err);
        },
      );
      this.#inFlight.add(p);
      void p.finally(() => {
        this.#inFlight.delete(p);
        if (this.#buffer.length === 0 || this.#closed) return;
        if (this.#failures > 0) {
          const delay = Math.min(5_000, 50 * 2 ** Math.min(this.#failures, 7));
          this.#timer ??= setTimeout(() => this.#kick(), delay);
        } else if (this.#buffer.length >= this.#o.batchSize) this.#kick();
        else this.#timer ??= setTimeout(() => this.#kick(), this.#o.lingerMs);
      });
    }
  }

  /** Writes everything queued so far; rejects if the stream keeps failing. */
  async flush(): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      this.#kick();
      while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
      if (this.#buffer.length === 0) return;
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
    throw new Error(`${this.#buffer.length} click events could not be written to the stream`);
  }

  /** Flushes, then closes the producer. Events pushed after close are ignored. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.producer.close();
    }
  }
}

/** A fresh event id for a click. */
export const newClickId = (): string => randomUUID();
