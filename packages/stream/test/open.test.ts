import { describe, expect, it } from 'vitest';
import { openStream, StreamValidationError } from '../src/index.js';

describe('openStream', () => {
  it('picks the adapter from the URL scheme without connecting', async () => {
    const memory = openStream('memory:', { stream: 'clicks' });
    const redis = openStream('redis://127.0.0.1:6379', { stream: 'clicks' });
    const nats = openStream('nats://127.0.0.1:4222', { stream: 'clicks' });
    const kafka = openStream('kafka://127.0.0.1:9092,127.0.0.2:9092', { stream: 'clicks' });

    expect([memory.kind, redis.kind, nats.kind, kafka.kind]).toEqual([
      'in-process',
      'redis',
      'nats',
      'kafka',
    ]);
    expect(memory.stream).toBe('clicks');
    expect(kafka.capabilities.totalOrder).toBe(false);
    await Promise.all([memory.close(), redis.close(), nats.close(), kafka.close()]);
  });

  it('rejects an unknown scheme, naming the ones it knows', () => {
    expect(() => openStream('amqp://127.0.0.1')).toThrow(
      /unsupported stream URL scheme "amqp:".*redis:\/\//,
    );
    expect(() => openStream('')).toThrow(StreamValidationError);
  });

  it('rejects invalid options with the option name in the message', () => {
    expect(() => openStream('memory:', { stream: 'has space' })).toThrow(/stream must be/);
    expect(() => openStream('memory:', { ackTimeoutMs: -5 })).toThrow(/ackTimeoutMs/);
    expect(() => openStream('redis://127.0.0.1', { ackTimeoutMs: 1.5 })).toThrow(/claimIdleMs/);
    expect(() => openStream('kafka://nohostport')).toThrow(/brokers must be host:port/);
  });
});
