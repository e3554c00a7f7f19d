import { randomUUID } from 'node:crypto';
import { optionalServiceUrl } from '@linkforge/testkit';
import { Admin } from '@platformatic/kafka';
import { describe } from 'vitest';
import { streamContract } from './contract.js';
import { createKafkaStream } from '../src/index.js';

// CI provides no Kafka broker: this suite runs wherever KAFKA_BROKERS names one.
const brokers = optionalServiceUrl('KAFKA_BROKERS');

describe.skipIf(!brokers)('Kafka adapter', () => {
  streamContract({
    name: 'kafka',
    ackTimeoutMs: 6000,
    create: async () =>
      createKafkaStream({
        brokers: brokers as string,
        stream: `lf-test-${randomUUID().slice(0, 12)}`,
        partitions: 4,
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
      }),
    destroy: async (stream) => {
      const admin = new Admin({
        clientId: 'lf-test-admin',
        bootstrapBrokers: (brokers as string).split(','),
      });
      await admin.deleteTopics({ topics: [stream.stream] }).catch(() => undefined);
      await admin.close();
    },
  });
});
