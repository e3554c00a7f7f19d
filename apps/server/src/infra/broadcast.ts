import type { Redis } from 'ioredis';

/**
 * A message to every instance of the service, this one included (cache invalidations that are
 * not about links). The handler receives `null` when messages may have been missed (the
 * subscription reconnected): it should then drop everything it caches.
 */
export type BroadcastHandler = (message: string | null) => void;

export interface Broadcast {
  publish(topic: string, message: string): Promise<void>;
  /** Returns the function that unsubscribes. */
  subscribe(topic: string, handler: BroadcastHandler): Promise<() => void>;
  close(): Promise<void>;
}

class Topics {
  readonly #handlers = new Map<string, Set<BroadcastHandler>>();

  add(topic: string, handler: BroadcastHandler): { first: boolean; remove: () => boolean } {
    let set = this.#handlers.get(topic);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(topic, set);
    }
    set.add(handler);
    return {
      first,
      remove: () => {
        set.delete(handler);
        if (set.size > 0) return false;
        this.#handlers.delete(topic);
        return true;
      },
    };
  }

  deliver(topic: string, message: string | null): void {
    for (const h of this.#handlers.get(topic) ?? []) h(message);
  }

  all(): string[] {
    return [...this.#handlers.keys()];
  }
}

/** One process (embedded mode, or server mode without Redis): delivered synchronously. */
export function memoryBroadcast(): Broadcast {
  const topics = new Topics();
  return {
    async publish(topic, message) {
      topics.deliver(topic, message);
    },
    async subscribe(topic, handler) {
      const { remove } = topics.add(topic, handler);
      return () => void remove();
    },
    async close() {},
  };
}

/** Every instance sharing one Redis: Redis pub/sub on `<prefix>broadcast:<topic>`. */
export async function redisBroadcast(redis: Redis, prefix: string): Promise<Broadcast> {
  const sub = redis.duplicate();
  const topics = new Topics();
  const channelPrefix = `${prefix}broadcast:`;
  sub.on('message', (channel: string, message: string) => {
    if (channel.startsWith(channelPrefix))
      topics.deliver(channel.slice(channelPrefix.length), message);
  });
  // After a reconnection messages may have been lost: subscribers start afresh.
  let connectedOnce = false;
  sub.on('ready', () => {
    if (connectedOnce) for (const t of topics.all()) topics.deliver(t, null);
    connectedOnce = true;
  });
  await sub.ping();
  return {
    async publish(topic, message) {
      await redis.publish(channelPrefix + topic, message);
    },
    async subscribe(topic, handler) {
      const { first, remove } = topics.add(topic, handler);
      if (first) await sub.subscribe(channelPrefix + topic);
      return () => {
        if (remove()) sub.unsubscribe(channelPrefix + topic).catch(() => undefined);
      };
    },
    async close() {
      sub.disconnect();
    },
  };
}
