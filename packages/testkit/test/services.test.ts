import { afterEach, describe, expect, it, vi } from 'vitest';
import { serviceUrl } from '../src/services.js';

describe('serviceUrl', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('returns the variable when it is set', () => {
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:6379');
    expect(serviceUrl('REDIS_URL')).toBe('redis://127.0.0.1:6379');
  });

  it('when the variable is missing outside CI, returns undefined so the suite skips', () => {
    vi.stubEnv('REDIS_URL', '');
    vi.stubEnv('CI', '');
    expect(serviceUrl('REDIS_URL')).toBeUndefined();
  });

  it('when the variable is missing in CI, throws naming it', () => {
    vi.stubEnv('REDIS_URL', '');
    vi.stubEnv('CI', 'true');
    expect(() => serviceUrl('REDIS_URL')).toThrow(/REDIS_URL/);
  });
});
