import { StreamValidationError } from './errors.js';
import { createInProcessStream } from './in-process.js';
import { createKafkaStream } from './kafka.js';
import { createNatsStream } from './nats.js';
import { createRedisStream } from './redis.js';
import type { JsonValue, StreamAdapter } from './types.js';

/** Options of {@link openStream}, common to every adapter. */
export interface OpenStreamOptions {
  /** Stream (topic) name. Default `events`. */
  readonly stream?: string;
  /**
   * Redelivery time of a message whose consumer died without acking it: `ackTimeoutMs`
   * in-process, `claimIdleMs` on Redis, `ackWaitMs` on NATS, `sessionTimeoutMs` on Kafka.
   * Default 30,000 ms (10,000 ms on Kafka).
   */
  readonly ackTimeoutMs?: number;
}

/**
 * Picks the adapter from a URL, so that an app can name its broker in one setting:
 * `memory:` → in-process, `redis://` / `rediss://` → Redis Streams, `nats://` / `tls://` →
 * NATS JetStream, `kafka://host:port[,host:port…]` → Kafka.
 *
 * @example
 * const stream = openStream(process.env.STREAM_URL ?? 'memory:', { stream: 'clicks' });
 */
export function openStream<T = JsonValue>(
  url: string,
  options: OpenStreamOptions = {},
): StreamAdapter<T> {
  if (typeof url !== 'string' || url === '') {
    throw new StreamValidationError(
      'openStream expects a URL such as memory:, redis://, nats:// or kafka://',
    );
  }
  const { stream, ackTimeoutMs } = options;
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  switch (scheme) {
    case 'memory:':
      return createInProcessStream<T>({ stream, ackTimeoutMs });
    case 'redis:':
    case 'rediss:':
      return createRedisStream<T>({ url, stream, claimIdleMs: ackTimeoutMs });
    case 'nats:':
    case 'tls:':
      return createNatsStream<T>({ servers: url, stream, ackWaitMs: ackTimeoutMs });
    case 'kafka:':
      return createKafkaStream<T>({
        brokers: url.slice('kafka://'.length),
        stream,
        sessionTimeoutMs: ackTimeoutMs,
      });
    default:
      throw new StreamValidationError(
        `unsupported stream URL scheme ${JSON.stringify(scheme || url)}: use memory:, redis://, rediss://, nats://, tls:// or kafka://`,
      );
  }
}
