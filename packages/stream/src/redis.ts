import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { BaseConsumer, brokerCall, type Delivery } from './base-consumer.js';
import { StreamBrokerError, StreamClosedError, StreamValidationError } from './errors.js';
import type {
  ConsumerOptions,
  GroupStats,
  JsonValue,
  OutgoingMessage,
  StreamAdapter,
  StreamCapabilities,
  StreamConsumer,
  StreamMessage,
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
  type ResolvedConsumerOptions,
} from './validate.js';

/** Options of {@link createRedisStream}. Give `url` or `redis`. */
export interface RedisStreamOptions {
  /** Redis URL, for example `redis://127.0.0.1:6379`. The adapter owns this connection. */
  readonly url?: string;
  /**
   * An ioredis client to use instead of `url`. The adapter duplicates it for its blocking
   * reads and never closes it.
   */
  readonly redis?: Redis;
  /** Stream name. Default `events`. */
  readonly stream?: string;
  /** Prefix of the Redis key: the stream lives at `keyPrefix + stream`. Default `linkforge:stream:`. */
  readonly keyPrefix?: string;
  /**
   * A pending entry idle for longer than this is claimed by another consumer (`XAUTOCLAIM`):
   * the redelivery time after a consumer dies. Keep it above the longest batch processing time.
   * Default 30,000 ms.
   */
  readonly claimIdleMs?: number;
  /** How often each consumer looks for claimable entries. Default `min(claimIdleMs, 5,000)` ms. */
  readonly claimIntervalMs?: number;
  /**
   * How often a consumer trims entries that every group has acknowledged (`XTRIM MINID`): at
   * an ack, at most once per interval, and once more at its end if acks came meanwhile. `0`
   * turns that off. Default 1,000 ms.
   */
  readonly trimIntervalMs?: number;
  /**
   * Hard cap on the stream length (`XADD MAXLEN ~`). Off by default, because it drops the
   * oldest entries whether or not they were consumed: set it only as a memory safety valve.
   */
  readonly maxLen?: number;
  /** Largest serialised payload accepted. Default 512 KiB. */
  readonly maxPayloadBytes?: number;
}

/**
 * Redis Streams adapter: consumer groups (`XREADGROUP`), explicit `XACK`, redelivery of entries
 * left pending by a dead consumer (`XAUTOCLAIM`), and trimming of entries every group has acked.
 *
 * @example
 * const stream = createRedisStream({ url: process.env.REDIS_URL, stream: 'clicks' });
 * const producer = await stream.createProducer();
 * await producer.publishBatch(events.map((e) => ({ id: e.id, key: e.linkId, payload: e })));
 */
export function createRedisStream<T = JsonValue>(options: RedisStreamOptions): StreamAdapter<T> {
  return new RedisStream<T>(options);
}

interface Settings {
  readonly key: string;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number;
  readonly trimIntervalMs: number;
  readonly maxLen: number | undefined;
  readonly maxPayloadBytes: number;
}

class RedisStream<T> implements StreamAdapter<T> {
  readonly kind = 'redis' as const;
  readonly stream: string;
  readonly capabilities: StreamCapabilities = {
    totalOrder: true,
    redeliversOnAckTimeout: true,
    countsDeliveries: true,
    durable: true,
  };
  readonly settings: Settings;
  readonly redis: Redis;
  private readonly ownsClient: boolean;
  private readonly children = new Set<{ close(): Promise<void> }>();
  private closed = false;
  private nextTrimAt = 0;
  private trailingTrim: NodeJS.Timeout | undefined;

  constructor(options: RedisStreamOptions) {
    if (options === null || typeof options !== 'object') {
      throw new StreamValidationError('createRedisStream expects an options object');
    }
    if ((options.url === undefined) === (options.redis === undefined)) {
      throw new StreamValidationError('createRedisStream needs exactly one of url or redis');
    }
    this.stream = checkStreamName(options.stream ?? 'events');
    const keyPrefix = options.keyPrefix ?? 'linkforge:stream:';
    if (typeof keyPrefix !== 'string')
      throw new StreamValidationError('keyPrefix must be a string');
    const claimIdleMs = checkPositiveInt('claimIdleMs', options.claimIdleMs ?? 30_000, 86_400_000);
    this.settings = {
      key: keyPrefix + this.stream,
      claimIdleMs,
      claimIntervalMs: checkPositiveInt(
        'claimIntervalMs',
        options.claimIntervalMs ?? Math.min(claimIdleMs, 5000),
        86_400_000,
      ),
      trimIntervalMs: checkNonNegativeInt(
        'trimIntervalMs',
        options.trimIntervalMs ?? 1000,
        86_400_000,
      ),
      maxLen:
        options.maxLen === undefined
          ? undefined
          : checkPositiveInt('maxLen', options.maxLen, Number.MAX_SAFE_INTEGER),
      maxPayloadBytes: checkPositiveInt(
        'maxPayloadBytes',
        options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        64 * 1024 * 1024,
      ),
    };
    if (options.url !== undefined) {
      if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
        throw new StreamValidationError('url must be a redis:// or rediss:// URL');
      }
      this.redis = new Redis(options.url, { lazyConnect: true });
      // Failures reach callers as rejected commands; this keeps ioredis from also logging them.
      this.redis.on('error', () => undefined);
      this.ownsClient = true;
    } else {
      this.redis = options.redis as Redis;
      this.ownsClient = false;
    }
  }

  async createProducer(): Promise<StreamProducer<T>> {
    this.assertOpen();
    const producer = new RedisProducer<T>(this);
    this.children.add(producer);
    return producer;
  }

  async createConsumer(options: ConsumerOptions): Promise<StreamConsumer<T>> {
    this.assertOpen();
    const resolved = resolveConsumerOptions(options, () => `c-${randomUUID()}`);
    await this.ensureGroup(resolved.group);
    const blocking = this.redis.duplicate();
    blocking.on('error', () => undefined);
    const consumer = new RedisConsumer<T>(this, blocking, resolved);
    this.children.add(consumer);
    return consumer;
  }

  async ensureGroup(group: string): Promise<void> {
    try {
      // `0`: a new group starts with the oldest entry still in the stream.
      await this.redis.call('XGROUP', ['CREATE', this.settings.key, group, '0', 'MKSTREAM']);
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) {
        throw new StreamBrokerError(`cannot create consumer group ${group}`, error);
      }
    }
  }

  /**
   * Trims entries that every group has acknowledged: below the oldest pending entry of any
   * group, and never past what a group has yet to read. Rate-limited; safe to run from many
   * consumers at once.
   */
  async trimAcked(): Promise<void> {
    const { trimIntervalMs, key } = this.settings;
    if (trimIntervalMs === 0 || this.closed) return;
    const wait = this.nextTrimAt - Date.now();
    if (wait > 0) {
      // Too soon after the last trim: trim once more when the interval ends, so the last acks
      // of a burst are trimmed too even if no other ack follows.
      this.trailingTrim ??= setTimeout(() => {
        this.trailingTrim = undefined;
        void this.trimAcked().catch(() => undefined);
      }, wait).unref();
      return;
    }
    this.nextTrimAt = Date.now() + trimIntervalMs;
    const groups = (await this.redis.call('XINFO', ['GROUPS', key])) as unknown[][];
    if (groups.length === 0) return;
    let safe: string | undefined;
    for (const raw of groups) {
      const info = pairs(raw);
      const name = String(info.get('name'));
      let low = String(info.get('last-delivered-id'));
      if (Number(info.get('pending')) > 0) {
        const summary = (await this.redis.call('XPENDING', [key, name])) as unknown[];
        if (summary[1] !== null && summary[1] !== undefined) low = String(summary[1]);
      }
      if (safe === undefined || compareIds(low, safe) < 0) safe = low;
    }
    if (safe !== undefined && safe !== '0-0') {
      await this.redis.call('XTRIM', [key, 'MINID', '~', safe]);
    }
  }

  async groupStats(group: string): Promise<GroupStats> {
    checkGroup(group);
    const unknown = new StreamValidationError(`no consumer group ${JSON.stringify(group)}`);
    let groups: unknown[][];
    try {
      groups = (await this.redis.call('XINFO', ['GROUPS', this.settings.key])) as unknown[][];
    } catch (error) {
      if (String((error as Error)?.message).includes('no such key')) throw unknown;
      throw new StreamBrokerError(`XINFO GROUPS ${this.settings.key} failed`, error);
    }
    const info = groups.map(pairs).find((g) => g.get('name') === group);
    if (!info) throw unknown;
    const lag = info.get('lag');
    return {
      backlog: lag === null || lag === undefined ? undefined : Number(lag),
      unacked: Number(info.get('pending')),
    };
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
    clearTimeout(this.trailingTrim);
    this.trailingTrim = undefined;
    // A child that fails to close (broker gone) must not keep the connections open.
    await Promise.allSettled([...this.children].map((c) => c.close()));
    if (this.ownsClient) await quietly(this.redis);
  }
}

class RedisProducer<T> implements StreamProducer<T> {
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly owner: RedisStream<T>) {}

  publish(message: OutgoingMessage<T>): Promise<void> {
    return this.publishBatch([message]);
  }

  async publishBatch(messages: readonly OutgoingMessage<T>[]): Promise<void> {
    if (this.closed) throw new StreamClosedError('producer');
    this.owner.assertOpen();
    const { key, maxLen, maxPayloadBytes } = this.owner.settings;
    const encoded = encodeBatch(messages, maxPayloadBytes);
    if (encoded.length === 0) return;
    const pipeline = this.owner.redis.pipeline();
    for (const m of encoded) {
      const args: (string | number)[] = [key];
      if (maxLen !== undefined) args.push('MAXLEN', '~', maxLen);
      args.push('*', 'i', m.id, 't', m.publishedAt, 'p', m.body);
      if (m.key !== undefined) args.push('k', m.key);
      pipeline.call('XADD', ...args);
    }
    const done = brokerCall(`XADD to ${key}`, () => pipeline.exec()).then((results) => {
      const failed = results?.find(([error]) => error !== null);
      if (!results || failed) {
        throw new StreamBrokerError(`XADD to ${key} failed`, failed?.[0]);
      }
    });
    this.inFlight.add(done);
    try {
      await done;
    } finally {
      this.inFlight.delete(done);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    this.owner.forget(this);
  }
}

type RawEntry = [id: string, fields: string[] | null];

class RedisConsumer<T> extends BaseConsumer<T, string> {
  /** First reads go through this consumer's own pending list (a restart under the same name). */
  private recovering = true;
  private claimCursor = '0-0';
  private nextClaimAt = 0;

  constructor(
    private readonly owner: RedisStream<T>,
    private readonly blocking: Redis,
    options: ResolvedConsumerOptions,
  ) {
    super(options);
  }

  protected async pull(
    max: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<Delivery<T, string>[]> {
    try {
      return await this.pullOrFail(max, waitMs, signal);
    } catch (error) {
      // The key (and the group with it) vanished: Redis restarted without persistence, or the
      // stream was deleted. Recreate the group and carry on with whatever is published next.
      if (!String((error as Error)?.message).startsWith('NOGROUP')) throw error;
      await this.owner.ensureGroup(this.group);
      this.claimCursor = '0-0';
      return [];
    }
  }

  private async pullOrFail(
    max: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<Delivery<T, string>[]> {
    const { key, claimIdleMs, claimIntervalMs } = this.owner.settings;
    const redis = this.owner.redis;
    if (this.recovering) {
      const own = await this.readGroup(redis, ['COUNT', max, 'STREAMS', key, '0']);
      const live = await this.dropDeleted(own);
      if (live.length > 0) return this.withCounts(live);
      this.recovering = false;
    }
    if (Date.now() >= this.nextClaimAt) {
      const reply = (await redis.call('XAUTOCLAIM', [
        key,
        this.group,
        this.name,
        claimIdleMs,
        this.claimCursor,
        'COUNT',
        max,
      ])) as [string, RawEntry[], string[]?];
      this.claimCursor = reply[0];
      // A full pass over the pending list ends with cursor 0-0: rest until the next interval.
      if (this.claimCursor === '0-0') this.nextClaimAt = Date.now() + claimIntervalMs;
      const live = await this.dropDeleted(reply[1]);
      if (live.length > 0) return this.withCounts(live);
    }
    if (signal.aborted) return [];
    const args: (string | number)[] = ['COUNT', max];
    if (waitMs > 0) args.push('BLOCK', waitMs);
    args.push('STREAMS', key, '>');
    const fresh = await this.readGroup(this.blocking, args);
    return fresh.filter(hasFields).map((entry) => this.toDelivery(entry, 1));
  }

  private async readGroup(client: Redis, args: (string | number)[]): Promise<RawEntry[]> {
    const reply = (await client.call('XREADGROUP', ['GROUP', this.group, this.name, ...args])) as
      unknown[] | null;
    if (!reply || reply.length === 0) return [];
    // RESP2 replies [[key, entries]]; RESP3 (ioredis 6's default) a map, flattened to [key, entries].
    const entries = typeof reply[0] === 'string' ? reply[1] : (reply[0] as unknown[])[1];
    return Array.isArray(entries) ? (entries as RawEntry[]) : [];
  }

  /** Entries trimmed away while pending come back without fields: ack them so they go. */
  private async dropDeleted(entries: RawEntry[]): Promise<RawEntry[]> {
    const gone = entries.filter((e) => !hasFields(e)).map((e) => e[0]);
    if (gone.length > 0) {
      await this.owner.redis.call('XACK', [this.owner.settings.key, this.group, ...gone]);
    }
    return entries.filter(hasFields);
  }

  /** Reads delivery counts of redelivered entries from the pending list (claims are rare). */
  private async withCounts(entries: RawEntry[]): Promise<Delivery<T, string>[]> {
    const first = entries[0]?.[0] as string;
    const last = entries[entries.length - 1]?.[0] as string;
    const pending = (await this.owner.redis.call('XPENDING', [
      this.owner.settings.key,
      this.group,
      first,
      last,
      entries.length + this.options.maxInFlight,
      this.name,
    ])) as [string, string, number, number][];
    const counts = new Map(pending.map((p) => [p[0], Number(p[3])]));
    return entries.map((entry) => this.toDelivery(entry, counts.get(entry[0]) ?? 2));
  }

  private toDelivery(entry: RawEntry, deliveryCount: number): Delivery<T, string> {
    const [position, fields] = entry;
    const map = new Map<string, string>();
    const list = fields as string[];
    for (let i = 0; i + 1 < list.length; i += 2) map.set(list[i] as string, list[i + 1] as string);
    const message: StreamMessage<T> = {
      id: map.get('i') ?? position,
      key: map.get('k'),
      payload: decodeBody<T>(map.get('p') ?? 'null'),
      publishedAt: Number(map.get('t') ?? 0),
      deliveryCount,
      position,
    };
    return { message, handle: position };
  }

  protected async commit(handles: string[]): Promise<void> {
    const { key } = this.owner.settings;
    await this.owner.redis.call('XACK', [key, this.group, ...handles]);
    await this.owner.trimAcked().catch(() => undefined);
  }

  /**
   * Makes the entries claimable at once: setting their idle time to `claimIdleMs` lets the next
   * `XAUTOCLAIM` of any consumer take them, without waiting out the idle time.
   */
  protected async release(handles: string[]): Promise<void> {
    await this.reclaimOwn(handles, this.owner.settings.claimIdleMs);
  }

  /** Resets the idle time of entries this consumer still owns to 0. */
  protected async touch(handles: string[]): Promise<void> {
    await this.reclaimOwn(handles, 0);
  }

  private async reclaimOwn(handles: string[], idleMs: number): Promise<void> {
    await this.owner.redis.eval(
      RECLAIM_OWN_SCRIPT,
      1,
      this.owner.settings.key,
      this.group,
      this.name,
      idleMs,
      ...handles,
    );
  }

  protected get ackTimeoutMs(): number {
    return this.owner.settings.claimIdleMs;
  }

  protected async shutdown(): Promise<void> {
    try {
      const { key } = this.owner.settings;
      // A consumer with nothing pending leaves the group; one with pending entries stays so
      // that its entries remain claimable (DELCONSUMER would drop them from the group).
      const mine = (await this.owner.redis.call('XPENDING', [
        key,
        this.group,
        '-',
        '+',
        1,
        this.name,
      ])) as unknown[];
      if (mine.length === 0) {
        await this.owner.redis.call('XGROUP', ['DELCONSUMER', key, this.group, this.name]);
      }
    } finally {
      await quietly(this.blocking);
      this.owner.forget(this);
    }
  }
}

/**
 * Sets the idle time of each entry still owned by the caller (ARGV[2]) to ARGV[3] ms. A plain
 * `XCLAIM … 0` would also take entries another consumer has claimed meanwhile; the ownership
 * check and the claim run atomically as one script.
 */
const RECLAIM_OWN_SCRIPT = `
local done = 0
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    done = done + 1
  end
end
return done
`;

function hasFields(entry: RawEntry): boolean {
  return Array.isArray(entry[1]);
}

function pairs(list: unknown[]): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (let i = 0; i + 1 < list.length; i += 2) map.set(String(list[i]), list[i + 1]);
  return map;
}

/** Orders Redis stream ids (`ms-seq`) numerically. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

async function quietly(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
