// Publish and consume throughput of the stream adapters, side by side, in one run.
//
//   npm run build && node packages/stream/bench/throughput.js [--messages 20000] [--runs 3]
//     [--batches 1,10,100,1000]
//
// Baseline: Redis Streams (the server-mode default). Each cell is the median of --runs runs;
// each run publishes --messages click-sized events with publishBatch(batch) from one producer,
// then drains them with one consumer (fetch batch, ack batch). Brokers: REDIS_URL, NATS_URL
// (defaults 127.0.0.1), KAFKA_BROKERS when set. Every run uses a fresh stream and deletes it.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import {
  createInProcessStream,
  createKafkaStream,
  createNatsStream,
  createRedisStream,
} from '../dist/index.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    batches: { type: 'string', default: '1,10,100,1000' },
    'lag-rate': { type: 'string', default: '2000' },
    'lag-seconds': { type: 'string', default: '10' },
  },
});
const lagRate = Number(values['lag-rate']);
const lagSeconds = Number(values['lag-seconds']);
if (!(lagRate >= 0) || !(lagSeconds > 0)) {
  throw new Error('--lag-rate must be >= 0 (0 skips the lag test) and --lag-seconds positive');
}
const total = Number(values.messages);
const runs = Number(values.runs);
const batches = values.batches.split(',').map(Number);
if (!(total > 0) || !(runs > 0) || batches.some((b) => !(b > 0) || b > 10_000)) {
  throw new Error('--messages and --runs must be positive; --batches values from 1 to 10000');
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const kafkaBrokers = process.env.KAFKA_BROKERS;

const adapters = [
  {
    name: 'redis',
    make: (stream) => createRedisStream({ url: redisUrl, stream, keyPrefix: 'lf-bench:' }),
    cleanup: async (stream) => {
      const redis = new Redis(redisUrl);
      await redis.del(`lf-bench:${stream}`);
      await redis.quit();
    },
  },
  {
    name: 'nats',
    make: (stream) =>
      createNatsStream({
        servers: natsUrl,
        stream,
        subjectPrefix: 'lf-bench',
        maxAgeMs: 3_600_000,
      }),
    cleanup: async (stream) => {
      const nc = await connect({ servers: natsUrl });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    },
  },
  {
    name: 'in-process',
    make: (stream) => createInProcessStream({ stream, capacity: Math.max(total, 1) }),
    cleanup: async () => undefined,
  },
];
if (kafkaBrokers) {
  adapters.push({
    name: 'kafka',
    make: (stream) => createKafkaStream({ brokers: kafkaBrokers, stream, partitions: 1 }),
    cleanup: async () => undefined,
  });
}

/** A click event the size the link server publishes (~250 bytes of JSON). */
function click(i) {
  return {
    id: randomUUID(),
    key: `link_${i % 500}`,
    payload: {
      type: 'link.clicked',
      linkId: `link_${i % 500}`,
      at: new Date().toISOString(),
      ip: `203.0.113.${i % 250}`,
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',
      referrer: 'https://news.example.com/item?id=1',
    },
  };
}

async function once(adapter, batch) {
  const name = `lf-bench-${randomUUID().slice(0, 8)}`;
  const stream = adapter.make(name);
  try {
    const producer = await stream.createProducer();
    const consumer = await stream.createConsumer({
      group: 'bench',
      batchSize: batch,
      waitMs: 2000,
    });
    const events = Array.from({ length: total }, (_, i) => click(i));

    let started = performance.now();
    for (let i = 0; i < total; i += batch) await producer.publishBatch(events.slice(i, i + batch));
    const publishSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    let received = 0;
    while (received < total) {
      const got = await consumer.fetch();
      if (got.length === 0) throw new Error(`${adapter.name}: stalled at ${received}/${total}`);
      await consumer.ack(got);
      received += got.length;
    }
    const consumeSeconds = (performance.now() - started) / 1000;
    return { publish: total / publishSeconds, consume: total / consumeSeconds };
  } finally {
    await stream.close();
    await adapter.cleanup(name);
  }
}

/**
 * Sustained load: publishes `lagRate` msgs/s (batches of 100 every 100/lagRate s) for
 * `lagSeconds` while two consumers of one group drain them, and measures each message's lag
 * from publish to receipt.
 */
async function lag(adapter) {
  const name = `lf-bench-${randomUUID().slice(0, 8)}`;
  const stream = adapter.make(name);
  try {
    const producer = await stream.createProducer();
    const consumers = await Promise.all(
      [0, 1].map(() => stream.createConsumer({ group: 'bench', batchSize: 100, waitMs: 200 })),
    );
    const lags = [];
    const runs = consumers.map((c) =>
      c.run(async (batch) => {
        const now = Date.now();
        for (const m of batch) lags.push(now - m.publishedAt);
      }),
    );
    const total = Math.round(lagRate * lagSeconds);
    const interval = (100 / lagRate) * 1000;
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = started + (sent / 100) * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const n = Math.min(100, total - sent);
      await producer.publishBatch(Array.from({ length: n }, (_, i) => click(sent + i)));
      sent += n;
    }
    const publishSeconds = (performance.now() - started) / 1000;
    const deadline = Date.now() + 60_000;
    while (lags.length < total && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const drainSeconds = (performance.now() - started) / 1000;
    await Promise.all(consumers.map((c) => c.close()));
    await Promise.all(runs);
    const sorted = [...lags].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      offered: total / publishSeconds,
      consumed: lags.length / drainSeconds,
      received: lags.length,
      total,
      p50: at(0.5),
      p99: at(0.99),
    };
  } finally {
    await stream.close();
    await adapter.cleanup(name);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(9);

const results = new Map();
for (const batch of batches) {
  for (const adapter of adapters) {
    const samples = [];
    for (let r = 0; r < runs; r++) samples.push(await once(adapter, batch));
    results.set(`${adapter.name}:${batch}`, {
      publish: median(samples.map((s) => s.publish)),
      consume: median(samples.map((s) => s.consume)),
    });
  }
}

console.log(
  `stream throughput, msgs/s, median of ${runs} runs, ${total} messages per run, ` +
    `one producer then one consumer (${new Date().toISOString()})`,
);
const others = adapters.filter((a) => a.name !== 'redis');
const header = [
  'batch',
  'op',
  '    redis',
  ...others.flatMap((a) => [a.name.padStart(10), '× redis']),
];
console.log(header.join('  '));
for (const batch of batches) {
  for (const op of ['publish', 'consume']) {
    const base = results.get(`redis:${batch}`)[op];
    const cells = others.flatMap((a) => {
      const v = results.get(`${a.name}:${batch}`)[op];
      return [fmt(v).padStart(10), `${(v / base).toFixed(2)}×`.padStart(7)];
    });
    console.log([String(batch).padStart(5), op.padEnd(7), fmt(base), ...cells].join('  '));
  }
}

if (lagRate > 0) {
  console.log(
    `\nsustained load: ${lagRate} msgs/s offered for ${lagSeconds} s in batches of 100, ` +
      'two consumers (batch 100) in one group; lag = receipt time - publish time',
  );
  console.log(
    ['adapter'.padEnd(10), 'offered/s', 'consumed/s', 'received', 'lag p50 ms', 'lag p99 ms'].join(
      '  ',
    ),
  );
  for (const adapter of adapters) {
    const r = await lag(adapter);
    console.log(
      [
        adapter.name.padEnd(10),
        fmt(r.offered),
        fmt(r.consumed).padStart(10),
        `${r.received}/${r.total}`.padStart(8),
        String(r.p50).padStart(10),
        String(r.p99).padStart(10),
      ].join('  '),
    );
  }
}
