import type { ExpectedVersion } from './types.js';

/** Base class of every error this package throws on purpose; `code` is stable. */
export class EventStoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreError';
    this.code = code;
  }
}

/**
 * The stream was not at the version the caller expected: someone else appended first (or the
 * stream does not exist / already exists). Nothing was written. Reload the stream, decide
 * again and retry.
 */
export class ConcurrencyError extends EventStoreError {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  /** The stream's version when the append was refused; 0 when the stream does not exist. */
  readonly actualVersion: number;
  constructor(streamId: string, expectedVersion: ExpectedVersion, actualVersion: number) {
    super(
      'CONCURRENCY_CONFLICT',
      `Stream "${streamId}": expected version ${describeExpected(expectedVersion)}, ` +
        `but the stream is at version ${actualVersion}${actualVersion === 0 ? ' (no events)' : ''}`,
    );
    this.name = 'ConcurrencyError';
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** An argument was invalid; nothing was read or written. */
export class EventStoreValidationError extends EventStoreError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'EventStoreValidationError';
  }
}

/** An event with this `eventId` is already stored; the append wrote nothing. */
export class DuplicateEventError extends EventStoreError {
  readonly streamId: string;
  constructor(streamId: string, cause: unknown) {
    super(
      'DUPLICATE_EVENT_ID',
      `Stream "${streamId}": an event with one of these eventIds is already stored`,
      { cause },
    );
    this.name = 'DuplicateEventError';
    this.streamId = streamId;
  }
}

/** Reading a stored event failed to upcast it (the upcaster threw or returned nothing). */
export class UpcastError extends EventStoreError {
  constructor(message: string, cause?: unknown) {
    super('UPCAST_FAILED', message, { cause });
    this.name = 'UpcastError';
  }
}

function describeExpected(expected: ExpectedVersion): string {
  switch (expected) {
    case 'no_stream':
      return '"no_stream" (the stream must not exist)';
    case 'stream_exists':
      return '"stream_exists" (the stream must exist)';
    case 'any':
      return '"any"';
    default:
      return String(expected);
  }
}
