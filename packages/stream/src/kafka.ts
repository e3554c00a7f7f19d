import { randomUUID } from 'node:crypto';
import {
  Admin,
  Consumer,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
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
  checkPositiveInt,
  checkStreamName,
  decodeBody,
  DEFAULT_MAX_PAYLOAD_BYTES,
  encodeBatch,
  resolveConsumerOptions,
  type ResolvedConsumerOptions,
} from './validate.js';

/** Options of {@link createKafkaStream}. */
export interface KafkaStreamOptions {
  /** Bootstrap brokers: `host:port` strings, or one comma-separated string (as in `KAFKA_BROKERS`). */
  readonly brokers: string | readonly string[];
  /** Topic name. Default `events`. */
  readonly stream?: string;
  /** Client id reported to the brokers. Default `linkforge-stream`. */
  readonly clientId?: string;
  /** Partitions when this adapter creates the topic. Default 6. */
  readonly partitions?: number;
  /** Replication factor when this adapter creates the topic. Default 1. */
  readonly replicas?: number;
  /**
   * Group session timeout: how long a consumer that stopped heartbeating (crashed) keeps its
   * partitions before they move to another member, which then re-reads from the last
   * committed offset. Default 10,000 ms.
   */
  readonly sessionTimeoutMs?: number;
  /** Heartbeat interval. Default 1,000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Largest serialised payload accepted. Default 512 KiB. */
  readonly maxPayloadBytes?: number;
}

/**
 * Kafka adapter on `@platformatic/kafka` (pure JavaScript, no native addon): keyed messages
 * (order per key), consumer groups with partition assignment, offsets committed only up to the
 * highest contiguous acked message of each partition.
 *
 * @example
 * const stream = createKafkaStream({ brokers: process.env.KAFKA_BROKERS ?? '', stream: 'clicks' });
 * const producer = await stream.createProducer();
 * await producer.publish({ id: 'evt_1', key: 'link_42', payload: { linkId: 'link_42' } });
 */
export function createKafkaStream<T = JsonValue>(options: KafkaStreamOptions): StreamAdapter<T> {
  return new KafkaStream<T>(options);
}

interface Settings {
  readonly brokers: string[];
  readonly clientId: string;
  readonly partitions: number;
  readonly replicas: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxPayloadBytes: number;
}

const HEADER_ID = 'lf-id';
const HEADER_PUBLISHED_AT = 'lf-published-at';

class KafkaStream<T> implements StreamAdapter<T> {
  readonly kind = 'kafka' as const;
  readonly stream: string;
  readonly capabilities: StreamCapabilities = {
    totalOrder: false,
    redeliversOnAckTimeout: false,
    countsDeliveries: false,
    durable: true,
  };
  readonly settings: Settings;
  private topicReady: Promise<void> | undefined;
  private readonly children = new Set<{ close(): Promise<void> }>();
  private closed = false;

  constructor(options: KafkaStreamOptions) {
    if (options === null || typeof options !== 'object') {
      throw new StreamValidationError('createKafkaStream expects an options object');
    }
    const list =
      typeof options.brokers === 'string'
        ? options.brokers.split(',').map((b) => b.trim())
        : Array.isArray(options.brokers)
          ? [...(options.brokers as string[])]
          : [];
    if (
      list.length === 0 ||
      list.some((b) => typeof b !== 'string' || !/^[^\s:/]+:\d{1,5}$/.test(b))
    ) {
      throw new StreamValidationError(
        'brokers must be host:port entries, for example 127.0.0.1:9092',
      );
    }
    this.stream = checkStreamName(options.stream ?? 'events');
    const clientId = options.clientId ?? 'linkforge-stream';
    if (typeof clientId !== 'string' || clientId === '') {
      throw new StreamValidationError('clientId must be a non-empty string');
    }
    this.settings = {
      brokers: list,
      clientId,
      partitions: checkPositiveInt('partitions', options.partitions ?? 6, 10_000),
      replicas: checkPositiveInt('replicas', options.replicas ?? 1, 100),
      sessionTimeoutMs: checkPositiveInt(
        'sessionTimeoutMs',
        options.sessionTimeoutMs ?? 10_000,
        3_600_000,
      ),
      heartbeatIntervalMs: checkPositiveInt(
        'heartbeatIntervalMs',
        options.heartbeatIntervalMs ?? 1000,
        3_600_000,
      ),
      maxPayloadBytes: checkPositiveInt(
        'maxPayloadBytes',
        options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        64 * 1024 * 1024,
      ),
    };
  }

  /** Creates the topic when it does not exist yet. */
  ensureTopic(): Promise<void> {
    this.topicReady ??= this.createTopic().catch((error: unknown) => {
      this.topicReady = undefined;
      throw new StreamBrokerError(`cannot prepare Kafka topic ${this.stream}`, error);
    });
    return this.topicReady;
  }

  private async createTopic(): Promise<void> {
    const admin = new Admin({
      clientId: this.settings.clientId,
      bootstrapBrokers: this.settings.brokers,
    });
    try {
      const topics = await admin.listTopics();
      if (topics.includes(this.stream)) return;
      try {
        await admin.createTopics({
          topics: [this.stream],
          partitions: this.settings.partitions,
          replicas: this.settings.replicas,
        });
      } catch (error) {
        // Another process may have created it between the two calls.
        if (!(await admin.listTopics()).includes(this.stream)) throw error;
      }
    } finally {
      await admin.close().catch(() => undefined);
    }
  }

  async createProducer(): Promise<StreamProducer<T>> {
    this.assertOpen();
    await this.ensureTopic();
    const producer = new KafkaProducer<T>(this);
    this.children.add(producer);
    return producer;
  }

  async createConsumer(options: ConsumerOptions): Promise<StreamConsumer<T>> {
    this.assertOpen();
    const resolved = resolveConsumerOptions(options, () => `c-${randomUUID()}`);
    await this.ensureTopic();
    const consumer = new KafkaConsumer<T>(this, resolved);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.close().catch(() => undefined);
      throw new StreamBrokerError(`cannot join consumer group ${resolved.group}`, error);
    }
    this.children.add(consumer);
    return consumer;
  }

  /**
   * Backlog from the group's committed offsets and the partitions' end offsets. A group Kafka
   * has never seen commit reads as a backlog of the whole topic.
   */
  async groupStats(group: string): Promise<GroupStats> {
    checkGroup(group);
    await this.ensureTopic();
    const client = new Consumer({
      groupId: group,
      clientId: `${this.settings.clientId}-stats`,
      bootstrapBrokers: this.settings.brokers,
    });
    try {
      const ends = (await client.listOffsets({ topics: [this.stream] })).get(this.stream) ?? [];
      const committed =
        (
          await client.listCommittedOffsets({
            topics: [{ topic: this.stream, partitions: ends.map((_, i) => i) }],
          })
        ).get(this.stream) ?? [];
      let backlog = 0n;
      ends.forEach((end, i) => {
        // This client commits the offset of the last processed message, -1 for none.
        const next = (committed[i] ?? -1n) + 1n;
        if (end > next) backlog += end - next;
      });
      return { backlog: Number(backlog), unacked: undefined };
    } catch (error) {
      throw new StreamBrokerError(`cannot read consumer group ${group}`, error);
    } finally {
      await client.close().catch(() => undefined);
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
  }
}

class KafkaProducer<T> implements StreamProducer<T> {
  private closed = false;
  private readonly client: Producer<string, string, string, string>;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly owner: KafkaStream<T>) {
    this.client = new Producer({
      clientId: owner.settings.clientId,
      bootstrapBrokers: owner.settings.brokers,
      serializers: stringSerializers,
      acks: ProduceAcks.ALL,
    });
  }

  publish(message: OutgoingMessage<T>): Promise<void> {
    return this.publishBatch([message]);
  }

  async publishBatch(messages: readonly OutgoingMessage<T>[]): Promise<void> {
    if (this.closed) throw new StreamClosedError('producer');
    this.owner.assertOpen();
    const encoded = encodeBatch(messages, this.owner.settings.maxPayloadBytes);
    if (encoded.length === 0) return;
    const topic = this.owner.stream;
    const done = this.client.send({
      acks: ProduceAcks.ALL,
      messages: encoded.map((m) => ({
        topic,
        // Keyless messages are keyed by their id: spread over partitions, each still in one.
        key: m.key ?? m.id,
        value: m.body,
        headers: {
          [HEADER_ID]: m.id,
          [HEADER_PUBLISHED_AT]: String(m.publishedAt),
          ...(m.key === undefined ? {} : { 'lf-key': m.key }),
        },
      })),
    });
    this.inFlight.add(done);
    try {
      await done;
    } catch (error) {
      throw new StreamBrokerError(`publish to Kafka topic ${topic} failed`, error);
    } finally {
      this.inFlight.delete(done);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.client.close().catch(() => undefined);
    this.owner.forget(this);
  }
}

type KafkaMessage = Message<string, string, string, string>;

interface Tracked {
  readonly message: KafkaMessage;
  acked: boolean;
}

interface Handle {
  readonly partition: string;
  readonly tracked: Tracked;
  /** Which incarnation of the message stream delivered it (see `restart`). */
  readonly generation: number;
}

class KafkaConsumer<T> extends BaseConsumer<T, Handle> {
  private readonly client: Consumer<string, string, string, string>;
  private messages: MessagesStream<string, string, string, string> | undefined;
  private buffer: KafkaMessage[] = [];
  /** Delivered messages per `topic:partition`, in offset order, until committed. */
  private partitions = new Map<string, Tracked[]>();
  private generation = 0;
  private needsRestart = false;
  private wake: (() => void) | undefined;
  private failure: unknown;

  constructor(
    private readonly owner: KafkaStream<T>,
    options: ResolvedConsumerOptions,
  ) {
    super(options);
    this.client = new Consumer({
      groupId: options.group,
      clientId: `${owner.settings.clientId}-${options.name}`,
      bootstrapBrokers: owner.settings.brokers,
      deserializers: stringDeserializers,
      autocommit: false,
      sessionTimeout: owner.settings.sessionTimeoutMs,
      heartbeatInterval: owner.settings.heartbeatIntervalMs,
      maxWaitTime: 500,
    });
  }

  async start(): Promise<void> {
    const stream = await this.client.consume({
      topics: [this.owner.stream],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
    });
    this.messages = stream;
    this.generation += 1;
    const highWater = Math.max(this.options.maxInFlight, this.options.batchSize) * 2;
    stream.on('data', (message: KafkaMessage) => {
      this.buffer.push(message);
      // Backpressure: stop fetching while the local buffer is full.
      if (this.buffer.length >= highWater) stream.pause();
      this.wake?.();
    });
    stream.on('error', (error: unknown) => {
      this.failure = error;
      this.wake?.();
    });
  }

  /**
   * Kafka cannot hand one message back: a released message is re-read by closing the message
   * stream and consuming again from the committed offsets.
   */
  private async restart(): Promise<void> {
    this.needsRestart = false;
    await this.messages?.close().catch(() => undefined);
    this.buffer = [];
    this.partitions = new Map();
    await this.start();
  }

  protected async pull(
    max: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<Delivery<T, Handle>[]> {
    if (this.needsRestart) await this.restart();
    if (this.buffer.length === 0 && waitMs > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
    if (this.failure !== undefined) {
      const error = this.failure;
      this.failure = undefined;
      this.needsRestart = true;
      throw new StreamBrokerError('Kafka consumer failed', error);
    }
    const taken = this.buffer.splice(0, max);
    if (this.messages?.isPaused() && this.buffer.length === 0) this.messages.resume();
    return taken.map((message) => {
      const partition = `${message.topic}:${message.partition}`;
      const tracked: Tracked = { message, acked: false };
      let list = this.partitions.get(partition);
      if (!list) this.partitions.set(partition, (list = []));
      list.push(tracked);
      return {
        message: this.toMessage(message),
        handle: { partition, tracked, generation: this.generation },
      };
    });
  }

  private toMessage(message: KafkaMessage): Delivery<T, Handle>['message'] {
    const headers = message.headers;
    return {
      id: headers.get(HEADER_ID) ?? `${message.partition}:${message.offset}`,
      key: headers.get('lf-key'),
      payload: decodeBody<T>(message.value ?? 'null'),
      publishedAt: Number(headers.get(HEADER_PUBLISHED_AT) ?? message.timestamp),
      // Kafka keeps no delivery count.
      deliveryCount: 1,
      position: `${message.partition}:${message.offset}`,
    };
  }

  /** Commits, per partition, the highest offset below which every delivered message is acked. */
  protected async commit(handles: Handle[]): Promise<void> {
    const touched = new Set<string>();
    for (const handle of handles) {
      // A message delivered before a restart is read again; committing it could skip others.
      if (handle.generation !== this.generation) continue;
      handle.tracked.acked = true;
      touched.add(handle.partition);
    }
    const commits: Promise<void>[] = [];
    for (const partition of touched) {
      const list = this.partitions.get(partition) ?? [];
      let last: Tracked | undefined;
      while (list.length > 0 && list[0]?.acked) last = list.shift();
      if (last) commits.push(Promise.resolve(last.message.commit()));
    }
    try {
      await Promise.all(commits);
    } catch (error) {
      throw new StreamBrokerError('Kafka offset commit failed', error);
    }
  }

  protected async release(handles: Handle[]): Promise<void> {
    if (handles.some((h) => h.generation === this.generation)) this.needsRestart = true;
  }

  /** Kafka never takes messages from a live member: nothing to extend. */
  protected async touch(): Promise<void> {}

  protected readonly ackTimeoutMs = undefined;

  protected async shutdown(): Promise<void> {
    try {
      await this.messages?.close().catch(() => undefined);
      await this.client.close();
    } finally {
      this.owner.forget(this);
    }
  }
}
