/**
 * The stream port: one small interface that every adapter (in-process, Redis Streams, NATS
 * JetStream, Kafka) implements with the same delivery contract.
 */

/** JSON-serialisable values: what a message payload may hold. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A message as a producer hands it to {@link StreamProducer.publish}. */
export interface OutgoingMessage<T = JsonValue> {
  /**
   * Unique id of the event (for example a UUID). Consumers use it to make processing
   * idempotent, because delivery is at-least-once. 1–256 characters.
   */
  readonly id: string;
  /**
   * Ordering key (for example the link id). Messages with the same key are delivered in
   * publish order to a group's only consumer on every adapter; Kafka also uses it to pick the
   * partition. Optional, at most 256 characters.
   */
  readonly key?: string;
  /** The event itself; serialised as JSON. */
  readonly payload: T;
}

/** A message as a consumer receives it. */
export interface StreamMessage<T = JsonValue> {
  /** The event id given by the producer. */
  readonly id: string;
  /** The ordering key given by the producer, or `undefined`. */
  readonly key: string | undefined;
  readonly payload: T;
  /** When the producer published it (milliseconds since the epoch, producer's clock). */
  readonly publishedAt: number;
  /**
   * How many times this message has been handed to a consumer of this group, counting this
   * delivery (1 on first delivery). A value above 1 means an earlier consumer did not ack it.
   */
  readonly deliveryCount: number;
  /** Where the message sits in the broker (Redis entry id, JetStream sequence, `partition:offset`). */
  readonly position: string;
}

/** Options of {@link StreamAdapter.createConsumer}. */
export interface ConsumerOptions {
  /**
   * Consumer group. Consumers of one group share the messages (each message goes to one of
   * them); every group receives every message. 1–64 characters of `[A-Za-z0-9_-]`.
   */
  readonly group: string;
  /**
   * Name of this consumer inside its group, unique per process. Default: a random name. Reusing
   * a name after a restart lets a Redis consumer pick its own pending messages back up at once.
   */
  readonly name?: string;
  /** Largest batch one {@link StreamConsumer.fetch} returns. Default 100, at most 10,000. */
  readonly batchSize?: number;
  /**
   * How many delivered but unacknowledged messages this consumer may hold. Once reached,
   * `fetch` returns nothing until some are acked: the broker keeps the rest (backpressure).
   * Default `batchSize`, so a consumer holds one batch at a time.
   */
  readonly maxInFlight?: number;
  /** How long `fetch` waits for the first message when none is ready. Default 1,000 ms. */
  readonly waitMs?: number;
}

/** Options of {@link StreamConsumer.fetch}. */
export interface FetchOptions {
  /** At most this many messages (default: the consumer's `batchSize`). */
  readonly max?: number;
  /** How long to wait for the first message (default: the consumer's `waitMs`). */
  readonly waitMs?: number;
}

/** Options of {@link StreamConsumer.run}. */
export interface RunOptions<T> {
  /**
   * Called when the handler throws. The batch is released unacknowledged (it will be
   * delivered again) and the loop goes on after `retryDelayMs`. Without `onError`, `run`
   * rejects with the handler's error instead.
   */
  readonly onError?: (error: unknown, batch: readonly StreamMessage<T>[]) => void;
  /** Pause after a failed batch before fetching again. Default 1,000 ms. */
  readonly retryDelayMs?: number;
  /** Stops the loop like {@link StreamConsumer.close} does, without closing the consumer. */
  readonly signal?: AbortSignal;
}

/** Publishes messages to one stream. */
export interface StreamProducer<T = JsonValue> {
  /**
   * Publishes one message. Resolves once the broker has stored it (Redis: `XADD` replied;
   * JetStream: publish acknowledged; Kafka: acknowledged by all in-sync replicas).
   */
  publish(message: OutgoingMessage<T>): Promise<void>;
  /**
   * Publishes messages in order and resolves once the broker has stored all of them. Every
   * message is validated before anything is sent, so bad input publishes nothing. If the call
   * rejects after validation, a prefix of the batch may have been stored: publishing the batch
   * again is safe because consumers deduplicate by id.
   *
   * @example
   * await producer.publishBatch([
   *   { id: 'evt_1', key: 'link_42', payload: { linkId: 'link_42', at: Date.now() } },
   *   { id: 'evt_2', key: 'link_42', payload: { linkId: 'link_42', at: Date.now() } },
   * ]);
   */
  publishBatch(messages: readonly OutgoingMessage<T>[]): Promise<void>;
  /** Waits for publishes under way, then releases the producer. Idempotent. */
  close(): Promise<void>;
}

/** Receives messages of one consumer group, in batches, with explicit acknowledgement. */
export interface StreamConsumer<T = JsonValue> {
  readonly group: string;
  readonly name: string;
  /**
   * Returns the next batch: up to `max` messages, waiting up to `waitMs` for the first one
   * (an empty array when none came). Messages stay assigned to this consumer until
   * {@link ack}ed; unacked ones are delivered again (to any consumer of the group) after the
   * adapter's ack timeout, or sooner when this consumer closes.
   */
  fetch(options?: FetchOptions): Promise<StreamMessage<T>[]>;
  /**
   * Acknowledges processed messages, which are then never delivered to this group again.
   * Ack after the batch's effects are durable. Acking a message twice is harmless.
   */
  ack(messages: readonly StreamMessage<T>[]): Promise<void>;
  /**
   * Fetch–handle–ack loop: calls `handler` with each non-empty batch and acks the batch when
   * the handler resolves. Resolves after {@link close} (or the signal) stops it.
   *
   * @example
   * const consumer = await stream.createConsumer({ group: 'analytics', batchSize: 500 });
   * process.once('SIGTERM', () => void consumer.close());
   * await consumer.run(async (batch) => {
   *   await writeClicks(batch); // idempotent by message id
   * });
   */
  run(
    handler: (batch: readonly StreamMessage<T>[]) => Promise<void>,
    options?: RunOptions<T>,
  ): Promise<void>;
  /**
   * Tells the broker these messages are still being processed, restarting their ack timeout so
   * that they are not redelivered to another consumer meanwhile. `run` does this by itself
   * while a handler runs; call it when processing a fetched batch takes longer than the ack
   * timeout. Messages already acked, or claimed by another consumer, are left alone.
   */
  extend(messages: readonly StreamMessage<T>[]): Promise<void>;
  /** Messages delivered to this consumer and not yet acked. */
  readonly inFlight: number;
  /**
   * Stops fetching, lets a running `run` handler finish and ack its batch (drain), hands any
   * other unacked message back for redelivery, and releases the consumer's connection.
   * Idempotent.
   */
  close(): Promise<void>;
}

/** What an adapter promises beyond the common contract. */
export interface StreamCapabilities {
  /**
   * `true` when a group's only consumer receives every message in publish order, whatever the
   * key (one log). `false` when order is kept per key only (Kafka partitions).
   */
  readonly totalOrder: boolean;
  /**
   * `true` when a message held unacked past the ack timeout is delivered to another consumer
   * even while the holder is alive. Kafka only redelivers after the holder leaves the group.
   */
  readonly redeliversOnAckTimeout: boolean;
  /**
   * `true` when {@link StreamMessage.deliveryCount} counts redeliveries. Kafka keeps no such
   * count and always reports 1.
   */
  readonly countsDeliveries: boolean;
  /** `true` when messages survive a restart of the process that publishes them. */
  readonly durable: boolean;
}

/** Progress of one consumer group, for metrics and health checks. */
export interface GroupStats {
  /**
   * Messages the group has not received yet (its lag). On Kafka: messages after the committed
   * offset, so unacked ones count too. `undefined` when the broker cannot tell (Redis after
   * some trims or deletions).
   */
  readonly backlog: number | undefined;
  /** Messages delivered to a consumer of the group and not acked yet; `undefined` on Kafka. */
  readonly unacked: number | undefined;
}

/** One stream on one broker: makes producers and consumers for it. */
export interface StreamAdapter<T = JsonValue> {
  /** Which adapter this is. */
  readonly kind: 'in-process' | 'redis' | 'nats' | 'kafka';
  /** The stream (topic) name. */
  readonly stream: string;
  readonly capabilities: StreamCapabilities;
  /** Creates a producer. Connections are opened on first use and shared by the adapter. */
  createProducer(): Promise<StreamProducer<T>>;
  /** Joins `options.group` (creating the group when it does not exist yet). */
  createConsumer(options: ConsumerOptions): Promise<StreamConsumer<T>>;
  /**
   * Backlog and unacked counts of a group, e.g. for a `/metrics` gauge or an alert on a
   * stalled worker. Throws `StreamValidationError` for a group that does not exist.
   *
   * @example
   * const { backlog, unacked } = await stream.groupStats('analytics');
   */
  groupStats(group: string): Promise<GroupStats>;
  /** Closes every producer and consumer made by this adapter, then its connections. */
  close(): Promise<void>;
}
