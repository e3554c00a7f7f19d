import { describe, expect, it } from 'vitest';
import { collect, messages, streamContract } from './contract.js';
import { createInProcessStream, StreamClosedError, StreamFullError } from '../src/index.js';

streamContract({
  name: 'in-process',
  ackTimeoutMs: 300,
  create: async () => createInProcessStream({ stream: 'contract', ackTimeoutMs: 300 }),
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
});
