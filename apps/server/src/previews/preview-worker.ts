import { PreviewError, type LinkPreview } from '@linkforge/preview';
import { linkSnapshot } from '../events/link-events.js';
import { appendToOutbox, domainEvent } from '../events/outbox.js';
import type { Database } from '../infra/db/database.js';
import { findByCode } from '../links/link-repo.js';
import * as repo from './preview-repo.js';

/** Fetches a page's preview; the app passes `fetchPreview` of @linkforge/preview. */
export type PreviewFetcher = (url: string) => Promise<LinkPreview>;

export interface PreviewWorkerOptions {
  /** Fetches running at once in this process. Default 4. */
  readonly concurrency?: number;
  /** Poll for work left by other instances or a crash. Default 2,000 ms. */
  readonly pollMs?: number;
  /** Attempts before a fetch that keeps failing on a transient error is given up. Default 3. */
  readonly maxAttempts?: number;
  readonly onError?: (err: unknown) => void;
}

// Refusals that a retry cannot change: the page is not there for us to preview.
const PERMANENT = new Set([
  'INVALID_URL',
  'BLOCKED_SCHEME',
  'BLOCKED_PORT',
  'BLOCKED_ADDRESS',
  'TOO_MANY_REDIRECTS',
  'NOT_HTML',
  'TOO_LARGE',
]);

function permanent(err: unknown): boolean {
  if (!(err instanceof PreviewError)) return false;
  if (err.code === 'HTTP_ERROR') return (err.status ?? 500) < 500 && err.status !== 429;
  return PERMANENT.has(err.code);
}

/**
 * Fetches link previews off the request path. Work is rows of `link_previews` marked pending
 * (durable: a crash leaves them pending, and any instance claims them after the lease), so a
 * slow target never holds up link creation or the event relay. A stored preview appends
 * `link.updated` (changed: `preview`) to the outbox, which purges the link's cached pages.
 *
 * @example
 * const worker = new PreviewWorker(db, (url) => fetchPreview(url));
 * worker.start();
 * await worker.close();
 */
export class PreviewWorker {
  readonly #concurrency: number;
  readonly #pollMs: number;
  readonly #maxAttempts: number;
  #active = 0;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #inFlight = new Set<Promise<void>>();
  #fetched = 0;

  constructor(
    private readonly db: Database,
    private readonly fetcher: PreviewFetcher,
    private readonly options: PreviewWorkerOptions = {},
  ) {
    this.#concurrency = options.concurrency ?? 4;
    this.#pollMs = options.pollMs ?? 2_000;
    this.#maxAttempts = options.maxAttempts ?? 3;
  }

  /** Previews stored by this worker (for tests and metrics). */
  get fetched(): number {
    return this.#fetched;
  }

  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.kick(), this.#pollMs);
    this.#timer.unref();
    this.kick();
  }

  /** Looks for work now (called when a fetch was just requested). */
  kick(): void {
    if (this.#closed) return;
    if (this.#draining !== undefined) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drain()
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => {
        this.#draining = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  async #drain(): Promise<void> {
    const free = this.#concurrency - this.#active;
    if (free <= 0) return;
    // The lease outlasts one fetch (5 s deadline) with room for storing the result.
    const claimed = await repo.claimFetches(this.db, free, 30_000);
    for (const row of claimed) {
      this.#active += 1;
      const job = this.#fetchOne(Number(row.link_id), row.fetch_url, row.fetch_attempts)
        .catch((err: unknown) => this.options.onError?.(err))
        .finally(() => {
          this.#active -= 1;
          this.#inFlight.delete(job);
          this.kick();
        });
      this.#inFlight.add(job);
    }
  }

  async #fetchOne(linkId: number, url: string, attempts: number): Promise<void> {
    let preview: LinkPreview;
    try {
      preview = await this.fetcher(url);
    } catch (err) {
      const code = err instanceof PreviewError ? err.code : 'NETWORK_ERROR';
      const giveUp = permanent(err) || attempts >= this.#maxAttempts;
      const retryMs = giveUp ? undefined : 1_000 * 4 ** attempts;
      await repo.storeFetchFailure(this.db, linkId, url, code, retryMs);
      return;
    }
    await this.db.transaction(async (tx) => {
      const code = await repo.storeFetched(tx, linkId, url, {
        title: preview.title ?? null,
        description: preview.description ?? null,
        image: preview.image ?? null,
        siteName: preview.siteName ?? null,
      });
      const link = code === undefined ? undefined : await findByCode(tx, code);
      if (link !== undefined) {
        await appendToOutbox(tx, [
          domainEvent('link.updated', { link: linkSnapshot(link), changed: ['preview'] }),
        ]);
      }
    });
    this.#fetched += 1;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#draining;
    await Promise.allSettled([...this.#inFlight]);
  }
}
