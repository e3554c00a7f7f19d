export {
  createEventStore,
  EventStore,
  type EventStoreOptions,
  type AggregateOptions,
  type AggregateResult,
  type HandleOptions,
  type HandleResult,
  type SaveSnapshotInput,
} from './event-store.js';
export {
  pgPoolDatabase,
  pgliteDatabase,
  type SqlExecutor,
  type SqlDatabase,
  type PgPoolLike,
  type PgPoolClientLike,
  type PGliteLike,
} from './executor.js';
export { migrate, type MigrateOptions, type MigrateResult } from './migrate.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
export { START, comparePositions, parsePosition, type ParsedPosition } from './position.js';
export { Subscription, type SubscribeOptions } from './subscription.js';
export { type Upcaster, type UpcastInput } from './upcasting.js';
export {
  EventStoreError,
  ConcurrencyError,
  EventStoreValidationError,
  DuplicateEventError,
  UpcastError,
} from './errors.js';
export type {
  NewEvent,
  RecordedEvent,
  EventMetadata,
  ExpectedVersion,
  AppendOptions,
  AppendResult,
  ReadStreamOptions,
  ReadStreamResult,
  ReadAllOptions,
  ReadAllResult,
  Projection,
  Snapshot,
} from './types.js';
