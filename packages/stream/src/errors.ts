/** Stable codes of {@link StreamError}. */
export type StreamErrorCode =
  | 'STREAM_INVALID_ARGUMENT'
  | 'STREAM_CLOSED'
  | 'STREAM_FULL'
  | 'STREAM_FOREIGN_MESSAGE'
  | 'STREAM_BROKER';

/** Base class of every error this package throws; `code` is stable, the message is for people. */
export class StreamError extends Error {
  readonly code: StreamErrorCode;
  constructor(code: StreamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StreamError';
    this.code = code;
  }
}

/** A caller passed something invalid; nothing was published or changed. */
export class StreamValidationError extends StreamError {
  constructor(message: string) {
    super('STREAM_INVALID_ARGUMENT', message);
    this.name = 'StreamValidationError';
  }
}

/** The producer, consumer or adapter was closed before or during the call. */
export class StreamClosedError extends StreamError {
  constructor(what: string) {
    super('STREAM_CLOSED', `${what} is closed`);
    this.name = 'StreamClosedError';
  }
}

/** The in-process stream stayed at capacity for longer than `publishTimeoutMs`. */
export class StreamFullError extends StreamError {
  constructor(message: string) {
    super('STREAM_FULL', message);
    this.name = 'StreamFullError';
  }
}

/** `ack` was given a message this consumer never delivered. */
export class ForeignMessageError extends StreamError {
  constructor(id: string) {
    super(
      'STREAM_FOREIGN_MESSAGE',
      `message ${JSON.stringify(id)} was not delivered by this consumer`,
    );
    this.name = 'ForeignMessageError';
  }
}

/** The broker refused or failed an operation; `cause` holds the client's error. */
export class StreamBrokerError extends StreamError {
  constructor(message: string, cause: unknown) {
    super('STREAM_BROKER', message, { cause });
    this.name = 'StreamBrokerError';
  }
}
