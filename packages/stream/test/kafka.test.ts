import { describe, expect, it } from 'vitest';
import { createKafkaStream, StreamBrokerError, StreamValidationError } from '../src/index.js';

describe('Kafka adapter without a broker', () => {
  it('validates options before connecting', () => {
    expect(() => createKafkaStream({ brokers: '' })).toThrow(StreamValidationError);
    expect(() => createKafkaStream({ brokers: ['127.0.0.1:9092'], partitions: 0 })).toThrow(
      /partitions/,
    );
    expect(() => createKafkaStream({ brokers: '127.0.0.1:9092', stream: 'a.b' })).toThrow(
      /stream must be/,
    );
  });

  it('reports an unreachable broker as a StreamBrokerError naming the topic', async () => {
    // Port 1 on loopback refuses connections at once.
    const stream = createKafkaStream({ brokers: '127.0.0.1:1', stream: 'clicks' });
    const error = await stream.createProducer().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamBrokerError);
    expect((error as StreamBrokerError).message).toMatch(/clicks/);
    await stream.close();
  });
});
