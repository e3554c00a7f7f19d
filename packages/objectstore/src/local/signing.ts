import { createHmac, timingSafeEqual } from 'node:crypto';
import { ObjectStoreError } from '../errors.js';

/**
 * HMAC-SHA256 over the fields a URL grants, joined by newlines (no field may contain one:
 * keys, content types and ids are validated first). A version tag per kind of grant keeps a
 * signature for one kind from being replayed as another.
 */
export function sign(secret: Uint8Array, fields: readonly (string | number)[]): string {
  return createHmac('sha256', secret).update(fields.join('\n')).digest('base64url');
}

/**
 * Constant-time check of `provided` against the signature of `fields`. The signature's text is
 * compared, not the bytes it decodes to: base64url's last character carries two unused bits,
 * and a decoder ignores them, so four spellings would decode to the one signature.
 */
export function verify(
  secret: Uint8Array,
  fields: readonly (string | number)[],
  provided: string,
): void {
  const expected = Buffer.from(sign(secret, fields));
  const given = Buffer.from(provided);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ObjectStoreError('SIGNATURE_INVALID', 'signature does not match');
  }
}

export type QueryInput =
  URLSearchParams | Readonly<Record<string, string | readonly string[] | undefined>>;
export type HeaderInput = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One query parameter; a repeated or missing one is a bad request. */
export function param(query: QueryInput, name: string): string {
  let value: string | readonly string[] | undefined | null;
  if (query instanceof URLSearchParams) {
    const all = query.getAll(name);
    value = all.length > 1 ? all : all[0];
  } else {
    value = query[name];
  }
  if (typeof value !== 'string') {
    throw new ObjectStoreError('BAD_REQUEST', `query parameter ${name} missing or repeated`);
  }
  return value;
}

export function optionalParam(query: QueryInput, name: string): string | undefined {
  const present = query instanceof URLSearchParams ? query.has(name) : query[name] !== undefined;
  return present ? param(query, name) : undefined;
}

/** A header by lower-case name; repeated values are refused rather than guessed at. */
export function header(headers: HeaderInput, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new ObjectStoreError('BAD_REQUEST', `header ${name} repeated`);
  }
  return value;
}

export function parseInteger(value: string, name: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    throw new ObjectStoreError('BAD_REQUEST', `${name} is not a non-negative integer`);
  }
  return Number(value);
}
