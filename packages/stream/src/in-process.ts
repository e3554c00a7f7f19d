import { randomUUID } from 'node:crypto';
import { BaseConsumer, type Delivery } from './base-consumer.js';
import { StreamClosedError, StreamFullError, StreamValidationError } from './errors.js';
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
  type EncodedMessage,
  type ResolvedConsumerOptions,
} from './validate.js';

/** Options of {@link createInProcessStream}. */
export interface InProcessStreamOptions {
  /** Stream name, for messages and logs. Default `events`. */
  readonly stream?: string;
  /**
   * A delivered message not acked within this time is delivered again (to any consumer of the
   * group). Default 30,000 ms.
   */
  readonly ackTimeoutMs?: number;
  /**
   * Most messages kept at once: published and not yet acked by every group. A publish that
   * would exceed it waits for room (backpressure). Default 100,000.
   */
  readonly capacity?: number;
  /** How long a publish waits for room before failing with `StreamFullError`. Default 5,000 ms. */
  readonly publishTimeoutMs?: number;
  /** Largest serialised payload accepted. Default 512 KiB. */
  readonly maxPayloadBytes?: number;
}

interface Pending {
  consumer: string;
  deadline: number;
  deliveries: number;
}

interface GroupState {
  /** Next sequence never delivered to this group. */
  cursor: number;
  /** Delivered and not acked, by sequence. */
  readonly pending: Map<number, Pending>;
  /** Sequences to deliver again, ascending, with their delivery counts so far. */
  readonly redeliver: number[];
  readonly counts: Map<number, number>;
  readonly waiters: Set<() => void>;
}

interface Handle {
  readonly group: GroupState;
  readonly seq: number;
  readonly consumer: string;
}

/**
 * A stream held in this process's memory: the embedded default. It keeps the at-least-once
 * contract of the brokers (consumer groups, explicit ack, redelivery after the ack timeout or
 * when a consumer closes), but messages do not survive the process.
 *
 * @example
 * const stream = createInProcessStream({ stream: 'clicks', ackTimeoutMs: 10_000 });
 * const producer = await stream.createProducer();
 * await producer.publish({ id: 'evt_1', key: 'link_1', payload: { linkId: 'link_1' } });
 * const consumer = await stream.createConsumer({ group: 'analytics' });
 * const batch = await consumer.fetch();
 * await consumer.ack(batch);
 */
export function createInProcessStream<T = JsonValue>(
  options: InProcessStreamOptions = {},
): StreamAdapter<T> {
  return new InProcessStream<T>(options);
}

class InProcessStream<T> implements StreamAdapter<T> {
  readonly kind = 'in-process' as const;
  readonly stream: string;
  readonly capabilities: StreamCapabilities = {
    totalOrder: true,
    redeliversOnAckTimeout: true,
    countsDeliveries: true,
    durable: false,
  };
  readonly ackTimeoutMs: number;
  private readonly capacity: number;
  private readonly publishTimeoutMs: number;
  readonly maxPayloadBytes: number;
  /** Live entries are `entries[start..]`; `entries[i]` has sequence `offset + i`. */
  private entries: (EncodedMessage | undefined)[] = [];
  private start = 0;
  private offset = 1;
  private readonly groups = new Map<string, GroupState>();
  private readonly spaceWaiters = new Set<() => void>();
  private readonly children = new Set<{ close(): Promise<void> }>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(options: InProcessStreamOptions) {
    if (options === null || typeof options !== 'object') {
      throw new StreamValidationError('createInProcessStream expects an options object');
    }
    this.stream = checkStreamName(options.stream ?? 'events');
    this.ackTimeoutMs = checkPositiveInt(
      'ackTimeoutMs',
      options.ackTimeoutMs ?? 30_000,
      86_400_000,
    );
    this.capacity = checkPositiveInt('capacity', options.capacity ?? 100_000, 100_000_000);
    this.publishTimeoutMs = checkPositiveInt(
      'publishTimeoutMs',
      options.publishTimeoutMs ?? 5000,
      3_600_000,
    );
    this.maxPayloadBytes = checkPositiveInt(
      'maxPayloadBytes',
      options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      64 * 1024 * 1024,
    );
    const tick = Math.min(1000, Math.max(5, Math.floor(this.ackTimeoutMs / 4)));
    this.timer = setInterval(() => this.expire(), tick);
    this.timer.unref();
  }

  private get firstSeq(): number {
    return this.offset + this.start;
  }

  private get nextSeq(): number {
    return this.offset + this.entries.length;
  }

  /** Messages kept: published and not yet acked by every group. */
  get retained(): number {
    return this.nextSeq - this.firstSeq;
  }

  async createProducer(): Promise<StreamProducer<T>> {
    this.assertOpen();
    const producer = new InProcessProducer<T>(this);
    this.children.add(producer);
    return producer;
  }

  async createConsumer(options: ConsumerOptions): Promise<StreamConsumer<T>> {
    this.assertOpen();
    const resolved = resolveConsumerOptions(options, () => `c-${randomUUID()}`);
    let group = this.groups.get(resolved.group);
    if (!group) {
      // A new group starts at the oldest message still kept, like Redis `XGROUP CREATE … 0`.
      group = {
        cursor: this.firstSeq,
        pending: new Map(),
        redeliver: [],
        counts: new Map(),
        waiters: new Set(),
      };
      this.groups.set(resolved.group, group);
    }
    const consumer = new InProcessConsumer<T>(this, group, resolved);
    this.children.add(consumer);
    return consumer;
  }

  async groupStats(name: string): Promise<GroupStats> {
    const group = this.groups.get(checkGroup(name));
    if (!group) throw new StreamValidationError(`no consumer group ${JSON.stringify(name)}`);
    return {
      backlog: this.nextSeq - group.cursor + group.redeliver.length,
      unacked: group.pending.size,
    };
  }

  forget(child: { close(): Promise<void> }): void {
    this.children.delete(child);
  }

  async append(messages: EncodedMessage[], signal: { closed: boolean }): Promise<void> {
    if (messages.length > this.capacity) {
      throw new StreamValidationError(
        `a batch of ${messages.length} messages can never fit a stream of capacity ${this.capacity}`,
      );
    }
    const deadline = Date.now() + this.publishTimeoutMs;
    while (this.retained + messages.length > this.capacity) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new StreamFullError(
          `stream ${this.stream} stayed at its capacity of ${this.capacity} unacked messages for ${this.publishTimeoutMs} ms`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.spaceWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.spaceWaiters.add(wake);
      });
      if (this.closed || signal.closed) throw new StreamClosedError(`stream ${this.stream}`);
    }
    for (const m of messages) this.entries.push(m);
    for (const group of this.groups.values()) wakeAll(group.waiters);
  }

  /** Takes up to `max` deliveries for `consumer`: redeliveries first, then new messages. */
  take(group: GroupState, consumer: string, max: number): Delivery<T, Handle>[] {
    const out: Delivery<T, Handle>[] = [];
    const now = Date.now();
    while (out.length < max && group.redeliver.length > 0) {
      const seq = group.redeliver.shift() as number;
      const previous = group.counts.get(seq) ?? 1;
      group.counts.delete(seq);
      out.push(this.deliver(group, consumer, seq, previous + 1, now));
    }
    while (out.length < max && group.cursor < this.nextSeq) {
      out.push(this.deliver(group, consumer, group.cursor, 1, now));
      group.cursor += 1;
    }
    return out;
  }

  private deliver(
    group: GroupState,
    consumer: string,
    seq: number,
    deliveries: number,
    now: number,
  ): Delivery<T, Handle> {
    const entry = this.entries[seq - this.offset] as EncodedMessage;
    group.pending.set(seq, { consumer, deadline: now + this.ackTimeoutMs, deliveries });
    return {
      message: {
        id: entry.id,
        key: entry.key,
        payload: decodeBody<T>(entry.body),
        publishedAt: entry.publishedAt,
        deliveryCount: deliveries,
        position: String(seq),
      },
      handle: { group, seq, consumer },
    };
  }

  waitForMessages(group: GroupState, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const wake = (): void => {
        clearTimeout(timer);
        group.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      group.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  ack(handles: Handle[]): void {
    for (const { group, seq } of handles) {
      // Any consumer's ack counts, even after the message moved on: it was processed.
      if (group.pending.delete(seq)) continue;
      const at = group.redeliver.indexOf(seq);
      if (at >= 0) {
        group.redeliver.splice(at, 1);
        group.counts.delete(seq);
      }
    }
    this.compact();
  }

  touch(handles: Handle[]): void {
    const deadline = Date.now() + this.ackTimeoutMs;
    for (const { group, seq, consumer } of handles) {
      const pending = group.pending.get(seq);
      if (pending && pending.consumer === consumer) pending.deadline = deadline;
    }
  }

  release(handles: Handle[]): void {
    const touched = new Set<GroupState>();
    for (const { group, seq, consumer } of handles) {
      const pending = group.pending.get(seq);
      if (!pending || pending.consumer !== consumer) continue;
      group.pending.delete(seq);
      requeue(group, seq, pending.deliveries);
      touched.add(group);
    }
    for (const group of touched) wakeAll(group.waiters);
  }

  /** Moves deliveries past their ack timeout back to the redelivery queue. */
  private expire(): void {
    const now = Date.now();
    for (const group of this.groups.values()) {
      let moved = false;
      for (const [seq, pending] of group.pending) {
        if (pending.deadline > now) continue;
        group.pending.delete(seq);
        requeue(group, seq, pending.deliveries);
        moved = true;
      }
      if (moved) wakeAll(group.waiters);
    }
  }

  /** Drops messages every group has acked and wakes publishers waiting for room. */
  private compact(): void {
    if (this.groups.size === 0) return;
    let lowest = this.nextSeq;
    for (const group of this.groups.values()) {
      lowest = Math.min(lowest, group.cursor);
      if (group.redeliver.length > 0) lowest = Math.min(lowest, group.redeliver[0] as number);
      for (const seq of group.pending.keys()) lowest = Math.min(lowest, seq);
    }
    const drop = lowest - this.firstSeq;
    if (drop <= 0) return;
    for (let i = this.start; i < this.start + drop; i++) this.entries[i] = undefined;
    this.start += drop;
    // Shift the array only now and then, so that compaction stays amortised O(1) per message.
    if (this.start > 1024 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.offset += this.start;
      this.start = 0;
    }
    wakeAll(this.spaceWaiters);
  }

  assertOpen(): void {
    if (this.closed) throw new StreamClosedError(`stream ${this.stream}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A child that fails to close (broker gone) must not keep the connections open.
    await Promise.allSettled([...this.children].map((c) => c.close()));
    clearInterval(this.timer);
    wakeAll(this.spaceWaiters);
  }
}

function requeue(group: GroupState, seq: number, deliveries: number): void {
  group.counts.set(seq, deliveries);
  // Keep ascending order so that redeliveries come out oldest first.
  let i = group.redeliver.length;
  while (i > 0 && (group.redeliver[i - 1] as number) > seq) i--;
  group.redeliver.splice(i, 0, seq);
}

function wakeAll(waiters: Set<() => void>): void {
  for (const wake of [...waiters]) wake();
}

class InProcessProducer<T> implements StreamProducer<T> {
  private readonly state = { closed: false };
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly owner: InProcessStream<T>) {}

  publish(message: OutgoingMessage<T>): Promise<void> {
    return this.publishBatch([message]);
  }

  async publishBatch(messages: readonly OutgoingMessage<T>[]): Promise<void> {
    if (this.state.closed) throw new StreamClosedError('producer');
    this.owner.assertOpen();
    const encoded = encodeBatch(messages, this.owner.maxPayloadBytes);
    if (encoded.length === 0) return;
    const done = this.owner.append(encoded, this.state);
    this.inFlight.add(done);
    try {
      await done;
    } finally {
      this.inFlight.delete(done);
    }
  }

  async close(): Promise<void> {
    this.state.closed = true;
    await Promise.allSettled([...this.inFlight]);
    this.owner.forget(this);
  }
}

class InProcessConsumer<T> extends BaseConsumer<T, Handle> {
  constructor(
    private readonly owner: InProcessStream<T>,
    private readonly groupState: GroupState,
    options: ResolvedConsumerOptions,
  ) {
    super(options);
  }

  protected async pull(
    max: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<Delivery<T, Handle>[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const taken = this.owner.take(this.groupState, this.name, max);
      if (taken.length > 0 || signal.aborted) return taken;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.owner.waitForMessages(this.groupState, left, signal);
    }
  }

  protected async commit(handles: Handle[]): Promise<void> {
    this.owner.ack(handles);
  }

  protected async release(handles: Handle[]): Promise<void> {
    this.owner.release(handles);
  }

  protected async touch(handles: Handle[]): Promise<void> {
    this.owner.touch(handles);
  }

  protected get ackTimeoutMs(): number {
    return this.owner.ackTimeoutMs;
  }

  protected async shutdown(): Promise<void> {
    this.owner.forget(this);
  }
}
