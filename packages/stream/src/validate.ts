import { StreamValidationError } from './errors.js';
import type { ConsumerOptions, FetchOptions, OutgoingMessage } from './types.js';

const MAX_ID_LENGTH = 256;
const GROUP_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const STREAM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Default upper bound of one serialised payload (NATS' default `max_payload` is 1 MiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024;

/** A message checked and serialised, ready for any adapter. */
export interface EncodedMessage {
  readonly id: string;
  readonly key: string | undefined;
  /** The payload as JSON text. */
  readonly body: string;
  readonly publishedAt: number;
}

export function checkStreamName(stream: unknown): string {
  if (typeof stream !== 'string' || !STREAM_PATTERN.test(stream)) {
    throw new StreamValidationError(
      `stream must be 1-64 characters of [A-Za-z0-9_-], got ${JSON.stringify(stream)}`,
    );
  }
  return stream;
}

export function checkPositiveInt(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new StreamValidationError(
      `${name} must be an integer from 1 to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

export function checkNonNegativeInt(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new StreamValidationError(
      `${name} must be an integer from 0 to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Validates and serialises a whole batch before anything is sent, so that one bad message
 * publishes nothing.
 */
export function encodeBatch<T>(
  messages: readonly OutgoingMessage<T>[],
  maxPayloadBytes: number,
): EncodedMessage[] {
  if (!Array.isArray(messages)) {
    throw new StreamValidationError('publishBatch expects an array of messages');
  }
  const now = Date.now();
  return messages.map((message, index) => encodeOne(message, index, maxPayloadBytes, now));
}

function encodeOne<T>(
  message: OutgoingMessage<T>,
  index: number,
  maxPayloadBytes: number,
  now: number,
): EncodedMessage {
  const where = `message ${index}`;
  if (message === null || typeof message !== 'object') {
    throw new StreamValidationError(`${where} must be an object with id and payload`);
  }
  const { id, key, payload } = message;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new StreamValidationError(
      `${where}: id must be a string of 1-${MAX_ID_LENGTH} characters`,
    );
  }
  if (key !== undefined && (typeof key !== 'string' || key.length > MAX_ID_LENGTH)) {
    throw new StreamValidationError(
      `${where}: key must be a string of at most ${MAX_ID_LENGTH} characters`,
    );
  }
  let body: string | undefined;
  try {
    body = JSON.stringify(payload);
  } catch (error) {
    throw new StreamValidationError(
      `${where}: payload is not JSON-serialisable (${(error as Error).message})`,
    );
  }
  if (body === undefined) {
    throw new StreamValidationError(`${where}: payload is not JSON-serialisable`);
  }
  if (Buffer.byteLength(body) > maxPayloadBytes) {
    throw new StreamValidationError(
      `${where}: payload is ${Buffer.byteLength(body)} bytes of JSON, more than ${maxPayloadBytes}`,
    );
  }
  return { id, key, body, publishedAt: now };
}

/** Consumer options with defaults applied. */
export interface ResolvedConsumerOptions {
  readonly group: string;
  readonly name: string;
  readonly batchSize: number;
  readonly maxInFlight: number;
  readonly waitMs: number;
}

export function checkGroup(group: unknown): string {
  if (typeof group !== 'string' || !GROUP_PATTERN.test(group)) {
    throw new StreamValidationError(
      `group must be 1-64 characters of [A-Za-z0-9_-], got ${JSON.stringify(group)}`,
    );
  }
  return group;
}

export function resolveConsumerOptions(
  options: ConsumerOptions,
  randomName: () => string,
): ResolvedConsumerOptions {
  if (options === null || typeof options !== 'object') {
    throw new StreamValidationError('createConsumer expects an options object with a group');
  }
  const group = checkGroup(options.group);
  const name = options.name ?? randomName();
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new StreamValidationError(
      `name must be 1-128 characters of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`,
    );
  }
  const batchSize = checkPositiveInt('batchSize', options.batchSize ?? 100, 10_000);
  const maxInFlight = checkPositiveInt('maxInFlight', options.maxInFlight ?? batchSize, 1_000_000);
  const waitMs = checkNonNegativeInt('waitMs', options.waitMs ?? 1000, 60_000);
  return { group, name, batchSize, maxInFlight, waitMs };
}

export function resolveFetchOptions(
  options: FetchOptions | undefined,
  defaults: ResolvedConsumerOptions,
): { max: number; waitMs: number } {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new StreamValidationError('fetch options must be an object');
  }
  return {
    max: checkPositiveInt('max', options?.max ?? defaults.batchSize, 10_000),
    waitMs: checkNonNegativeInt('waitMs', options?.waitMs ?? defaults.waitMs, 60_000),
  };
}

/** Parses a payload that this package serialised. */
export function decodeBody<T>(body: string): T {
  return JSON.parse(body) as T;
}
