import type { SqlExecutor } from './executor.js';

/** Free-form event metadata (correlation ids, user, …); a JSON object. */
export type EventMetadata = Record<string, unknown>;

/** An event to append. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  /** Event type, e.g. `"deposited"`; 1–200 characters. */
  readonly type: Type;
  /** Payload; must be JSON-serialisable. */
  readonly data: Data;
  readonly metadata?: EventMetadata;
  /**
   * Unique id (UUID). Defaults to a random UUID; give your own to make a retried append fail
   * with {@link DuplicateEventError} instead of storing the event twice.
   */
  readonly eventId?: string;
  /**
   * Schema version of `data`. Defaults to the latest version the configured upcasters lead to
   * for this type (1 when there are none).
   */
  readonly schemaVersion?: number;
}

/** An event as stored, after upcasting to its latest schema version. */
export interface RecordedEvent<Type extends string = string, Data = unknown> {
  readonly eventId: string;
  readonly streamId: string;
  /** 1 for the stream's first event, then 2, 3, … without gaps. */
  readonly streamVersion: number;
  /**
   * Place in the global order, as `"<transactionId>:<sequence>"`. Compare with
   * {@link comparePositions}; pass to `readAll({ after })`.
   */
  readonly position: string;
  readonly type: Type;
  readonly data: Data;
  readonly metadata: EventMetadata;
  readonly schemaVersion: number;
  readonly createdAt: Date;
}

/**
 * What the stream's version must be for an append to go ahead.
 * - a number: exactly that many events are in the stream (0 = the stream does not exist);
 * - `'no_stream'`: the stream must not exist (same as 0);
 * - `'stream_exists'`: the stream must have at least one event;
 * - `'any'`: no check.
 */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

export interface AppendOptions {
  /** Default `'any'`. */
  readonly expectedVersion?: ExpectedVersion;
  /**
   * A transaction the caller owns. The append (and the inline projections) run inside it and
   * commit or roll back with it; the store issues no `BEGIN`/`COMMIT` of its own. When the
   * append throws after writing (an inline projection failed), roll that transaction back.
   */
  readonly tx?: SqlExecutor;
}

export interface AppendResult {
  /** The stream's version after the append: pass it as the next `expectedVersion`. */
  readonly nextExpectedVersion: number;
  /** The appended events as recorded (positions are final once the transaction commits). */
  readonly events: readonly RecordedEvent[];
}

export interface ReadStreamOptions {
  /** First stream version to return; default 1. */
  readonly fromVersion?: number;
  /** Last stream version to return (inclusive); default: to the end. */
  readonly toVersion?: number;
  /** At most this many events; default: all. */
  readonly limit?: number;
  readonly tx?: SqlExecutor;
}

export interface ReadStreamResult {
  /** `false` when the stream has no events at all. */
  readonly exists: boolean;
  /** The stream's current version (0 when it does not exist). */
  readonly version: number;
  readonly events: readonly RecordedEvent[];
}

export interface ReadAllOptions {
  /** Return events strictly after this position; default {@link START}. */
  readonly after?: string;
  /** At most this many events; default 1000, at most 10 000. */
  readonly limit?: number;
  readonly tx?: SqlExecutor;
}

export interface ReadAllResult {
  readonly events: readonly RecordedEvent[];
  /** Where the next read continues: the last event's position, or `after` when empty. */
  readonly position: string;
  /** `true` when fewer than `limit` events were returned: the reader has caught up. */
  readonly caughtUp: boolean;
}

/**
 * Reacts to events. Used inline (inside the appending transaction) and by subscriptions
 * (asynchronously, at least once, in global order). Write handlers to be idempotent: an async
 * projection may see a batch again after a crash.
 */
export interface Projection {
  /** Unique name; subscriptions store their checkpoint under it. */
  readonly name: string;
  /** Only these event types reach `handle`; default: all. */
  readonly eventTypes?: readonly string[];
  /**
   * Applies a batch. `tx` is the transaction the batch runs in: for an inline projection the
   * appending transaction; for a subscription the transaction that also stores its checkpoint,
   * so writes made through `tx` commit exactly once with it.
   */
  handle(events: readonly RecordedEvent[], tx: SqlExecutor): Promise<void>;
}

/** A stored snapshot of a stream's state. */
export interface Snapshot<State = unknown> {
  readonly streamId: string;
  readonly name: string;
  /** Stream version the state includes. */
  readonly version: number;
  readonly schemaVersion: number;
  readonly state: State;
  readonly createdAt: Date;
}
