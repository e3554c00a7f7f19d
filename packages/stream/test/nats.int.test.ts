import { randomUUID } from 'node:crypto';
import { serviceUrl } from '@linkforge/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe } from 'vitest';
import { streamContract } from './contract.js';
import { createNatsStream } from '../src/index.js';

const url = serviceUrl('NATS_URL');

describe.skipIf(!url)('NATS JetStream adapter', () => {
  let admin: NatsConnection;
  beforeAll(async () => {
    admin = await connect({ servers: url as string });
  });
  afterAll(async () => {
    await admin.close();
  });

  streamContract({
    name: 'nats',
    ackTimeoutMs: 1000,
    create: async () =>
      createNatsStream({
        servers: url as string,
        stream: `lf-test-${randomUUID().slice(0, 12)}`,
        subjectPrefix: 'lf-test',
        ackWaitMs: 1000,
        maxAgeMs: 3_600_000,
      }),
    destroy: async (stream) => {
      const jsm = await jetstreamManager(admin);
      await jsm.streams.delete(stream.stream).catch(() => false);
    },
  });
});
