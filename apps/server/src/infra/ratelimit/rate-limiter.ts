import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window resets. */
  readonly resetSeconds: number;
}

/**
 * Fixed-window request counting per key (client IP or API key). Two adapters over
 * rate-limiter-flexible: in-process (embedded) and Redis (shared by every instance).
 */
export interface RateLimiter {
  consume(key: string, limit: number): Promise<RateDecision>;
}

export interface RateLimiterOptions {
  readonly windowSeconds: number;
  /** Called when the shared store fails; the request is then let through (fail open). */
  readonly onStoreError?: (err: unknown) => void;
}

class FlexibleRateLimiter implements RateLimiter {
  // One limiter per distinct limit: rate-limiter-flexible fixes `points` per instance.
  readonly #byLimit = new Map<number, RateLimiterAbstract>();

  constructor(
    private readonly make: (points: number) => RateLimiterAbstract,
    private readonly options: RateLimiterOptions,
  ) {}

  async consume(key: string, limit: number): Promise<RateDecision> {
    let limiter = this.#byLimit.get(limit);
    if (limiter === undefined) {
      limiter = this.make(limit);
      this.#byLimit.set(limit, limiter);
    }
    try {
      const res = await limiter.consume(key, 1);
      return decision(true, limit, res);
    } catch (err) {
      if (err instanceof RateLimiterRes) return decision(false, limit, err);
      this.options.onStoreError?.(err);
      return { allowed: true, limit, remaining: limit, resetSeconds: this.options.windowSeconds };
    }
  }
}

function decision(allowed: boolean, limit: number, res: RateLimiterRes): RateDecision {
  return {
    allowed,
    limit,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  };
}

export function memoryRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new FlexibleRateLimiter(
    (points) => new RateLimiterMemory({ points, duration: options.windowSeconds }),
    options,
  );
}

export function redisRateLimiter(
  redis: Redis,
  prefix: string,
  options: RateLimiterOptions,
): RateLimiter {
  return new FlexibleRateLimiter(
    (points) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}rl:${points}`,
        points,
        duration: options.windowSeconds,
      }),
    options,
  );
}
