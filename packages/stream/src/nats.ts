import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { BaseConsumer, type Delivery } from './base-consumer.js';
import { StreamBrokerError, StreamClosedError, StreamValidationError } from './errors.js';
import type {
  ConsumerOptions,
  GroupStats,
  JsonValue,
  OutgoingMessage,
  StreamAdapter,
  StreamCapabilities,
  StreamConsumer,
  StreamProducer,
} from './types.js';
import {
  checkGroup,
  checkNonNegativeInt,
  checkPositiveInt,
  checkStreamName,
  decodeBody,
  DEFAULT_MAX_PAYLOAD_BYTES,
  encodeBatch,
  resolveConsumerOptions,
  type EncodedMessage,
  type ResolvedConsumerOptions,
} from './validate.js';

/** Options of {@link createNatsStream}. Give `servers` or `connection`. */
export interface NatsStreamOptions {
  /** NATS server URL(s), for example `nats://127.0.0.1:4222`. The adapter owns this connection. */
  readonly servers?: string | readonly string[];
  /** An open connection to use instead of `servers`; the adapter never closes it. */
  readonly connection?: NatsConnection;
  /** JetStream stream name. Default `events`. */
  readonly stream?: string;
  /** Messages are published on `subjectPrefix + '.' + stream`. Default `linkforge.stream`. */
  readonly subjectPrefix?: string;
  /**
   * A delivered message not acked within this time is delivered again (the consumer's
   * `ack_wait`): the redelivery time after a consumer dies. Default 30,000 ms.
   */
  readonly ackWaitMs?: number;
  /** Most unacked messages a group may have out at once (`max_ack_pending`). Default 20,000. */
  readonly maxAckPending?: number;
  /**
   * Window in which a re-published message id is dropped as a duplicate (`duplicate_window`),
   * so that a retried publish stores nothing twice. At most `maxAgeMs`. Default 120,000 ms
   * (or `maxAgeMs` when shorter).
   */
  readonly duplicateWindowMs?: number;
  /**
   * Retention limit of the stream when this adapter creates it: messages older than this are
   * dropped, consumed or not (`max_age`). `0` keeps them forever. Default 7 days.
   */
  readonly maxAgeMs?: number;
  /** Retention limit by count when this adapter creates the stream (`max_msgs`). Default unlimited. */
  readonly maxMessages?: number;
  /** Largest serialised payload accepted. Default 512 KiB. */
  readonly maxPayloadBytes?: number;
}

/**
 * NATS JetStream adapter: a file-backed stream, one durable pull consumer per group (its clients
 * share the messages), explicit acks, redelivery after `ack_wait`, and publish deduplication by
 * message id.
 *
 * @example
 * const stream = createNatsStream({ servers: process.env.NATS_URL, stream: 'clicks' });
 * const consumer = await stream.createConsumer({ group: 'analytics', batchSize: 500 });
 * await consumer.run(async (batch) => writeClicks(batch));
 */
export function createNatsStream<T = JsonValue>(options: NatsStreamOptions): StreamAdapter<T> {
  return new NatsStream<T>(options);
}

interface Settings {
  readonly subject: string;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
  readonly duplicateWindowMs: number;
  readonly maxAgeMs: number;
  readonly maxMessages: number;
  readonly maxPayloadBytes: number;
}

interface Session {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

const HEADER_KEY = 'Lf-Key';
/** How long a count of waiting messages is trusted (see `NatsConsumer.pull`). */
const ESTIMATE_TTL_MS = 250;
/** Most publishes awaited at once within one `publishBatch`. */
const PUBLISH_WINDOW = 1000;
const HEADER_PUBLISHED_AT = 'Lf-Published-At';

class NatsStream<T> implements StreamAdapter<T> {
  readonly kind = 'nats' as const;
  readonly stream: string;
  readonly capabilities: StreamCapabilities = {
    totalOrder: true,
    redeliversOnAckTimeout: true,
    countsDeliveries: true,
    durable: true,
  };
  readonly settings: Settings;
  private readonly servers: string[] | undefined;
  private readonly given: NatsConnection | undefined;
  private session: Promise<Session> | undefined;
  private readonly children = new Set<{ close(): Promise<void> }>();
  private closed = false;

  constructor(options: NatsStreamOptions) {
    if (options === null || typeof options !== 'object') {
      throw new StreamValidationError('createNatsStream expects an options object');
    }
    if ((options.servers === undefined) === (options.connection === undefined)) {
      throw new StreamValidationError(
        'createNatsStream needs exactly one of servers or connection',
      );
    }
    this.stream = checkStreamName(options.stream ?? 'events');
    const prefix = options.subjectPrefix ?? 'linkforge.stream';
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
      throw new StreamValidationError(
        'subjectPrefix must be dot-separated tokens of [A-Za-z0-9_-]',
      );
    }
    const maxAgeMs = checkNonNegativeInt(
      'maxAgeMs',
      options.maxAgeMs ?? 7 * 86_400_000,
      3650 * 86_400_000,
    );
    const duplicateWindowMs = checkPositiveInt(
      'duplicateWindowMs',
      options.duplicateWindowMs ?? (maxAgeMs > 0 ? Math.min(120_000, maxAgeMs) : 120_000),
      86_400_000,
    );
    if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs) {
      // JetStream refuses a duplicate window longer than the retention age.
      throw new StreamValidationError(
        `duplicateWindowMs (${duplicateWindowMs}) must not exceed maxAgeMs (${maxAgeMs})`,
      );
    }
    this.settings = {
      subject: `${prefix}.${this.stream}`,
      ackWaitMs: checkPositiveInt('ackWaitMs', options.ackWaitMs ?? 30_000, 86_400_000),
      maxAckPending: checkPositiveInt('maxAckPending', options.maxAckPending ?? 20_000, 10_000_000),
      duplicateWindowMs,
      maxAgeMs,
      maxMessages:
        options.maxMessages === undefined
          ? -1
          : checkPositiveInt('maxMessages', options.maxMessages, Number.MAX_SAFE_INTEGER),
      maxPayloadBytes: checkPositiveInt(
        'maxPayloadBytes',
        options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        64 * 1024 * 1024,
      ),
    };
    if (options.servers !== undefined) {
      const list = typeof options.servers === 'string' ? [options.servers] : [...options.servers];
      if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
        throw new StreamValidationError('servers must be a non-empty URL or list of URLs');
      }
      this.servers = list;
    } else {
      this.given = options.connection;
    }
  }

  /** Connects on first use and makes sure the stream exists. */
  connectOnce(): Promise<Session> {
    this.session ??= this.open().catch((error: unknown) => {
      this.session = undefined;
      throw error instanceof StreamBrokerError
        ? error
        : new StreamBrokerError(`cannot open JetStream stream ${this.stream}`, error);
    });
    return this.session;
  }

  private async open(): Promise<Session> {
    const nc = this.given ?? (await connect({ servers: this.servers as string[] }));
    const jsm = await jetstreamManager(nc);
    const { subject, duplicateWindowMs, maxAgeMs, maxMessages } = this.settings;
    try {
      await jsm.streams.info(this.stream);
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
      await jsm.streams.add({
        name: this.stream,
        subjects: [subject],
        // Limits retention keeps messages for every group, even one created later.
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_age: nanos(maxAgeMs),
        max_msgs: maxMessages,
        duplicate_window: nanos(duplicateWindowMs),
      });
    }
    return { nc, jsm, js: jetstream(nc) };
  }

  async createProducer(): Promise<StreamProducer<T>> {
    this.assertOpen();
    const session = await this.connectOnce();
    const producer = new NatsProducer<T>(this, session);
    this.children.add(producer);
    return producer;
  }

  async createConsumer(options: ConsumerOptions): Promise<StreamConsumer<T>> {
    this.assertOpen();
    const resolved = resolveConsumerOptions(options, () => `c-${randomUUID()}`);
    const session = await this.connectOnce();
    const { jsm, js } = session;
    try {
      await jsm.consumers.info(this.stream, resolved.group);
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) {
        throw new StreamBrokerError(`cannot look up consumer group ${resolved.group}`, error);
      }
      try {
        await jsm.consumers.add(this.stream, {
          durable_name: resolved.group,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(this.settings.ackWaitMs),
          max_ack_pending: this.settings.maxAckPending,
          deliver_policy: DeliverPolicy.All,
          filter_subject: this.settings.subject,
          max_deliver: -1,
        });
      } catch (addError) {
        throw new StreamBrokerError(`cannot create consumer group ${resolved.group}`, addError);
      }
    }
    const consumer = await js.consumers.get(this.stream, resolved.group);
    const wrapped = new NatsConsumer<T>(this, session, consumer, resolved);
    this.children.add(wrapped);
    return wrapped;
  }

  async groupStats(group: string): Promise<GroupStats> {
    checkGroup(group);
    const { jsm } = await this.connectOnce();
    try {
      const info = await jsm.consumers.info(this.stream, group);
      return { backlog: info.num_pending, unacked: info.num_ack_pending };
    } catch (error) {
      if (isApiError(error, JetStreamApiCodes.ConsumerNotFound)) {
        throw new StreamValidationError(`no consumer group ${JSON.stringify(group)}`);
      }
      throw new StreamBrokerError(`cannot read consumer group ${group}`, error);
    }
  }

  forget(child: { close(): Promise<void> }): void {
    this.children.delete(child);
  }

  assertOpen(): void {
    if (this.closed) throw new StreamClosedError(`stream ${this.stream}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A child that fails to close (broker gone) must not keep the connections open.
    await Promise.allSettled([...this.children].map((c) => c.close()));
    if (this.session && this.given === undefined) {
      const { nc } = await this.session.catch(() => ({ nc: undefined }));
      await nc?.drain().catch(() => nc.close());
    }
  }
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

class NatsProducer<T> implements StreamProducer<T> {
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly owner: NatsStream<T>,
    private readonly session: Session,
  ) {}

  publish(message: OutgoingMessage<T>): Promise<void> {
    return this.publishBatch([message]);
  }

  async publishBatch(messages: readonly OutgoingMessage<T>[]): Promise<void> {
    if (this.closed) throw new StreamClosedError('producer');
    this.owner.assertOpen();
    const { subject, maxPayloadBytes } = this.owner.settings;
    const encoded = encodeBatch(messages, maxPayloadBytes);
    if (encoded.length === 0) return;
    const done = this.send(subject, encoded);
    this.inFlight.add(done);
    try {
      await done;
    } catch (error) {
      throw new StreamBrokerError(`publish to ${subject} failed`, error);
    } finally {
      this.inFlight.delete(done);
    }
  }

  /**
   * Publishes go out in order on one connection, so the stream stores them in batch order.
   * Acks are awaited a window at a time: one round trip per window, and a huge batch cannot
   * pile up thousands of outstanding requests that would time out together.
   */
  private async send(subject: string, encoded: EncodedMessage[]): Promise<void> {
    for (let start = 0; start < encoded.length; start += PUBLISH_WINDOW) {
      await Promise.all(
        encoded.slice(start, start + PUBLISH_WINDOW).map((m) => {
          const h = headers();
          h.set(HEADER_PUBLISHED_AT, String(m.publishedAt));
          if (m.key !== undefined) h.set(HEADER_KEY, m.key);
          // msgID makes a retried publish a no-op within the duplicate window.
          return this.session.js.publish(subject, m.body, { msgID: m.id, headers: h });
        }),
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    this.owner.forget(this);
  }
}

class NatsConsumer<T> extends BaseConsumer<T, JsMsg> {
  constructor(
    private readonly owner: NatsStream<T>,
    private readonly session: Session,
    private readonly consumer: Consumer,
    options: ResolvedConsumerOptions,
  ) {
    super(options);
  }

  /** Messages the last `consumer.info()` said were waiting, less those fetched since. */
  private waitingEstimate = 0;
  private estimatedAt = 0;

  protected async pull(
    max: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<Delivery<T, JsMsg>[]> {
    // A JetStream pull request stays open until it has `max` messages or expires; asking only
    // for what is waiting keeps a partly filled batch from sitting out the expiry. The count
    // is re-read once it is used up or older than ESTIMATE_TTL_MS, which saves a round trip
    // per batch while a backlog drains.
    if (this.waitingEstimate <= 0 || Date.now() - this.estimatedAt > ESTIMATE_TTL_MS) {
      const info = await this.consumer.info(false);
      this.waitingEstimate = info.num_pending;
      this.estimatedAt = Date.now();
    }
    const waiting = this.waitingEstimate;
    if (waiting === 0 && (waitMs === 0 || signal.aborted)) return [];
    const batch = waiting > 0 ? Math.min(max, waiting) : 1;
    const messages = await this.consumer.fetch({
      max_messages: batch,
      expires: Math.max(1000, waiting > 0 ? 1000 : waitMs),
    });
    const out: Delivery<T, JsMsg>[] = [];
    try {
      for await (const msg of messages) {
        out.push({ message: this.toMessage(msg), handle: msg });
      }
    } catch (error) {
      // The client ends a pull whose idle heartbeats it missed (a stalled event loop on a busy
      // host does that). The pull is over, not the consumer: keep what arrived, pull again.
      if (!/heartbeats missed/i.test((error as Error)?.message ?? '')) throw error;
    }
    this.waitingEstimate -= out.length;
    return out;
  }

  private toMessage(msg: JsMsg): Delivery<T, JsMsg>['message'] {
    const key = msg.headers?.get(HEADER_KEY);
    const id = msg.headers?.get('Nats-Msg-Id');
    return {
      id: id === undefined || id === '' ? String(msg.seq) : id,
      key: key === undefined || key === '' ? undefined : key,
      payload: decodeBody<T>(msg.string()),
      publishedAt: Number(msg.headers?.get(HEADER_PUBLISHED_AT) ?? 0),
      deliveryCount: msg.info.deliveryCount,
      position: String(msg.seq),
    };
  }

  protected async commit(handles: JsMsg[]): Promise<void> {
    for (const msg of handles) msg.ack();
    // Acks are fire-and-forget; flushing makes sure the server has them before we return.
    await this.session.nc.flush();
  }

  protected async release(handles: JsMsg[]): Promise<void> {
    for (const msg of handles) msg.nak();
    await this.session.nc.flush();
  }

  protected async touch(handles: JsMsg[]): Promise<void> {
    for (const msg of handles) msg.working();
    await this.session.nc.flush();
  }

  protected get ackTimeoutMs(): number {
    return this.owner.settings.ackWaitMs;
  }

  protected async shutdown(): Promise<void> {
    this.owner.forget(this);
  }
}
