import { assertValidContentType } from './content-type.js';
import { ObjectStoreError } from './errors.js';
import { assertValidKey } from './keys.js';
import type { CreateUploadInput } from './port.js';

/** Signed upload URLs live at most five minutes: long enough to upload, short if leaked. */
export const MAX_UPLOAD_EXPIRY_SECONDS = 300;
/** Signed download URLs may live up to a week (SigV4's own limit). */
export const MAX_DOWNLOAD_EXPIRY_SECONDS = 604_800;

/** Checks a {@link CreateUploadInput} and returns its expiry in whole seconds. */
export function validateUploadInput(input: CreateUploadInput, maxSize: number): number {
  assertValidKey(input.key);
  assertValidContentType(input.contentType);
  if (!Number.isSafeInteger(input.size) || input.size < 0) {
    throw new ObjectStoreError('INVALID_ARGUMENT', 'size must be a non-negative integer');
  }
  if (input.size > maxSize) {
    throw new ObjectStoreError('TOO_LARGE', `size exceeds the limit of ${maxSize} bytes`);
  }
  return expirySeconds(input.expiresIn, MAX_UPLOAD_EXPIRY_SECONDS, MAX_UPLOAD_EXPIRY_SECONDS);
}

/** Validates an `expiresIn` in seconds against `1..max`, defaulting to `fallback`. */
export function expirySeconds(value: number | undefined, fallback: number, max: number): number {
  const seconds = value ?? fallback;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > max) {
    throw new ObjectStoreError('INVALID_ARGUMENT', `expiresIn must be an integer in 1..${max}`);
  }
  return seconds;
}

export interface PartPlan {
  readonly partSize: number;
  readonly sizes: readonly number[];
}

/** S3 allows at most 10 000 parts per upload. */
export const MAX_PARTS = 10_000;

/**
 * Splits `size` bytes into parts of `partSize` (last one shorter). The part size grows past
 * the requested one when the object would otherwise need more than 10 000 parts.
 */
export function planParts(size: number, requested: number, minPartSize: number): PartPlan {
  if (size < 1) {
    throw new ObjectStoreError('INVALID_ARGUMENT', 'a multipart upload needs at least one byte');
  }
  if (!Number.isSafeInteger(requested) || requested < minPartSize) {
    throw new ObjectStoreError('INVALID_ARGUMENT', `partSize must be at least ${minPartSize}`);
  }
  const partSize = Math.max(requested, Math.ceil(size / MAX_PARTS));
  const sizes: number[] = [];
  for (let offset = 0; offset < size; offset += partSize) {
    sizes.push(Math.min(partSize, size - offset));
  }
  return { partSize, sizes };
}

export function validatePartList(
  parts: readonly { partNumber: number; etag: string }[],
  expected: number,
): void {
  if (!Array.isArray(parts) || parts.length !== expected) {
    throw new ObjectStoreError('INVALID_PART', `expected ${expected} parts`);
  }
  parts.forEach((part, i) => {
    if (part.partNumber !== i + 1 || typeof part.etag !== 'string' || part.etag.length > 200) {
      throw new ObjectStoreError('INVALID_PART', 'parts must be numbered 1..n in order');
    }
  });
}

/** Part URLs signed per call: keeps answers small for uploads of thousands of parts. */
export const MAX_SIGNED_PARTS = 100;

/**
 * Picks the parts to sign: the given part numbers (1-based, unique, at most
 * {@link MAX_SIGNED_PARTS}), or the first {@link MAX_SIGNED_PARTS} parts.
 */
export function selectParts(
  plan: PartPlan,
  partNumbers?: readonly number[],
): { partNumber: number; size: number }[] {
  const numbers =
    partNumbers ??
    Array.from({ length: Math.min(plan.sizes.length, MAX_SIGNED_PARTS) }, (_, i) => i + 1);
  if (!Array.isArray(numbers) || numbers.length === 0 || numbers.length > MAX_SIGNED_PARTS) {
    throw new ObjectStoreError(
      'INVALID_ARGUMENT',
      `partNumbers must list 1..${MAX_SIGNED_PARTS} parts`,
    );
  }
  if (new Set(numbers).size !== numbers.length) {
    throw new ObjectStoreError('INVALID_ARGUMENT', 'partNumbers must be unique');
  }
  return numbers.map((partNumber) => {
    const size = Number.isInteger(partNumber) ? plan.sizes[partNumber - 1] : undefined;
    if (size === undefined) {
      throw new ObjectStoreError(
        'INVALID_PART',
        `part ${String(partNumber)} is not in 1..${plan.sizes.length}`,
      );
    }
    return { partNumber, size };
  });
}
