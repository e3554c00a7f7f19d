import type { UploadService } from './upload-service.js';

/**
 * Runs {@link UploadService.sweep} every `intervalMs` (timer unref'd: it never keeps the
 * process alive). A failed round is logged and retried on the next tick.
 *
 * @example
 * const sweeper = new UploadSweeper(uploads, 600_000, (err) => log.warn({ err }, 'sweep failed'));
 * sweeper.start();
 * await sweeper.close();
 */
export class UploadSweeper {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #closed = false;

  constructor(
    private readonly uploads: UploadService,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#running !== undefined) return;
      this.#running = this.uploads
        .sweep()
        .catch(this.onError)
        .finally(() => {
          this.#running = undefined;
        });
    }, this.intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
