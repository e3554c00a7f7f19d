import { describe, expect, it } from 'vitest';
import { customRange, densify, presetRange } from '../src/analytics-range.js';
import { bareUrl, pathOf } from '../src/format.js';
import { parseHash } from '../src/router.js';
import {
  checkAlias,
  checkExpiry,
  checkMaxClicks,
  checkTags,
  checkUrl,
  expiryToIso,
  parseTags,
} from '../src/validate.js';

describe('instant validation of link fields', () => {
  it.each([
    ['', 'Enter the destination URL.'],
    ['example.com', 'Start with https:// (or http://).'],
    ['javascript:alert(1)', 'Only http and https links, not javascript:'],
    [
      'https://user:pw@example.com/',
      'Remove the user:password@ part: links with credentials are refused.',
    ],
    [`https://example.com/${'a'.repeat(2050)}`, 'At most 2048 characters.'],
  ])('checkUrl(%j) says %j', (url, message) => {
    expect(checkUrl(url)).toBe(message);
  });

  it('accepts http and https URLs with query and fragment', () => {
    expect(checkUrl('https://example.com/a?b=1#c')).toBeNull();
    expect(checkUrl('  http://example.com  ')).toBeNull();
  });

  it('checks aliases like the server: length, characters, reserved words in any case', () => {
    expect(checkAlias('')).toBeNull();
    expect(checkAlias('ab')).toBe('At least 3 characters.');
    expect(checkAlias('x'.repeat(65))).toBe('At most 64 characters.');
    expect(checkAlias('has space')).toBe('Only letters, digits, "-" and "_".');
    expect(checkAlias('Docs')).toContain('reserved');
    expect(checkAlias('spring-sale_2')).toBeNull();
  });

  it('wants an expiry in the future and a whole number of max clicks of at least 1', () => {
    const now = Date.parse('2030-01-01T12:00:00Z');
    expect(checkExpiry('2029-12-31T10:00', now)).toBe('The expiry must be in the future.');
    expect(checkExpiry('2030-02-01T10:00', now)).toBeNull();
    expect(checkExpiry('', now)).toBeNull();
    expect(checkMaxClicks('0')).toBe('At least 1 click.');
    expect(checkMaxClicks('1.5')).toBe('A whole number, 1 or more.');
    expect(checkMaxClicks('-3')).toBe('A whole number, 1 or more.');
    expect(checkMaxClicks('99999999999999999999')).toBe('That number is too large.');
    expect(checkMaxClicks('10')).toBeNull();
  });

  it('parses comma-separated tags, without blanks or duplicates, and checks each', () => {
    expect(parseTags(' a, b ,, a ,c ')).toEqual(['a', 'b', 'c']);
    expect(checkTags('ok, also ok')).toBeNull();
    expect(checkTags('bad<tag>')).toContain('"bad<tag>"');
    expect(checkTags(Array.from({ length: 21 }, (_, i) => `t${i}`).join(','))).toBe(
      'At most 20 tags.',
    );
  });

  it('turns a datetime-local value into an ISO instant, and empty into null', () => {
    expect(expiryToIso('')).toBeNull();
    expect(expiryToIso('2030-01-01T10:00')).toBe(new Date('2030-01-01T10:00').toISOString());
  });
});

describe('analytics ranges', () => {
  it('a 24-hour preset uses hourly buckets from the start of an hour', () => {
    const r = presetRange('24h', Date.parse('2030-01-02T10:30:00Z'));
    expect(r).toEqual({
      from: '2030-01-01T10:00:00.000Z',
      to: '2030-01-02T10:30:00.000Z',
      interval: 'hour',
      preset: '24h',
    });
  });

  it('a custom range covers whole days, inclusive, and is refused when backwards or too long', () => {
    expect(customRange('2030-01-01', '2030-01-07')).toMatchObject({
      from: '2030-01-01T00:00:00.000Z',
      to: '2030-01-08T00:00:00.000Z',
      interval: 'day',
    });
    expect(customRange('2030-01-01', '2030-01-01')).toMatchObject({ interval: 'hour' });
    expect(customRange('2030-01-07', '2030-01-01')).toBe('"To" must not be before "From".');
    expect(customRange('2030-01-01', '2031-06-01')).toBe('At most one year at a time.');
    expect(customRange('', '2030-01-01')).toBe('Choose both dates.');
  });

  it('densify fills missing buckets with zero and keeps the API points', () => {
    const out = densify(
      [{ t: '2030-01-02T00:00:00.000Z', clicks: 5 }],
      '2030-01-01T00:00:00.000Z',
      '2030-01-04T00:00:00.000Z',
      'day',
    );
    expect(out).toEqual([
      { t: '2030-01-01T00:00:00.000Z', clicks: 0 },
      { t: '2030-01-02T00:00:00.000Z', clicks: 5 },
      { t: '2030-01-03T00:00:00.000Z', clicks: 0 },
    ]);
  });
});

describe('small helpers', () => {
  it('parses the hash route', () => {
    expect(parseHash('#/links/ab%2Fc')).toEqual(['links', 'ab/c']);
    expect(parseHash('')).toEqual([]);
  });

  it('shows URLs as people say them', () => {
    expect(bareUrl('https://sho.rt/abc')).toBe('sho.rt/abc');
    expect(pathOf('https://example.com/a?b=1#c')).toBe('/a?b=1#c');
    expect(pathOf('https://example.com/')).toBe('');
  });
});
