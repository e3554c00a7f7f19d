import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_STEP_RETRY, resolveRetry } from '../src/saga/retry.js';

describe('backoffDelay', () => {
  const policy = resolveRetry(
    { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: false },
    DEFAULT_STEP_RETRY,
    'r',
  );

  it('doubles from the initial delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('with jitter, stays within [delay/2, delay]', () => {
    const jittered = { ...policy, jitter: true };
    expect(backoffDelay(jittered, 3, () => 0)).toBe(200);
    expect(backoffDelay(jittered, 3, () => 1)).toBe(400);
  });
});

describe('resolveRetry', () => {
  it('fills defaults and rejects nonsense', () => {
    expect(resolveRetry({ maxAttempts: 5 }, DEFAULT_STEP_RETRY, 'r').initialDelayMs).toBe(100);
    expect(() => resolveRetry({ factor: 0.5 }, DEFAULT_STEP_RETRY, 'r')).toThrow(/factor/);
    expect(() => resolveRetry({ maxAttempts: 1.5 }, DEFAULT_STEP_RETRY, 'r')).toThrow(
      /maxAttempts/,
    );
    expect(() =>
      resolveRetry({ jitter: 'yes' as unknown as boolean }, DEFAULT_STEP_RETRY, 'r'),
    ).toThrow(/jitter/);
  });
});
