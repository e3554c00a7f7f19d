import {
  ForeignMessageError,
  StreamBrokerError,
  StreamClosedError,
  StreamError,
  StreamValidationError,
} from './errors.js';
import type { FetchOptions, RunOptions, StreamConsumer, StreamMessage } from './types.js';
import { resolveFetchOptions, type ResolvedConsumerOptions } from './validate.js';

/** A message as an adapter delivers it, with the adapter's own handle for ack/release. */
export interface Delivery<T, H> {
  readonly message: StreamMessage<T>;
  readonly handle: H;
}

/**
 * The adapter-independent half of a consumer: option checks, in-flight accounting
 * (backpressure), the fetch–handle–ack loop and orderly close. Adapters implement the four
 * broker operations below.
 */
export abstract class BaseConsumer<T, H> implements StreamConsumer<T> {
  readonly group: string;
  readonly name: string;
  protected readonly options: ResolvedConsumerOptions;
  /** Delivered, not yet acked; keyed by the message object handed to the caller. */
  private readonly held = new Map<StreamMessage<T>, H>();
  /** Messages acked or released, so that a second ack of them is a harmless no-op. */
  private readonly settled = new WeakSet<StreamMessage<T>>();
  private readonly stopController = new AbortController();
  private pullChain: Promise<unknown> = Promise.resolve();
  private running: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;

  protected constructor(options: ResolvedConsumerOptions) {
    this.options = options;
    this.group = options.group;
    this.name = options.name;
  }

  /** Waits up to `waitMs` for the first message and returns at most `max` deliveries. */
  protected abstract pull(
    max: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<Delivery<T, H>[]>;
  /** Acknowledges deliveries at the broker. */
  protected abstract commit(handles: H[]): Promise<void>;
  /** Hands unacked deliveries back so that they are delivered again as soon as the broker allows. */
  protected abstract release(handles: H[]): Promise<void>;
  /** Restarts the ack timeout of deliveries this consumer still holds. */
  protected abstract touch(handles: H[]): Promise<void>;
  /** Releases connections; called once, after every held message was released. */
  protected abstract shutdown(): Promise<void>;
  /**
   * The adapter's ack timeout, or `undefined` when unacked messages are never taken from a live
   * consumer (Kafka). `run` extends a running batch at a third of it.
   */
  protected abstract readonly ackTimeoutMs: number | undefined;

  get inFlight(): number {
    return this.held.size;
  }

  /** `true` once `close` was called. */
  protected get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  async fetch(options?: FetchOptions): Promise<StreamMessage<T>[]> {
    const { max, waitMs } = resolveFetchOptions(options, this.options);
    if (this.stopping) throw new StreamClosedError(`consumer ${this.name}`);
    // One pull at a time: the broker calls of a consumer share one connection and cursor.
    const result = this.pullChain.then(() => this.pullOnce(max, waitMs));
    this.pullChain = result.catch(() => undefined);
    return result;
  }

  private async pullOnce(max: number, waitMs: number): Promise<StreamMessage<T>[]> {
    if (this.stopping) return [];
    const room = this.options.maxInFlight - this.held.size;
    if (room <= 0) {
      // Backpressure: the broker keeps the messages until this consumer acks some.
      await sleep(waitMs, this.stopController.signal);
      return [];
    }
    const deliveries = await brokerCall(`fetch for group ${this.group}`, () =>
      this.pull(Math.min(max, room), waitMs, this.stopController.signal),
    );
    for (const d of deliveries) this.held.set(d.message, d.handle);
    // Closing: keep them held so that close() hands them back for redelivery.
    if (this.stopping) return [];
    return deliveries.map((d) => d.message);
  }

  async ack(messages: readonly StreamMessage<T>[]): Promise<void> {
    if (!Array.isArray(messages))
      throw new StreamValidationError('ack expects an array of messages');
    if (this.closed) throw new StreamClosedError(`consumer ${this.name}`);
    const handles: H[] = [];
    const acked: StreamMessage<T>[] = [];
    for (const message of messages) {
      const handle = this.held.get(message);
      if (handle === undefined) {
        if (this.settled.has(message)) continue;
        throw new ForeignMessageError(String((message as Partial<StreamMessage<T>>)?.id));
      }
      handles.push(handle);
      acked.push(message);
    }
    if (handles.length === 0) return;
    await brokerCall(`ack for group ${this.group}`, () => this.commit(handles));
    for (const message of acked) {
      this.held.delete(message);
      this.settled.add(message);
    }
  }

  async extend(messages: readonly StreamMessage<T>[]): Promise<void> {
    if (!Array.isArray(messages)) {
      throw new StreamValidationError('extend expects an array of messages');
    }
    if (this.closed) throw new StreamClosedError(`consumer ${this.name}`);
    const handles: H[] = [];
    for (const message of messages) {
      const handle = this.held.get(message);
      if (handle !== undefined) handles.push(handle);
    }
    if (handles.length > 0) {
      await brokerCall(`extend for group ${this.group}`, () => this.touch(handles));
    }
  }

  run(
    handler: (batch: readonly StreamMessage<T>[]) => Promise<void>,
    options: RunOptions<T> = {},
  ): Promise<void> {
    if (typeof handler !== 'function')
      throw new StreamValidationError('run expects a handler function');
    if (this.running) throw new StreamValidationError(`consumer ${this.name} is already running`);
    if (this.stopping) return Promise.reject(new StreamClosedError(`consumer ${this.name}`));
    const retryDelayMs = options.retryDelayMs ?? 1000;
    if (!Number.isInteger(retryDelayMs) || retryDelayMs < 0) {
      throw new StreamValidationError('retryDelayMs must be a non-negative integer');
    }
    const stopped = (): boolean => this.stopping || options.signal?.aborted === true;
    const loop = async (): Promise<void> => {
      while (!stopped()) {
        let batch: StreamMessage<T>[];
        try {
          batch = await this.fetch();
        } catch (error) {
          if (this.stopping) return;
          if (!options.onError) throw error;
          options.onError(error, []);
          await sleep(retryDelayMs, this.stopController.signal);
          continue;
        }
        if (batch.length === 0) continue;
        // Keep a slow batch from being redelivered to another consumer while it is handled.
        const timeout = this.ackTimeoutMs;
        const heartbeat =
          timeout === undefined
            ? undefined
            : setInterval(
                () => void this.extend(batch).catch(() => undefined),
                Math.max(10, Math.floor(timeout / 3)),
              );
        try {
          try {
            await handler(batch);
          } finally {
            clearInterval(heartbeat);
          }
          await this.ack(batch);
        } catch (error) {
          await this.releaseMessages(batch).catch(() => undefined);
          if (!options.onError) throw error;
          options.onError(error, batch);
          await sleep(retryDelayMs, this.stopController.signal);
        }
      }
    };
    this.running = loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async releaseMessages(messages: readonly StreamMessage<T>[]): Promise<void> {
    const handles: H[] = [];
    for (const message of messages) {
      const handle = this.held.get(message);
      if (handle === undefined) continue;
      handles.push(handle);
      this.held.delete(message);
      this.settled.add(message);
    }
    if (handles.length > 0) {
      await brokerCall(`release for group ${this.group}`, () => this.release(handles));
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.stopController.abort();
    // Drain: a handler that is running finishes and its batch is acked before we go.
    await this.running?.catch(() => undefined);
    await this.pullChain;
    try {
      await this.releaseMessages([...this.held.keys()]);
    } finally {
      this.closed = true;
      await this.shutdown();
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs a broker call, reporting a client's own error as a {@link StreamBrokerError}. */
export async function brokerCall<R>(what: string, call: () => Promise<R>): Promise<R> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StreamError) throw error;
    throw new StreamBrokerError(
      `${what} failed: ${(error as Error)?.message ?? String(error)}`,
      error,
    );
  }
}
