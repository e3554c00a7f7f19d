import { describe, expect, it } from 'vitest';
import { collect, messages, streamContract } from './contract.js';
import { createInProcessStream, StreamClosedError, StreamFullError } from '../src/index.js';

streamContract({
  name: 'in-process',
  ackTimeoutMs: 1000,
  create: async () => createInProcessStream({ stream: 'contract', ackTimeoutMs: 1000 }),
  destroy: async () => undefined,
});

describe('in-process stream', () => {
  it('makes a publish wait while the stream is at capacity and lets it through once acks free room', async () => {
    const stream = createInProcessStream<{ n: number }>({ capacity: 10, publishTimeoutMs: 5000 });
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g', batchSize: 10 });
    await producer.publishBatch(messages(10));
    let published = false;
    const pending = producer.publishBatch(messages(5, undefined, 10)).then(() => {
      published = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(published).toBe(false);

    const first = await consumer.fetch();
    await consumer.ack(first);
    await pending;

    expect(published).toBe(true);
    const rest = await collect(consumer, 5, 2000);
    expect(rest.map((m) => m.payload.n)).toEqual([10, 11, 12, 13, 14]);
    await stream.close();
  });

  it('fails a publish with StreamFullError when no room comes within publishTimeoutMs, storing none of it', async () => {
    const stream = createInProcessStream<{ n: number }>({ capacity: 5, publishTimeoutMs: 100 });
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g', batchSize: 50 });
    await producer.publishBatch(messages(4));

    await expect(producer.publishBatch(messages(2, undefined, 4))).rejects.toBeInstanceOf(
      StreamFullError,
    );
    await expect(producer.publishBatch(messages(6))).rejects.toThrow(/can never fit/);

    const got = await collect(consumer, 10, 300);
    expect(got.map((m) => m.payload.n)).toEqual([0, 1, 2, 3]);
    await stream.close();
  });

  it('drops messages once every group acked them, and keeps them while one group has not', async () => {
    const stream = createInProcessStream<{ n: number }>({ capacity: 20, publishTimeoutMs: 100 });
    const producer = await stream.createProducer();
    const fast = await stream.createConsumer({ group: 'fast', batchSize: 20 });
    const slow = await stream.createConsumer({ group: 'slow', batchSize: 20 });
    await producer.publishBatch(messages(20));
    await collect(fast, 20, 1000);

    await expect(producer.publish(messages(1)[0]!)).rejects.toBeInstanceOf(StreamFullError);
    await collect(slow, 20, 1000);
    await producer.publishBatch(messages(20, undefined, 20));

    expect((await collect(fast, 20, 1000)).map((m) => m.payload.n)[0]).toBe(20);
    await stream.close();
  });

  it('closing the stream closes its consumers and producers', async () => {
    const stream = createInProcessStream();
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g' });
    await stream.close();

    await expect(consumer.fetch()).rejects.toBeInstanceOf(StreamClosedError);
    await expect(producer.publish({ id: 'a', payload: 1 })).rejects.toBeInstanceOf(
      StreamClosedError,
    );
    await expect(stream.createConsumer({ group: 'g' })).rejects.toBeInstanceOf(StreamClosedError);
  });

  it('run(): a signal stops the loop without closing the consumer; a second run at once is refused', async () => {
    const stream = createInProcessStream<{ n: number }>();
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g', batchSize: 5, waitMs: 50 });
    await producer.publishBatch(messages(5));
    const controller = new AbortController();
    const seen: number[] = [];

    const loop = consumer.run(
      async (batch) => {
        seen.push(...batch.map((m) => m.payload.n));
        controller.abort();
      },
      { signal: controller.signal },
    );
    expect(() => consumer.run(async () => undefined)).toThrow(/already running/);
    await loop;

    expect(seen).toEqual([0, 1, 2, 3, 4]);
    await producer.publishBatch(messages(1, undefined, 5));
    expect((await consumer.fetch()).map((m) => m.payload.n)).toEqual([5]);
    await stream.close();
  });

  it('run() without onError rejects with the handler error and leaves the batch for redelivery', async () => {
    const stream = createInProcessStream<{ n: number }>();
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({ group: 'g', batchSize: 3, waitMs: 50 });
    await producer.publishBatch(messages(3));

    await expect(
      consumer.run(async () => {
        throw new Error('database down');
      }),
    ).rejects.toThrow('database down');

    const again = await consumer.fetch();
    expect(again.map((m) => [m.payload.n, m.deliveryCount])).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
    ]);
    await stream.close();
  });

  it('gives each consumer its own copy of the payload', async () => {
    const stream = createInProcessStream<{ n: number }>();
    const producer = await stream.createProducer();
    const a = await stream.createConsumer({ group: 'a' });
    const b = await stream.createConsumer({ group: 'b' });
    await producer.publish({ id: 'x', payload: { n: 1 } });

    const [ma] = await a.fetch();
    ma!.payload.n = 99;
    const [mb] = await b.fetch();

    expect(mb!.payload.n).toBe(1);
    await stream.close();
  });
});
