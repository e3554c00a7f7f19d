import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { normalizeTargetUrl, validateAlias, validateExpiry, validateTags } from './validate.js';

const own = new Set(['sho.rt']);

describe('normalizeTargetUrl', () => {
  it('keeps query and fragment and returns the WHATWG serialisation', () => {
    expect(normalizeTargetUrl('https://Example.COM/a b?q=1&r=ü#frag', own)).toBe(
      'https://example.com/a%20b?q=1&r=%C3%BC#frag',
    );
  });

  it.each([
    ['javascript:alert(1)'],
    ['JAVASCRIPT:alert(1)'],
    ['data:text/html;base64,PHNjcmlwdD4='],
    ['file:///etc/passwd'],
    ['https://a:b@example.com/'],
    ['https://user@example.com/'],
    ['http://SHO.RT/x'],
    ['//example.com/relative'],
    [''],
  ])('refuses %j', (url) => {
    expect(() => normalizeTargetUrl(url, own)).toThrow(AppError);
  });

  it('refuses a URL that is only too long once percent-encoded', () => {
    const raw = `https://example.com/${'é'.repeat(700)}`; // 720 chars raw, 4,220 encoded
    expect(raw.length).toBeLessThan(2048);
    expect(() => normalizeTargetUrl(raw, own)).toThrow(/once encoded/);
  });
});

describe('validateAlias', () => {
  it('accepts letters, digits, - and _ of 3 to 64 characters', () => {
    expect(validateAlias('My_Link-2')).toBe('My_Link-2');
  });
  it.each(['ab', 'a'.repeat(65), 'with space', 'ünï', 'API', 'healthz', 'a/b', 'a.b'])(
    'refuses %j',
    (alias) => {
      expect(() => validateAlias(alias)).toThrow(AppError);
    },
  );
});

describe('validateExpiry', () => {
  it('accepts a future instant and refuses past or invalid ones', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(validateExpiry('2030-01-02T00:00:00Z', now)?.toISOString()).toBe(
      '2030-01-02T00:00:00.000Z',
    );
    expect(() => validateExpiry('2029-12-31T00:00:00Z', now)).toThrow(/future/);
    expect(() => validateExpiry('tomorrow', now)).toThrow(/ISO 8601/);
    expect(validateExpiry(null, now)).toBeNull();
  });
});

describe('validateTags', () => {
  it('trims, de-duplicates and refuses odd characters and too many tags', () => {
    expect(validateTags([' a ', 'a', 'b'])).toEqual(['a', 'b']);
    expect(() => validateTags(['<script>'])).toThrow(AppError);
    expect(() => validateTags(Array.from({ length: 21 }, (_, i) => `t${i}`))).toThrow(/At most 20/);
  });
});
