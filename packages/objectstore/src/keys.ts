import { randomBytes } from 'node:crypto';
import { ObjectStoreError } from './errors.js';

/**
 * Keys are made by the server, never from a client's file name, so they can be held to a
 * strict shape: slash-separated segments of `[A-Za-z0-9._-]` that start with a letter or
 * digit. That rules out `.`/`..` segments, leading or doubled slashes, backslashes, NUL and
 * every other character a file system or URL could read specially.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MAX_KEY_LENGTH = 512;
const MAX_SEGMENTS = 16;

/** Whether `key` is a valid object key (see {@link assertValidKey}). */
export function isValidKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  const segments = key.split('/');
  return segments.length <= MAX_SEGMENTS && segments.every((s) => SEGMENT.test(s));
}

/**
 * Throws `ObjectStoreError('INVALID_KEY')` unless `key` is slash-separated segments of
 * `[A-Za-z0-9._-]`, each starting with a letter or digit, at most 512 characters in all.
 *
 * @example
 * assertValidKey('uploads/2026/11/k3j5h2'); // ok
 * assertValidKey('../etc/passwd'); // throws
 */
export function assertValidKey(key: unknown): asserts key is string {
  if (!isValidKey(key)) {
    throw new ObjectStoreError('INVALID_KEY', 'object key is not valid');
  }
}

/**
 * Makes a fresh, unguessable key under `prefix`: `<prefix>/<yyyy>/<mm>/<26 base32 chars>`
 * (130 random bits). The date part keeps listings and sweeps of one month cheap.
 *
 * @example
 * newObjectKey('uploads'); // 'uploads/2026/11/x7k2m4q9...'
 */
export function newObjectKey(prefix = 'uploads', now: Date = new Date()): string {
  const random = toBase32(randomBytes(17)).slice(0, 26);
  const yyyy = String(now.getUTCFullYear());
  const mm = String(now.getUTCMonth() + 1).padStart(2, '0');
  const key = `${prefix}/${yyyy}/${mm}/${random}`;
  assertValidKey(key);
  return key;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function toBase32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
