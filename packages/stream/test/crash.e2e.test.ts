import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { serviceUrl } from '@linkforge/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { collect, messages } from './contract.js';
import { openStream } from '../src/index.js';

const worker = fileURLToPath(new URL('./fixtures/crash-worker.js', import.meta.url));
const ACK_TIMEOUT_MS = 1000;

interface Target {
  readonly name: string;
  readonly url: string | undefined;
  cleanup(stream: string): Promise<void>;
}

const redisUrl = serviceUrl('REDIS_URL');
const natsUrl = serviceUrl('NATS_URL');
const targets: Target[] = [
  {
    name: 'Redis Streams',
    url: redisUrl,
    cleanup: async (stream) => {
      const redis = new Redis(redisUrl as string);
      await redis.del(`linkforge:stream:${stream}`);
      await redis.quit();
    },
  },
  {
    name: 'NATS JetStream',
    url: natsUrl,
    cleanup: async (stream) => {
      const nc = await connect({ servers: natsUrl as string });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    },
  },
];

/** Starts the worker and resolves with what it acked and what it held when told to stop. */
function startWorker(url: string, stream: string) {
  const child = spawn(process.execPath, [worker], {
    env: {
      ...process.env,
      STREAM_URL: url,
      STREAM_NAME: stream,
      ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      WORKER_NAME: 'doomed',
      ACK_BATCHES: '3',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const processed: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const holding = new Promise<string[]>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [word, json] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
        if (word === 'PROCESSED') processed.push(...(JSON.parse(json) as string[]));
        if (word === 'HOLDING') resolve(JSON.parse(json) as string[]);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${stderr}`)));
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_c, signal) => resolve(signal)),
  );
  return { child, processed, holding, exited };
}

for (const target of targets) {
  describe.skipIf(!target.url)(`SIGKILL of a consumer mid-batch (${target.name})`, () => {
    it('redelivers exactly the unacked messages to another consumer; acked ones never come back', async () => {
      const name = `lf-test-crash-${randomUUID().slice(0, 8)}`;
      const stream = openStream<{ n: number }>(target.url as string, {
        stream: name,
        ackTimeoutMs: ACK_TIMEOUT_MS,
      });
      try {
        const producer = await stream.createProducer();
        // The group exists before publishing so that the worker reads from the first message.
        const rescuer = await stream.createConsumer({
          group: 'workers',
          name: 'rescuer',
          batchSize: 10,
        });
        const sent = messages(100);
        await producer.publishBatch(sent);

        const doomed = startWorker(target.url as string, name);
        const held = await doomed.holding;
        doomed.child.kill('SIGKILL');
        expect(await doomed.exited).toBe('SIGKILL');
        expect(doomed.processed).toHaveLength(30);
        expect(held).toHaveLength(10);

        const rescued = await collect(rescuer, 70, ACK_TIMEOUT_MS + 15_000);
        const extra = await rescuer.fetch({ waitMs: ACK_TIMEOUT_MS + 500 });

        const rescuedIds = rescued.map((m) => m.id);
        const everything = [...doomed.processed, ...rescuedIds].sort();
        expect(everything).toEqual(sent.map((m) => m.id).sort());
        expect(rescuedIds.filter((id) => doomed.processed.includes(id))).toEqual([]);
        const redelivered = rescued.filter((m) => held.includes(m.id));
        expect(redelivered.map((m) => m.id).sort()).toEqual([...held].sort());
        expect(redelivered.every((m) => m.deliveryCount >= 2)).toBe(true);
        expect(extra).toEqual([]);
      } finally {
        await stream.close();
        await target.cleanup(name);
      }
    });
  });
}
