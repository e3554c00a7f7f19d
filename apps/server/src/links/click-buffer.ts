import type { Database } from '../infra/db/database.js';
import { addClicks } from './link-repo.js';

/** One counted visit of a short link. */
export interface ClickEvent {
  readonly linkId: number;
  readonly code: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly ip: string;
  readonly userAgent: string | undefined;
  readonly referrer: string | undefined;
  /** Set when the click has a natural identity (an edge log line), so re-reading it dedupes. */
  readonly eventId?: string;
}

/** Where counted clicks go. The redirect calls `record` and never waits on storage. */
export interface ClickSink {
  record(click: ClickEvent): void;
}

export interface ClickBufferOptions {
  readonly flushMs: number;
  readonly onError?: (err: unknown) => void;
  readonly onFlush?: (links: number, clicks: number) => void;
}

/**
 * Counts clicks in memory and adds them to `links.clicks` in one statement per interval, so the
 * redirect never waits on a database write. A failed flush keeps its counts for the next one;
 * `close()` flushes what is left, so a graceful shutdown loses nothing.
 */
export class ClickBuffer implements ClickSink {
  #pending = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: ClickBufferOptions,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => {
      this.flush().catch((err: unknown) => this.options.onError?.(err));
    }, this.options.flushMs);
    this.#timer.unref();
  }

  record(click: ClickEvent): void {
    this.#pending.set(click.linkId, (this.#pending.get(click.linkId) ?? 0) + 1);
  }

  /** Clicks recorded but not yet written. */
  get pending(): number {
    let n = 0;
    for (const v of this.#pending.values()) n += v;
    return n;
  }

  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = (async () => {
      try {
        await addClicks(this.db, [...batch.keys()], [...batch.values()]);
        this.options.onFlush?.(
          batch.size,
          [...batch.values()].reduce((a, b) => a + b, 0),
        );
      } catch (err) {
        for (const [id, n] of batch) this.#pending.set(id, (this.#pending.get(id) ?? 0) + n);
        throw err;
      } finally {
        this.#flushing = undefined;
      }
    })();
    await this.#flushing;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt < 5 && this.#pending.size > 0; attempt++) {
      try {
        await this.flush();
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
    if (this.#pending.size > 0) {
      throw new Error(`${this.pending} clicks could not be written at shutdown`, {
        cause: lastError,
      });
    }
  }
}
