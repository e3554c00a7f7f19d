import { EventStoreValidationError } from './errors.js';
import type { ExpectedVersion } from './types.js';

const MAX_STREAM_ID = 500;
const MAX_TYPE = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_STREAM_ID) {
    throw new EventStoreValidationError(
      `streamId must be a string of 1–${MAX_STREAM_ID} characters, got ${describe(streamId)}`,
    );
  }
  if (streamId.includes('\u0000')) {
    throw new EventStoreValidationError('streamId must not contain NUL characters');
  }
}

export function checkEventType(type: unknown, where: string): asserts type is string {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE) {
    throw new EventStoreValidationError(
      `${where}: type must be a string of 1–${MAX_TYPE} characters, got ${describe(type)}`,
    );
  }
  if (type.includes('\u0000')) {
    throw new EventStoreValidationError(`${where}: type must not contain NUL characters`);
  }
}

export function checkUuid(id: unknown, where: string): asserts id is string {
  if (typeof id !== 'string' || !UUID.test(id)) {
    throw new EventStoreValidationError(`${where}: eventId must be a UUID, got ${describe(id)}`);
  }
}

export function checkPlainObject(value: unknown, where: string): void {
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
  ) {
    throw new EventStoreValidationError(`${where} must be a plain object`);
  }
}

/**
 * Serialises `value` to JSON the way PostgreSQL's jsonb will accept it: no `undefined`, no
 * BigInt, no cycles, no NUL characters (jsonb rejects `\u0000`).
 */
export function toJson(value: unknown, where: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new EventStoreValidationError(
      `${where} is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (json === undefined) {
    throw new EventStoreValidationError(`${where} is not JSON-serialisable (got ${typeof value})`);
  }
  if (json.includes('\\u0000')) {
    throw new EventStoreValidationError(`${where} must not contain NUL characters`);
  }
  return json;
}

export function checkVersionNumber(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new EventStoreValidationError(
      `${name} must be an integer >= ${min}, got ${describe(value)}`,
    );
  }
  return value;
}

export function checkExpectedVersion(value: unknown): ExpectedVersion {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new EventStoreValidationError(
    `expectedVersion must be an integer >= 0, "any", "no_stream" or "stream_exists", got ${describe(value)}`,
  );
}

export function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TYPE) {
    throw new EventStoreValidationError(
      `${what} must be a string of 1–${MAX_TYPE} characters, got ${describe(value)}`,
    );
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
