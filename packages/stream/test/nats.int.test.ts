import { randomUUID } from 'node:crypto';
import { serviceUrl } from '@linkforge/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, messages, streamContract } from './contract.js';
import { createNatsStream, type NatsStreamOptions } from '../src/index.js';

const url = serviceUrl('NATS_URL');

describe.skipIf(!url)('NATS JetStream adapter', () => {
  let admin: NatsConnection;
  const made: string[] = [];
  beforeAll(async () => {
    admin = await connect({ servers: url as string });
  });
  afterAll(async () => {
    const jsm = await jetstreamManager(admin);
    for (const name of made) await jsm.streams.delete(name).catch(() => false);
    await admin.close();
  });

  function fresh(options: Partial<NatsStreamOptions> = {}) {
    const stream = `lf-test-${randomUUID().slice(0, 12)}`;
    made.push(stream);
    return createNatsStream<{ n: number }>({
      servers: url as string,
      stream,
      subjectPrefix: 'lf-test',
      maxAgeMs: 3_600_000,
      ...options,
    });
  }

  streamContract({
    name: 'nats',
    ackTimeoutMs: 1000,
    create: async () => fresh({ ackWaitMs: 1000 }),
    destroy: async (stream) => {
      const jsm = await jetstreamManager(admin);
      await jsm.streams.delete(stream.stream).catch(() => false);
    },
  });

  it('stores a re-published message id once (a retried publish is idempotent)', async () => {
    const stream = fresh();
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g' });
    await producer.publish({ id: 'evt-same', payload: { n: 1 } });
    await producer.publishBatch([
      { id: 'evt-same', payload: { n: 1 } },
      { id: 'evt-other', payload: { n: 2 } },
    ]);

    const got = await collect(consumer, 3, 2500);

    expect(got.map((m) => m.id)).toEqual(['evt-same', 'evt-other']);
    await stream.close();
  });

  it('creates a file-backed stream with limits retention and the configured ack wait', async () => {
    const stream = fresh({ ackWaitMs: 4000, maxAgeMs: 60_000 });
    await stream.createConsumer({ group: 'analytics' });
    const jsm = await jetstreamManager(admin);

    const info = await jsm.streams.info(stream.stream);
    const consumer = await jsm.consumers.info(stream.stream, 'analytics');

    expect(info.config.storage).toBe('file');
    expect(info.config.retention).toBe('limits');
    expect(info.config.subjects).toEqual([`lf-test.${stream.stream}`]);
    expect(consumer.config.ack_policy).toBe('explicit');
    expect(consumer.config.ack_wait).toBe(4000 * 1_000_000);
    await stream.close();
  });

  it('refuses a duplicate window longer than the retention age before touching the server', () => {
    expect(() =>
      createNatsStream({ servers: url as string, maxAgeMs: 1000, duplicateWindowMs: 5000 }),
    ).toThrow(/duplicateWindowMs \(5000\) must not exceed maxAgeMs \(1000\)/);
    expect(() => createNatsStream({ servers: [] })).toThrow(/servers must be/);
  });

  it('publishes a batch larger than the publish window in order', async () => {
    const stream = fresh();
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({
      group: 'g',
      batchSize: 1000,
      maxInFlight: 1000,
    });
    await producer.publishBatch(messages(2500));

    const got = await collect(consumer, 2500, 30_000);

    expect(got.map((m) => m.payload.n)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    await stream.close();
  });
});
