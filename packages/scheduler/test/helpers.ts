/** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Records start/end times and the peak number of tasks running at once. */
export class Recorder {
  readonly starts = new Map<string, number>();
  readonly ends = new Map<string, number>();
  readonly order: string[] = [];
  running = 0;
  peak = 0;
  private readonly t0 = performance.now();

  start(name: string): void {
    this.starts.set(name, performance.now() - this.t0);
    this.order.push(name);
    this.running++;
    this.peak = Math.max(this.peak, this.running);
  }

  end(name: string): void {
    this.ends.set(name, performance.now() - this.t0);
    this.running--;
  }

  /** Wraps an async body so its start and end are recorded. */
  wrap<T>(name: string, body: () => Promise<T>): () => Promise<T> {
    return async () => {
      this.start(name);
      try {
        return await body();
      } finally {
        this.end(name);
      }
    };
  }
}

/** A seeded pseudo-random generator in [0, 1) (mulberry32): random tests that replay. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
