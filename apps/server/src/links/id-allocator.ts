import type { Database } from '../infra/db/database.js';
import { allocateIds } from './link-repo.js';

/**
 * Hands out link ids drawn from the database sequence in blocks, so that creating a link costs
 * one round trip (the INSERT) instead of two. Ids left in a block when the process stops are
 * simply never used; uniqueness comes from the sequence.
 */
export class IdAllocator {
  #block: number[] = [];
  #refill: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly blockSize = 256,
  ) {}

  async take(n: number): Promise<number[]> {
    if (n > this.blockSize) return allocateIds(this.db, n);
    while (this.#block.length < n) {
      this.#refill ??= allocateIds(this.db, this.blockSize).then(
        (ids) => {
          this.#block.push(...ids);
          this.#refill = undefined;
        },
        (err: unknown) => {
          this.#refill = undefined;
          throw err;
        },
      );
      await this.#refill;
    }
    return this.#block.splice(0, n);
  }
}
