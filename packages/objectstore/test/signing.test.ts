import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sign, verify } from '../src/local/signing.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('URL signatures', () => {
  it('accept exactly the signature they made', () => {
    const secret = randomBytes(32);
    expect(() =>
      verify(secret, ['get-v1', 'a/b', 60], sign(secret, ['get-v1', 'a/b', 60])),
    ).not.toThrow();
    expect(() =>
      verify(secret, ['get-v1', 'a/c', 60], sign(secret, ['get-v1', 'a/b', 60])),
    ).toThrow(/signature does not match/);
  });

  it('refuse another spelling of the same bytes (the unused bits of the last character)', () => {
    const secret = randomBytes(32);
    const fields = ['get-v1', 'some/key', 1234];
    const signature = sign(secret, fields);
    // 32 bytes take 43 characters: the last one holds 4 bits of the digest and 2 unused ones.
    expect(signature).toHaveLength(43);
    const last = ALPHABET.indexOf(signature.at(-1)!);
    const other = signature.slice(0, -1) + ALPHABET[last ^ 1];
    expect(Buffer.from(other, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    expect(() => verify(secret, fields, other)).toThrow(/signature does not match/);
  });
});
