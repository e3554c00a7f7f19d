import type { PurgeRequest, Purger } from './purger.js';

export interface PurgeQueueOptions {
  /** How long requests gather before a batch is sent. */
  readonly batchDelayMs?: number;
  readonly maxAttempts?: number;
  /** Backoff before retry n: baseBackoffMs × 2^(n-1). */
  readonly baseBackoffMs?: number;
  readonly onError?: (err: unknown, attempt: number, request: PurgeRequest) => void;
  readonly onPurged?: (request: PurgeRequest) => void;
}

/**
 * Collects purge requests and sends them in batches, retrying with backoff. Nothing waits on
 * it in a request: `enqueue` returns at once with a promise that settles when the purge is
 * done (or has failed every attempt), for callers that track delivery, like the outbox relay.
 */
export class PurgeQueue {
  readonly #keys = new Set<string>();
  readonly #paths = new Set<string>();
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #opts: Required<Omit<PurgeQueueOptions, 'onError' | 'onPurged'>> & PurgeQueueOptions;

  constructor(
    private readonly purger: Purger,
    options: PurgeQueueOptions = {},
  ) {
    this.#opts = { batchDelayMs: 20, maxAttempts: 6, baseBackoffMs: 200, ...options };
  }

  enqueue(request: PurgeRequest): Promise<void> {
    for (const k of request.keys) this.#keys.add(k);
    for (const p of request.paths) this.#paths.add(p);
    this.#timer ??= setTimeout(() => this.#drain(), this.#opts.batchDelayMs);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #drain(): void {
    this.#timer = undefined;
    const items: { kind: 'key' | 'path'; value: string }[] = [
      ...[...this.#keys].map((value) => ({ kind: 'key' as const, value })),
      ...[...this.#paths].map((value) => ({ kind: 'path' as const, value })),
    ];
    this.#keys.clear();
    this.#paths.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    const batches: Promise<boolean>[] = [];
    for (let i = 0; i < items.length; i += this.purger.maxBatch) {
      const chunk = items.slice(i, i + this.purger.maxBatch);
      const request: PurgeRequest = {
        keys: chunk.filter((c) => c.kind === 'key').map((c) => c.value),
        paths: chunk.filter((c) => c.kind === 'path').map((c) => c.value),
      };
      batches.push(this.#send(request));
    }
    const done: Promise<void> = Promise.all(batches)
      .then((oks) => {
        if (oks.every(Boolean)) for (const w of waiters) w.resolve();
        else
          for (const w of waiters)
            w.reject(
              new Error(
                `${this.purger.name} purge failed after ${this.#opts.maxAttempts} attempts`,
              ),
            );
      })
      .finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  }

  /** Sends one batch with retries; false when every attempt failed. */
  async #send(request: PurgeRequest): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.purger.purge(request);
        this.#opts.onPurged?.(request);
        return true;
      } catch (err) {
        this.#opts.onError?.(err, attempt, request);
        if (attempt >= this.#opts.maxAttempts) return false;
        await new Promise((r) => setTimeout(r, this.#opts.baseBackoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  /** Sends what is queued and waits for every batch in flight (shutdown, tests). */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#drain();
    }
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }
}
