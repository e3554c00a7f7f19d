import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createNatsStream, createRedisStream, type StreamAdapter } from '@linkforge/stream';
import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickMessage } from '../src/analytics/click-message.js';
import type { Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrate.js';
import { openPostgres } from '../src/infra/db/postgres.js';
import { CLI } from './process.js';

const dbUrl = serviceUrl('DATABASE_URL');
const redisUrl = serviceUrl('REDIS_URL');
const N = 6000;
/** Events of the second wave, published once two workers listen. */
const TOTAL = N + 4000;

interface Worker {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<unknown>;
}

async function startWorker(env: Record<string, string>, name: string): Promise<Worker> {
  const child = spawn(process.execPath, [CLI, 'worker', '--batch-size', '250', '--name', name], {
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  const until = Date.now() + 30_000;
  while (!out.includes('worker ready')) {
    if (child.exitCode !== null) throw new Error(`worker exited early:\n${out}`);
    if (Date.now() > until) throw new Error(`worker did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, output: () => out, exited };
}

const natsUrl = serviceUrl('NATS_URL');
const adapters = [
  { name: 'Redis Streams', adapter: 'redis' as const },
  ...(natsUrl !== undefined ? [{ name: 'NATS JetStream', adapter: 'nats' as const }] : []),
];

interface NatsClient {
  connect(o: { servers: string }): Promise<{ close(): Promise<void> }>;
}
interface NatsManager {
  jetstreamManager(nc: unknown): Promise<{
    streams: { delete(name: string): Promise<boolean> };
    consumers: { info(stream: string, name: string): Promise<{ num_ack_pending: number }> };
  }>;
}

/** JetStream management through the NATS client that comes with @linkforge/stream. */
async function withNats<T>(
  fn: (jsm: Awaited<ReturnType<NatsManager['jetstreamManager']>>) => Promise<T>,
): Promise<T> {
  const req = createRequire(fileURLToPath(import.meta.resolve('@linkforge/stream')));
  const { connect } = (await import(req.resolve('@nats-io/transport-node'))) as NatsClient;
  const { jetstreamManager } = (await import(req.resolve('@nats-io/jetstream'))) as NatsManager;
  const nc = await connect({ servers: natsUrl! });
  try {
    return await fn(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

describe.skipIf(!dbUrl || !redisUrl).each(adapters)(
  'linkforge worker over $name (real processes)',
  ({ adapter }) => {
    let database: TestDatabase;
    let db: Database;
    let redis: Redis;
    const prefix = `lftest:${randomBytes(4).toString('hex')}:`;
    const streamName = `clicks_${randomBytes(4).toString('hex')}`;
    const streamKey = `${prefix}stream:${streamName}`;
    let env: Record<string, string>;

    beforeAll(async () => {
      database = await createTestDatabase(dbUrl!);
      db = await openPostgres(database.url, 2);
      await migrate(db);
      await db.query(
        `INSERT INTO links (id, workspace_id, code, is_alias, url)
         SELECT nextval('link_ids'), 1, 'k' || g, false, 'https://example.com/' || g
           FROM generate_series(1, 5) g`,
      );
      redis = new Redis(redisUrl!);
      env = {
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl!,
        REDIS_PREFIX: prefix,
        STREAM_ADAPTER: adapter,
        CLICK_STREAM: streamName,
        STREAM_REDELIVER_MS: '1500',
        ...(natsUrl !== undefined ? { NATS_URL: natsUrl } : {}),
      };
    });
    afterAll(async () => {
      await redis?.del(streamKey);
      if (adapter === 'nats')
        await withNats((jsm) => jsm.streams.delete(streamName).catch(() => false));
      redis?.disconnect();
      await db?.close();
      await database?.drop();
    });

    it('a worker killed with SIGKILL mid-batch loses nothing and counts nothing twice; two workers share the rest', async () => {
      const links = await db.query<{ id: number; code: string }>('SELECT id, code FROM links');
      const stream: StreamAdapter<ClickMessage> =
        adapter === 'redis'
          ? createRedisStream<ClickMessage>({
              url: redisUrl!,
              keyPrefix: `${prefix}stream:`,
              stream: streamName,
            })
          : createNatsStream<ClickMessage>({
              servers: natsUrl!,
              stream: streamName,
              subjectPrefix: 'linkforge.stream',
            });
      const producer = await stream.createProducer();
      const now = Date.now();
      const messages = Array.from({ length: TOTAL }, (_, i) => {
        const link = links[i % links.length]!;
        return {
          id: randomUUID(),
          key: String(link.id),
          payload: {
            v: 1 as const,
            linkId: link.id,
            code: link.code,
            at: now - (i % 7) * 3_600_000,
            ip: `81.2.${i % 50}.${i % 200}`,
            ua:
              i % 3 === 0
                ? 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
                : null,
            ref: i % 2 === 0 ? 'https://www.google.com/' : null,
          },
        };
      });
      for (let i = 0; i < N; i += 1000) await producer.publishBatch(messages.slice(i, i + 1000));
      // A producer retry may publish an event twice: deduplicated by event id.
      await producer.publishBatch(messages.slice(0, 100));

      const count = async () =>
        Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clicks'))[0]!.n);
      const xpending = async () =>
        adapter === 'nats'
          ? withNats(
              async (jsm) => (await jsm.consumers.info(streamName, 'analytics')).num_ack_pending,
            )
          : redisPending();
      const redisPending = async () =>
        Number(((await redis.xpending(streamKey, 'analytics')) as [number])[0]);
      // Kill a worker while it holds a delivered, unacknowledged batch (checked after the kill:
      // if an ack slipped in between, try again with a fresh worker).
      let stored = 0;
      let pendingAtKill = 0;
      for (let attempt = 0; attempt < 5 && pendingAtKill === 0; attempt++) {
        const victim = await startWorker(env, `victim${attempt}`);
        const until = Date.now() + 30_000;
        while (Date.now() < until) {
          if ((await count()) > stored && (await xpending()) > 0) break;
          await new Promise((r) => setTimeout(r, 2));
        }
        victim.child.kill('SIGKILL');
        await victim.exited;
        stored = await count();
        pendingAtKill = await xpending();
      }
      expect(pendingAtKill).toBeGreaterThan(0);
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(N);

      const [b, c] = await Promise.all([startWorker(env, 'b'), startWorker(env, 'c')]);
      // A second wave once both listen: the consumer group hands batches to both.
      for (let i = N; i < TOTAL; i += 1000)
        await producer.publishBatch(messages.slice(i, i + 1000));
      await stream.close();
      const deadline = Date.now() + 90_000;
      while ((await count()) < TOTAL && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // Settle: any late redelivery must still change nothing.
      await new Promise((r) => setTimeout(r, 2_000));
      b.child.kill('SIGTERM');
      c.child.kill('SIGTERM');
      await Promise.all([b.exited, c.exited]);

      const [totals] = await db.query<{
        raw: number;
        distinct_ids: number;
        daily: number;
        hourly: number;
        visitors: number;
        visitor_rows: number;
      }>(
        `SELECT (SELECT count(*) FROM clicks)::int AS raw,
                (SELECT count(DISTINCT event_id) FROM clicks)::int AS distinct_ids,
                (SELECT sum(clicks) FROM click_daily)::int AS daily,
                (SELECT sum(clicks) FROM click_hourly)::int AS hourly,
                (SELECT sum(visitors) FROM click_daily)::int AS visitors,
                (SELECT count(*) FROM link_day_visitors)::int AS visitor_rows`,
      );
      expect(totals).toEqual({
        raw: TOTAL,
        distinct_ids: TOTAL,
        daily: TOTAL,
        hourly: TOTAL,
        visitors: totals!.visitor_rows,
        visitor_rows: totals!.visitor_rows,
      });
      const dims = await db.query<{ dim: string; n: number }>(
        `SELECT dim, sum(clicks)::int AS n FROM click_dims GROUP BY dim ORDER BY dim`,
      );
      expect(dims).toEqual(
        ['browser', 'country', 'device', 'os', 'referrer'].map((dim) => ({ dim, n: TOTAL })),
      );
      const storedBy = (w: Worker) => Number(/"stored":(\d+)/.exec(w.output())?.[1] ?? Number.NaN);
      // Both surviving workers took part of the load.
      expect(storedBy(b)).toBeGreaterThan(0);
      expect(storedBy(c)).toBeGreaterThan(0);
      // Every partition holding the clicks was created ahead by the workers.
      const parts = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'clicks'::regclass`,
      );
      expect(parts[0]!.n).toBeGreaterThanOrEqual(3);
    }, 150_000);
  },
);
