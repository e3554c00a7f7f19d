import { TxnConfigError } from '../errors.js';
import { checkPositiveInt } from '../pg-util.js';

/** How often and how patiently a step (or compensation) is retried. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts?: number;
  /** Delay before the second attempt. */
  readonly initialDelayMs?: number;
  /** Upper bound of any delay. */
  readonly maxDelayMs?: number;
  /** Growth of the delay per attempt. */
  readonly factor?: number;
  /** Randomise each delay within [delay/2, delay] so retries of many sagas do not align. */
  readonly jitter?: boolean;
}

export type ResolvedRetry = Required<RetryPolicy>;

export const DEFAULT_STEP_RETRY: ResolvedRetry = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: true,
});

export const DEFAULT_COMPENSATION_RETRY: ResolvedRetry = Object.freeze({
  maxAttempts: 10,
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: true,
});

export function resolveRetry(
  policy: RetryPolicy | undefined,
  base: ResolvedRetry,
  label: string,
): ResolvedRetry {
  if (policy === undefined) return base;
  if (policy === null || typeof policy !== 'object')
    throw new TxnConfigError(`${label} must be an object`);
  const r: ResolvedRetry = { ...base, ...policy };
  checkPositiveInt(r.maxAttempts, `${label}.maxAttempts`);
  checkPositiveInt(r.initialDelayMs, `${label}.initialDelayMs`, 0);
  checkPositiveInt(r.maxDelayMs, `${label}.maxDelayMs`, 0);
  if (typeof r.factor !== 'number' || !Number.isFinite(r.factor) || r.factor < 1) {
    throw new TxnConfigError(
      `${label}.factor must be a number >= 1, got ${JSON.stringify(r.factor)}`,
    );
  }
  if (typeof r.jitter !== 'boolean') throw new TxnConfigError(`${label}.jitter must be a boolean`);
  return Object.freeze(r);
}

/** Delay before attempt `attempt + 1` (attempt counts from 1): exponential, capped, optionally jittered. */
export function backoffDelay(
  policy: ResolvedRetry,
  attempt: number,
  random: () => number = Math.random,
): number {
  const raw = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
  if (!policy.jitter) return raw;
  return Math.round(raw / 2 + random() * (raw / 2));
}
