import { randomUUID } from 'node:crypto';
import { serviceUrl } from '@linkforge/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { streamContract } from './contract.js';
import { createRedisStream } from '../src/index.js';

const url = serviceUrl('REDIS_URL');
const prefix = `lf-test:stream:${randomUUID().slice(0, 8)}:`;

describe.skipIf(!url)('Redis Streams adapter', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(url as string);
  });
  afterAll(async () => {
    await admin.quit();
  });

  streamContract({
    name: 'redis',
    ackTimeoutMs: 500,
    create: async () =>
      createRedisStream({
        url: url as string,
        keyPrefix: prefix,
        stream: `s-${randomUUID().slice(0, 8)}`,
        claimIdleMs: 500,
        claimIntervalMs: 100,
      }),
    destroy: async (stream) => {
      await admin.del(prefix + stream.stream);
    },
  });
});
