import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CodeGenerator, base62 } from './codes.js';

describe('CodeGenerator', () => {
  const gen = new CodeGenerator(Buffer.from('0123456789abcdef0123456789abcdef'), 6);

  it('gives codes of exactly the minimum length for the first ids', () => {
    for (let id = 1; id < 200; id++) expect(gen.encode(id)).toMatch(/^[0-9A-Za-z]{6}$/);
  });

  it('never gives two ids the same code', () => {
    const small = new CodeGenerator(randomBytes(32), 4); // 62^4 = 14.7M codes in the first tier
    const seen = new Set<string>();
    for (let id = 0; id < 100_000; id++) seen.add(small.encode(id));
    expect(seen.size).toBe(100_000);
  });

  it('moves to one more character exactly when a tier is used up', () => {
    const g = new CodeGenerator(randomBytes(32), 4);
    const last = 62 ** 4 - 1;
    expect(g.encode(last)).toHaveLength(4);
    expect(g.encode(last + 1)).toHaveLength(5);
  });

  it('gives consecutive ids codes that share no obvious structure', () => {
    const a = gen.encode(1000);
    const b = gen.encode(1001);
    let same = 0;
    for (let i = 0; i < 6; i++) if (a[i] === b[i]) same++;
    expect(same).toBeLessThan(4);
    expect(a).not.toBe(b);
  });

  it('depends on the key', () => {
    const other = new CodeGenerator(Buffer.from('fedcba9876543210fedcba9876543210'), 6);
    const differ = [1, 2, 3, 4, 5].filter((id) => gen.encode(id) !== other.encode(id));
    expect(differ.length).toBe(5);
  });

  it('is deterministic for one key', () => {
    expect(gen.encode(42)).toBe(gen.encode(42));
  });

  it('keeps giving the codes it always gave (links already issued must not move)', () => {
    // Recorded from the first implementation (plain HMAC rounds, BigInt arithmetic), across
    // tiers; the memoised number path must agree, warm or cold.
    const issued: [number, string][] = [
      [0, 'mU0h7g'],
      [1, 'GdO712'],
      [2, 'imaIhK'],
      [1000, 'dqLP3O'],
      [123456, 'jbf2y0'],
      [9999999, 'mQmz82'],
      [56800235583, 'fwJNpW'],
      [56800235584, 'w1owDzu'],
      [3521614606207, 'lkcUL7V'],
      [9007199254740991, 'NcoaeMrVC'],
    ];
    for (let pass = 0; pass < 2; pass++) {
      const g = new CodeGenerator(Buffer.from('0123456789abcdef0123456789abcdef'), 6);
      if (pass === 1) for (let id = 0; id < 5000; id++) g.encode(id);
      expect(issued.map(([id]) => [id, g.encode(id)])).toEqual(issued);
    }
    const g4 = new CodeGenerator(Buffer.from('0123456789abcdef0123456789abcdef'), 4);
    expect([0, 77, 14776335, 14776336, 900000000].map((id) => g4.encode(id))).toEqual([
      'QrwU',
      'CKoB',
      '0SFb',
      'PjCYs',
      '2X6jy',
    ]);
  });
});

describe('base62', () => {
  it('pads to the width and refuses overflow', () => {
    expect(base62(0n, 3)).toBe('000');
    expect(base62(61n, 2)).toBe('0z');
    expect(() => base62(62n ** 2n, 2)).toThrow(RangeError);
  });
});
