import { randomUUID } from 'node:crypto';
import { serviceUrl } from '@linkforge/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, messages, streamContract } from './contract.js';
import { createRedisStream, StreamBrokerError, type RedisStreamOptions } from '../src/index.js';

const url = serviceUrl('REDIS_URL');
const prefix = `lf-test:stream:${randomUUID().slice(0, 8)}:`;

describe.skipIf(!url)('Redis Streams adapter', () => {
  let admin: Redis;
  const made: string[] = [];
  beforeAll(() => {
    admin = new Redis(url as string);
  });
  afterAll(async () => {
    if (made.length > 0) await admin.del(...made);
    await admin.quit();
  });

  function fresh(options: Partial<RedisStreamOptions> = {}) {
    const stream = `s-${randomUUID().slice(0, 8)}`;
    made.push(prefix + stream);
    return createRedisStream<{ n: number }>({
      url: url as string,
      keyPrefix: prefix,
      stream,
      ...options,
    });
  }

  streamContract({
    name: 'redis',
    ackTimeoutMs: 1000,
    create: async () => fresh({ claimIdleMs: 1000, claimIntervalMs: 100 }),
    destroy: async (stream) => {
      await admin.del(prefix + stream.stream);
    },
  });

  it('trims only entries every group has acked: pending and unread entries stay', async () => {
    const stream = fresh({ trimIntervalMs: 1 });
    const key = prefix + stream.stream;
    const producer = await stream.createProducer();
    const a = await stream.createConsumer({ group: 'a', batchSize: 100, maxInFlight: 200 });
    const b = await stream.createConsumer({ group: 'b', batchSize: 100 });
    for (let i = 0; i < 10; i++) await producer.publishBatch(messages(100, undefined, i * 100));

    const held = await collect(a, 100, 5000, false);
    await collect(a, 900, 10_000);
    expect(await admin.xlen(key)).toBe(1000); // group b has read nothing yet
    await collect(b, 1000, 10_000);
    expect(await admin.xlen(key)).toBe(1000); // group a still holds its first 100 unacked

    await a.ack(held);

    // MINID trimming with `~` removes whole radix-tree nodes (100 entries each by default).
    // Trims are at most one per interval (1 ms here): an ack that comes sooner than that after
    // the previous trim leaves it to the trim at the interval's end.
    const deadline = Date.now() + 2000;
    while ((await admin.xlen(key)) > 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await admin.xlen(key)).toBeLessThanOrEqual(200);
    await stream.close();
  });

  it('caps the stream at about maxLen when a hard cap is set', async () => {
    const stream = fresh({ maxLen: 100 });
    const producer = await stream.createProducer();
    for (let i = 0; i < 10; i++) await producer.publishBatch(messages(100, undefined, i * 100));

    const length = await admin.xlen(prefix + stream.stream);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);
    await stream.close();
  });

  it('a consumer restarted under the same name takes its pending entries back at once', async () => {
    const before = fresh({ claimIdleMs: 60_000 });
    const producer = await before.createProducer();
    const crashed = await before.createConsumer({ group: 'g', name: 'worker-1', batchSize: 5 });
    await producer.publishBatch(messages(5));
    const held = await collect(crashed, 5, 5000, false);

    const after = createRedisStream<{ n: number }>({
      url: url as string,
      keyPrefix: prefix,
      stream: before.stream,
      claimIdleMs: 60_000,
    });
    const restarted = await after.createConsumer({ group: 'g', name: 'worker-1', batchSize: 5 });
    const started = Date.now();
    const again = await collect(restarted, 5, 5000);

    expect(again.map((m) => m.id)).toEqual(held.map((m) => m.id));
    expect(Date.now() - started).toBeLessThan(2000);
    await after.close();
    await before.close();
  });

  it('leaves the group on close when it holds nothing, and stays while entries are pending', async () => {
    const stream = fresh({ claimIdleMs: 60_000 });
    const key = prefix + stream.stream;
    const producer = await stream.createProducer();
    const idle = await stream.createConsumer({ group: 'g', name: 'idle' });
    await idle.close();
    const busy = await stream.createConsumer({ group: 'g', name: 'busy', batchSize: 3 });
    await producer.publishBatch(messages(3));
    await collect(busy, 3, 5000, false);
    await busy.close();

    const consumers = (await admin.call('XINFO', 'CONSUMERS', key, 'g')) as unknown[][];
    const names = consumers.map((c) => String(c[c.indexOf('name') + 1]));
    expect(names).toEqual(['busy']);
    await stream.close();
  });

  it('refuses construction without exactly one of url or redis', () => {
    expect(() => createRedisStream({})).toThrow(/exactly one of url or redis/);
    expect(() => createRedisStream({ url: 'http://x' })).toThrow(/redis:\/\//);
    expect(() => createRedisStream({ url: url as string, maxLen: 0 })).toThrow(/maxLen/);
  });

  it('uses a given ioredis client without closing it', async () => {
    const client = new Redis(url as string);
    const stream = createRedisStream<{ n: number }>({
      redis: client,
      keyPrefix: prefix,
      stream: `given-${randomUUID().slice(0, 8)}`,
    });
    made.push(prefix + stream.stream);
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g' });
    await producer.publish({ id: 'e1', payload: { n: 1 } });
    expect((await collect(consumer, 1, 5000)).map((m) => m.id)).toEqual(['e1']);

    await stream.close();

    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('recreates its group when the stream key vanished and goes on consuming', async () => {
    const stream = fresh();
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g', waitMs: 100 });
    await admin.del(prefix + stream.stream); // as after a restart without persistence

    expect(await consumer.fetch()).toEqual([]);
    await producer.publish({ id: 'after', payload: { n: 1 } });

    expect((await collect(consumer, 1, 5000)).map((m) => m.id)).toEqual(['after']);
    await stream.close();
  });

  it('reports a broker-side failure as StreamBrokerError with the Redis reply as cause', async () => {
    const stream = fresh();
    const consumer = await stream.createConsumer({ group: 'g', waitMs: 100 });
    await admin.del(prefix + stream.stream);
    await admin.set(prefix + stream.stream, 'not a stream');

    const error = await consumer.fetch().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StreamBrokerError);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    await stream.close();
  });

  it('a consumer that closes after another claimed its entries leaves them with the new owner', async () => {
    const stream = fresh({ claimIdleMs: 300, claimIntervalMs: 50 });
    const key = prefix + stream.stream;
    const producer = await stream.createProducer();
    const late = await stream.createConsumer({ group: 'g', name: 'late', batchSize: 5 });
    const heir = await stream.createConsumer({ group: 'g', name: 'heir', batchSize: 5 });
    await producer.publishBatch(messages(5));
    await collect(late, 5, 5000, false);
    await new Promise((r) => setTimeout(r, 400));
    const claimed = await collect(heir, 5, 5000, false);
    expect(claimed).toHaveLength(5);

    await late.close();

    const owners = (await admin.call('XPENDING', key, 'g', '-', '+', 10)) as [string, string][];
    expect(owners.map((p) => p[1])).toEqual(['heir', 'heir', 'heir', 'heir', 'heir']);
    await stream.close();
  });
});
