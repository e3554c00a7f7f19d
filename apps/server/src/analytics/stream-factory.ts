import * as streams from '@linkforge/stream';
import type { StreamAdapter } from '@linkforge/stream';
import type { Config } from '../config.js';
import type { ClickMessage } from './click-message.js';

/** Consumer group of the analytics workers. */
export const ANALYTICS_GROUP = 'analytics';

/**
 * Opens the click stream named by the config: Redis Streams (server-mode default), NATS
 * JetStream, Kafka, or the in-process stream (embedded default). Redis keys live under the
 * installation's `REDIS_PREFIX`.
 */
export function openClickStream(config: Config): StreamAdapter<ClickMessage> {
  const s = config.stream;
  switch (s.adapter) {
    case 'memory':
      return streams.createInProcessStream<ClickMessage>({
        stream: s.name,
        ackTimeoutMs: s.redeliverMs,
      });
    case 'redis':
      return streams.createRedisStream<ClickMessage>({
        url: config.redisUrl!,
        stream: s.name,
        keyPrefix: `${config.redisPrefix}stream:`,
        claimIdleMs: s.redeliverMs,
      });
    case 'nats':
      return streams.createNatsStream<ClickMessage>({
        servers: s.natsUrl!,
        stream: s.name,
        subjectPrefix: 'linkforge.stream',
        ackWaitMs: s.redeliverMs,
      });
    case 'kafka':
      return streams.createKafkaStream<ClickMessage>({
        brokers: s.kafkaBrokers!,
        stream: s.name,
        clientId: 'linkforge',
      });
  }
}
