import {
  ConcurrencyError,
  DuplicateEventError,
  EventStoreError,
  EventStoreValidationError,
} from './errors.js';
import { rowsOf, type SqlDatabase, type SqlExecutor } from './executor.js';
import { migrate, type MigrateResult } from './migrate.js';
import { formatPosition, parsePosition, START } from './position.js';
import {
  appendStatement,
  prepareEvents,
  type AppendedRow,
  type PreparedEvents,
} from './append-statement.js';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './rows.js';
import { DEFAULT_SCHEMA, quoteSchema } from './schema.js';
import { Subscription, type SubscribeOptions } from './subscription.js';
import type {
  AppendOptions,
  AppendResult,
  ExpectedVersion,
  NewEvent,
  Projection,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  Snapshot,
} from './types.js';
import { Upcasters, type Upcaster } from './upcasting.js';
import {
  checkExpectedVersion,
  checkName,
  checkStreamId,
  checkVersionNumber,
  toJson,
} from './validate.js';

export interface EventStoreOptions {
  /** Where the events live: {@link pgPoolDatabase}, {@link pgliteDatabase} or your own. */
  readonly db: SqlDatabase;
  /** PostgreSQL schema of the tables; default `"eventstore"`. Run {@link migrate} first. */
  readonly schema?: string;
  /** Event versioning: applied to every event read. Default: none. */
  readonly upcasters?: readonly Upcaster[];
  /**
   * Projections run inside every appending transaction, after the events are inserted: their
   * writes commit or roll back with the events. Default: none.
   */
  readonly inlineProjections?: readonly Projection[];
}

/** How {@link EventStore.aggregateStream} folds a stream into state. */
export interface AggregateOptions<State> {
  /** State before the first event. */
  initialState(): State;
  /** Returns the state after `event`; must not mutate `state` when snapshots are used. */
  evolve(state: State, event: RecordedEvent): State;
  /**
   * Keep a snapshot under `name`. `schemaVersion` (default 1) versions the *state* shape: a
   * stored snapshot with another schema version is ignored and rebuilt. A new snapshot is
   * written when at least `every` (default 100) events were folded on top of the last one.
   */
  readonly snapshot?: {
    readonly name: string;
    readonly schemaVersion?: number;
    readonly every?: number;
  };
}

export interface AggregateResult<State> {
  readonly state: State;
  /** Stream version the state includes; use it as `expectedVersion`. */
  readonly version: number;
  readonly exists: boolean;
}

export interface HandleOptions {
  readonly tx?: SqlExecutor;
  /** Retries after a {@link ConcurrencyError}; default 3. */
  readonly maxRetries?: number;
}

export interface HandleResult<State> extends AppendResult {
  /** State after the new events. */
  readonly state: State;
}

export interface SaveSnapshotInput<State> {
  /** Default `"default"`. */
  readonly name?: string;
  readonly version: number;
  readonly state: State;
  /** Default 1. */
  readonly schemaVersion?: number;
}

const MAX_READ_ALL = 10_000;
const DEFAULT_READ_ALL = 1_000;

/**
 * Creates an event store over `options.db`.
 *
 * @example
 * const db = pgPoolDatabase(new pg.Pool({ connectionString }));
 * await migrate(db);
 * const store = createEventStore({ db });
 * await store.append('account-1', [{ type: 'deposited', data: { amount: 100 } }], {
 *   expectedVersion: 'no_stream',
 * });
 */
export function createEventStore(options: EventStoreOptions): EventStore {
  return new EventStore(options);
}

/** A PostgreSQL event store; see the package README for the full reference. */
export class EventStore {
  readonly db: SqlDatabase;
  readonly schema: string;
  /** @internal quoted schema for SQL */
  readonly s: string;
  /** @internal */
  readonly upcasters: Upcasters;
  private readonly inline: readonly Projection[];
  private readonly running = new Set<Subscription>();

  constructor(options: EventStoreOptions) {
    if (
      !options ||
      typeof options.db?.query !== 'function' ||
      typeof options.db.transaction !== 'function'
    ) {
      throw new EventStoreValidationError(
        'options.db must be a SqlDatabase (query + transaction), e.g. pgPoolDatabase(pool)',
      );
    }
    this.db = options.db;
    this.schema = options.schema ?? DEFAULT_SCHEMA;
    this.s = quoteSchema(this.schema);
    this.upcasters = new Upcasters(options.upcasters);
    this.inline = [...(options.inlineProjections ?? [])];
    for (const p of this.inline) checkProjection(p);
  }

  /** Creates or upgrades this store's tables; see {@link migrate}. */
  migrate(): Promise<MigrateResult> {
    return migrate(this.db, { schema: this.schema });
  }

  /**
   * Runs `fn` in one transaction of the store's database. Pass `tx` to `append` and your own
   * queries so they commit together.
   *
   * @example
   * await store.transaction(async (tx) => {
   *   await store.append('order-7', [{ type: 'placed', data: {} }], { tx, expectedVersion: 0 });
   *   await tx.query('UPDATE stock SET n = n - 1 WHERE sku = $1', ['A']);
   * });
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /**
   * Appends events to a stream, atomically: all or none. With `expectedVersion` the append
   * is refused with {@link ConcurrencyError} (nothing written) unless the stream is at that
   * version. Without inline projections and without `tx` the append is one SQL statement.
   *
   * @example
   * const { nextExpectedVersion } = await store.append(
   *   'account-1',
   *   [{ type: 'withdrawn', data: { amount: 30 } }],
   *   { expectedVersion: 4 },
   * );
   */
  async append(
    streamId: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    checkStreamId(streamId);
    const expected = checkExpectedVersion(options.expectedVersion ?? 'any');
    const payload = prepareEvents(streamId, events, this.upcasters);
    // Inside the caller's transaction nothing is committed yet: no one to wake.
    if (options.tx) return this.appendWith(options.tx, streamId, expected, payload);
    const result =
      this.inline.length === 0 || payload.count === 0
        ? await this.appendWith(this.db, streamId, expected, payload)
        : await this.db.transaction((tx) => this.appendWith(tx, streamId, expected, payload));
    const last = result.events[result.events.length - 1];
    if (last) for (const sub of this.running) sub.poke(last.position);
    return result;
  }

  /** @internal a subscription that started polling */
  attach(subscription: Subscription): void {
    this.running.add(subscription);
  }

  /** @internal a subscription that stopped */
  detach(subscription: Subscription): void {
    this.running.delete(subscription);
  }

  /**
   * Reads one stream in version order. Reads committed data: no horizon applies within a
   * stream, whose order is its version.
   *
   * @example
   * const { version, events } = await store.readStream('account-1');
   */
  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    checkStreamId(streamId);
    const from = checkVersionNumber(options.fromVersion ?? 1, 'fromVersion', 1);
    const to =
      options.toVersion === undefined
        ? null
        : checkVersionNumber(options.toVersion, 'toVersion', 0);
    const limit =
      options.limit === undefined ? null : checkVersionNumber(options.limit, 'limit', 1);
    const ex = options.tx ?? this.db;
    const versionRows = await rowsOf<{ version: string }>(
      ex,
      `SELECT version::text AS version FROM ${this.s}.streams WHERE stream_id = $1`,
      [streamId],
    );
    const version = versionRows[0] ? Number(versionRows[0].version) : 0;
    if (version === 0) return { exists: false, version: 0, events: [] };
    const upper = to === null ? version : Math.min(to, version);
    if (from > upper) return { exists: true, version, events: [] };
    const rows = await rowsOf<EventRow>(
      ex,
      `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events e
        WHERE e.stream_id = $1 AND e.version >= $2::bigint AND e.version <= $3::bigint
        ORDER BY e.version ${limit === null ? '' : 'LIMIT $4::bigint'}`,
      limit === null ? [streamId, from, upper] : [streamId, from, upper, limit],
    );
    return { exists: true, version, events: rows.map((r) => toRecordedEvent(r, this.upcasters)) };
  }

  /**
   * Reads every stream's events in the global order, strictly after `after`. Returns only
   * events below the transaction horizon: an event whose transaction is still running (and
   * every event after it in the order) is withheld until that transaction ends, so a reader
   * that continues from the returned `position` never skips an event that commits late.
   *
   * @example
   * let position = START;
   * for (;;) {
   *   const page = await store.readAll({ after: position, limit: 500 });
   *   for (const e of page.events) apply(e);
   *   position = page.position;
   *   if (page.caughtUp) break;
   * }
   */
  async readAll(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = options.after ?? START;
    const p = parsePosition(after);
    const limit = checkVersionNumber(options.limit ?? DEFAULT_READ_ALL, 'limit', 1);
    if (limit > MAX_READ_ALL) {
      throw new EventStoreValidationError(`limit must be at most ${MAX_READ_ALL}, got ${limit}`);
    }
    const rows = await rowsOf<EventRow>(
      options.tx ?? this.db,
      `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events e
        WHERE (e.position_tx, e.sequence) > ($1::text::xid8, $2::bigint)
          AND e.position_tx < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY e.position_tx, e.sequence
        LIMIT $3::bigint`,
      [p.transactionId.toString(), p.sequence.toString(), limit],
    );
    const events = rows.map((r) => toRecordedEvent(r, this.upcasters));
    const last = events[events.length - 1];
    return { events, position: last ? last.position : after, caughtUp: events.length < limit };
  }

  /**
   * The position of the last event a reader can see now (below the horizon), or
   * {@link START} when there is none.
   */
  async headPosition(options: { tx?: SqlExecutor } = {}): Promise<string> {
    const rows = await rowsOf<{ position_tx: string; sequence: string }>(
      options.tx ?? this.db,
      `SELECT e.position_tx::text AS position_tx, e.sequence::text AS sequence
         FROM ${this.s}.events e
        WHERE e.position_tx < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY e.position_tx DESC, e.sequence DESC
        LIMIT 1`,
    );
    const row = rows[0];
    return row ? formatPosition(row.position_tx, row.sequence) : START;
  }

  /**
   * Waits until `readAll` can return the event at `position`, i.e. until every transaction
   * that started before it has ended. Useful right after an append when you then read all or
   * catch a subscription up. Times out with {@link EventStoreError} `HORIZON_TIMEOUT` naming
   * the oldest open transaction on the server (it holds the horizon for every database on it).
   *
   * @example
   * const { events } = await store.append('a', [{ type: 'x', data: 1 }]);
   * await store.waitForVisibility(events[0]!.position);
   */
  async waitForVisibility(
    position: string,
    options: { timeoutMs?: number; pollIntervalMs?: number } = {},
  ): Promise<void> {
    const p = parsePosition(position);
    const timeoutMs = checkVersionNumber(options.timeoutMs ?? 30_000, 'timeoutMs', 0);
    const interval = checkVersionNumber(options.pollIntervalMs ?? 20, 'pollIntervalMs', 1);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await rowsOf<{ visible: boolean }>(
        this.db,
        'SELECT $1::text::xid8 < pg_snapshot_xmin(pg_current_snapshot()) AS visible',
        [p.transactionId.toString()],
      );
      if (rows[0]?.visible) return;
      if (Date.now() >= deadline) {
        throw new EventStoreError(
          'HORIZON_TIMEOUT',
          `position ${position} is not readable after ${timeoutMs} ms: an older transaction is ` +
            `still open${await this.oldestOpenTransaction()}`,
        );
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  /** Describes the oldest transaction holding the horizon back, for error messages. */
  private async oldestOpenTransaction(): Promise<string> {
    try {
      const rows = await rowsOf<{ what: string }>(
        this.db,
        `SELECT what FROM (
           SELECT format('transaction of pid %s in database %s, started %s',
                         pid, coalesce(datname, '?'), xact_start) AS what,
                  age(backend_xid) AS age
             FROM pg_stat_activity WHERE backend_xid IS NOT NULL
           UNION ALL
           SELECT format('prepared transaction %s in database %s, prepared %s',
                         gid, database, prepared),
                  age(transaction)
             FROM pg_prepared_xacts
         ) t ORDER BY age DESC LIMIT 1`,
      );
      return rows[0] ? ` (oldest: ${rows[0].what})` : '';
    } catch {
      return '';
    }
  }

  /**
   * Stores a snapshot of a stream's state at `version`, replacing an older one of the same
   * name. A snapshot older than the stored one (same schema version) is ignored.
   */
  async saveSnapshot<State>(
    streamId: string,
    snapshot: SaveSnapshotInput<State>,
    options: { tx?: SqlExecutor } = {},
  ): Promise<void> {
    checkStreamId(streamId);
    const name = snapshot?.name ?? 'default';
    checkName(name, 'snapshot name');
    const version = checkVersionNumber(snapshot.version, 'snapshot version', 0);
    const schemaVersion = checkVersionNumber(
      snapshot.schemaVersion ?? 1,
      'snapshot schemaVersion',
      1,
    );
    const state = toJson(snapshot.state, 'snapshot state');
    await (options.tx ?? this.db).query(
      `INSERT INTO ${this.s}.snapshots AS sn (stream_id, name, version, schema_version, state)
       VALUES ($1, $2, $3::bigint, $4::int, $5::jsonb)
       ON CONFLICT (stream_id, name) DO UPDATE
         SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version,
             state = EXCLUDED.state, created_at = now()
       WHERE sn.version < EXCLUDED.version OR sn.schema_version <> EXCLUDED.schema_version`,
      [streamId, name, version, schemaVersion, state],
    );
  }

  /** Loads a stream's snapshot, or `undefined` when there is none. */
  async loadSnapshot<State = unknown>(
    streamId: string,
    options: { name?: string; tx?: SqlExecutor } = {},
  ): Promise<Snapshot<State> | undefined> {
    checkStreamId(streamId);
    const name = options.name ?? 'default';
    checkName(name, 'snapshot name');
    const rows = await rowsOf<{
      version: string;
      schema_version: number;
      state: State;
      created_at: Date | string;
    }>(
      options.tx ?? this.db,
      `SELECT version::text AS version, schema_version, state, created_at
         FROM ${this.s}.snapshots WHERE stream_id = $1 AND name = $2`,
      [streamId, name],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      streamId,
      name,
      version: Number(row.version),
      schemaVersion: Number(row.schema_version),
      state: row.state,
      createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
    };
  }

  /**
   * Rebuilds a stream's state by replaying its events (from the snapshot when one is
   * configured and current), and refreshes the snapshot when enough events were replayed.
   *
   * @example
   * const { state, version } = await store.aggregateStream('account-1', {
   *   initialState: () => ({ balance: 0 }),
   *   evolve: (s, e) => (e.type === 'deposited' ? { balance: s.balance + e.data.amount } : s),
   * });
   */
  async aggregateStream<State>(
    streamId: string,
    aggregate: AggregateOptions<State>,
    options: { tx?: SqlExecutor } = {},
  ): Promise<AggregateResult<State>> {
    checkStreamId(streamId);
    if (typeof aggregate?.initialState !== 'function' || typeof aggregate.evolve !== 'function') {
      throw new EventStoreValidationError(
        'aggregate needs initialState() and evolve(state, event)',
      );
    }
    const snap = aggregate.snapshot;
    const schemaVersion = snap
      ? checkVersionNumber(snap.schemaVersion ?? 1, 'snapshot.schemaVersion', 1)
      : 1;
    const every = snap ? checkVersionNumber(snap.every ?? 100, 'snapshot.every', 1) : 0;
    let state = aggregate.initialState();
    let fromVersion = 1;
    if (snap) {
      const stored = await this.loadSnapshot<State>(streamId, { name: snap.name, tx: options.tx });
      if (stored && stored.schemaVersion === schemaVersion) {
        state = stored.state;
        fromVersion = stored.version + 1;
      }
    }
    const read = await this.readStream(streamId, { fromVersion, tx: options.tx });
    for (const event of read.events) state = aggregate.evolve(state, event);
    const version =
      read.events.length > 0 ? read.events[read.events.length - 1]!.streamVersion : fromVersion - 1;
    if (snap && read.events.length >= every) {
      await this.saveSnapshot(
        streamId,
        { name: snap.name, version, state, schemaVersion },
        { tx: options.tx },
      );
    }
    return { state, version, exists: read.exists };
  }

  /**
   * The command pattern: rebuilds the state, lets `decide` return new events (or throw to
   * refuse the command), appends them with the version it read and retries from the start
   * when another writer got there first.
   *
   * @example
   * await store.handle('account-1', account, (state) => {
   *   if (state.balance < 30) throw new Error('insufficient funds');
   *   return [{ type: 'withdrawn', data: { amount: 30 } }];
   * });
   */
  async handle<State>(
    streamId: string,
    aggregate: AggregateOptions<State>,
    decide: (state: State, version: number) => readonly NewEvent[] | Promise<readonly NewEvent[]>,
    options: HandleOptions = {},
  ): Promise<HandleResult<State>> {
    const maxRetries = checkVersionNumber(options.maxRetries ?? 3, 'maxRetries', 0);
    for (let attempt = 0; ; attempt++) {
      const current = await this.aggregateStream(streamId, aggregate, { tx: options.tx });
      const events = await decide(current.state, current.version);
      try {
        const result = await this.append(streamId, events, {
          expectedVersion: current.version,
          tx: options.tx,
        });
        let state = current.state;
        for (const e of result.events) state = aggregate.evolve(state, e);
        return { ...result, state };
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= maxRetries) throw err;
      }
    }
  }

  /**
   * Starts an asynchronous projection: `projection.handle` receives every event in global
   * order, in batches, at least once; the checkpoint is stored under `projection.name`.
   *
   * @example
   * const sub = store.subscribe(balances, { pollIntervalMs: 200 });
   * await sub.catchUp();
   * await sub.stop();
   */
  subscribe(projection: Projection, options: SubscribeOptions = {}): Subscription {
    checkProjection(projection);
    return new Subscription(this, projection, options);
  }

  /** The stored checkpoint of a subscription, or `undefined` before its first batch. */
  async getCheckpoint(
    name: string,
    options: { tx?: SqlExecutor } = {},
  ): Promise<string | undefined> {
    checkName(name, 'subscription name');
    const rows = await rowsOf<{ position_tx: string; sequence: string }>(
      options.tx ?? this.db,
      `SELECT position_tx::text AS position_tx, sequence::text AS sequence
         FROM ${this.s}.subscriptions WHERE name = $1`,
      [name],
    );
    const row = rows[0];
    return row ? formatPosition(row.position_tx, row.sequence) : undefined;
  }

  /** Sets a subscription's checkpoint, e.g. `START` to rebuild a projection from scratch. */
  async setCheckpoint(
    name: string,
    position: string,
    options: { tx?: SqlExecutor } = {},
  ): Promise<void> {
    checkName(name, 'subscription name');
    const p = parsePosition(position);
    await (options.tx ?? this.db).query(
      `INSERT INTO ${this.s}.subscriptions (name, position_tx, sequence)
       VALUES ($1, $2::text::xid8, $3::bigint)
       ON CONFLICT (name) DO UPDATE
         SET position_tx = EXCLUDED.position_tx, sequence = EXCLUDED.sequence,
             updated_at = now()`,
      [name, p.transactionId.toString(), p.sequence.toString()],
    );
  }

  private async appendWith(
    ex: SqlExecutor,
    streamId: string,
    expected: ExpectedVersion,
    payload: PreparedEvents,
  ): Promise<AppendResult> {
    if (payload.count === 0) {
      const actual = await this.streamVersion(ex, streamId);
      if (!versionMatches(expected, actual)) throw new ConcurrencyError(streamId, expected, actual);
      return { nextExpectedVersion: actual, events: [] };
    }
    const { sql, params } = appendStatement(this.s, streamId, expected, payload);
    let rows: AppendedRow[];
    try {
      rows = await rowsOf<AppendedRow>(ex, sql, params);
    } catch (err) {
      if (isUniqueViolation(err, 'events_event_id_key'))
        throw new DuplicateEventError(streamId, err);
      throw err;
    }
    if (rows.length === 0) {
      throw new ConcurrencyError(streamId, expected, await this.streamVersion(ex, streamId));
    }
    // Rebuild the recorded events from what was sent rather than have the database echo
    // every payload back; parsing the sent JSON gives exactly what a later read returns.
    const recorded = rows.map((r, i) => {
      const item = payload.items[i]!;
      return toRecordedEvent(
        {
          position_tx: r.position_tx,
          sequence: r.sequence,
          event_id: item.id,
          stream_id: streamId,
          version: r.version,
          type: item.type,
          schema_version: item.v,
          data: JSON.parse(item.data) as unknown,
          metadata: JSON.parse(item.meta) as Record<string, unknown>,
          created_at: r.created_at,
        },
        this.upcasters,
      );
    });
    for (const projection of this.inline) {
      const relevant = filterTypes(projection, recorded);
      if (relevant.length > 0) await projection.handle(relevant, ex);
    }
    return {
      nextExpectedVersion: recorded[recorded.length - 1]!.streamVersion,
      events: recorded,
    };
  }

  private async streamVersion(ex: SqlExecutor, streamId: string): Promise<number> {
    const rows = await rowsOf<{ version: string }>(
      ex,
      `SELECT version::text AS version FROM ${this.s}.streams WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0] ? Number(rows[0].version) : 0;
  }
}

function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}

/** @internal */
export function filterTypes(
  projection: Projection,
  events: readonly RecordedEvent[],
): readonly RecordedEvent[] {
  const types = projection.eventTypes;
  if (!types) return events;
  return events.filter((e) => types.includes(e.type));
}

function checkProjection(p: Projection): void {
  if (!p || typeof p.handle !== 'function') {
    throw new EventStoreValidationError('a projection needs a name and handle(events, tx)');
  }
  checkName(p.name, 'projection name');
  if (p.eventTypes !== undefined && !Array.isArray(p.eventTypes)) {
    throw new EventStoreValidationError(`projection "${p.name}": eventTypes must be an array`);
  }
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code !== '23505') return false;
  return (
    e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint))
  );
}
