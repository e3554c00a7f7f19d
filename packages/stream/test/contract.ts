import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ForeignMessageError,
  StreamClosedError,
  StreamValidationError,
  type OutgoingMessage,
  type StreamAdapter,
  type StreamConsumer,
  type StreamMessage,
} from '../src/index.js';

type Payload = { n: number; text?: string };

/** How the contract suite gets a fresh stream of one adapter. */
export interface ContractTarget {
  readonly name: string;
  /** Ack timeout the adapter is configured with (redelivery time of unacked messages). */
  readonly ackTimeoutMs: number;
  /** Makes an adapter on a stream nobody else uses. */
  create(): Promise<StreamAdapter<Payload>>;
  /** Deletes what `create` made on the broker (after the adapter is closed). */
  destroy(adapter: StreamAdapter<Payload>): Promise<void>;
}

export function messages(count: number, key?: string, from = 0): OutgoingMessage<Payload>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `evt-${from + i}-${randomUUID()}`,
    key,
    payload: { n: from + i },
  }));
}

/** Fetches until `count` messages arrived or `timeoutMs` passed. */
export async function collect(
  consumer: StreamConsumer<Payload>,
  count: number,
  timeoutMs: number,
  ack = true,
): Promise<StreamMessage<Payload>[]> {
  const out: StreamMessage<Payload>[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    const batch = await consumer.fetch({
      waitMs: Math.min(1000, Math.max(0, deadline - Date.now())),
    });
    if (ack && batch.length > 0) await consumer.ack(batch);
    out.push(...batch);
  }
  return out;
}

/**
 * The delivery contract every adapter keeps. Run it with a target per adapter; tests that
 * depend on a capability the adapter does not promise check the other half of it instead.
 */
export function streamContract(target: ContractTarget): void {
  describe(`stream contract: ${target.name}`, () => {
    let stream: StreamAdapter<Payload>;

    beforeEach(async () => {
      stream = await target.create();
    });

    afterEach(async () => {
      await stream.close();
      await target.destroy(stream);
    });

    it('delivers id, key, payload and publish time intact, first delivery counted as 1', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1' });
      const before = Date.now();
      await producer.publish({ id: 'evt-a', key: 'link-1', payload: { n: 1, text: 'héllo ✓' } });
      await producer.publish({ id: 'evt-b', payload: { n: 2 } });

      const got = await collect(consumer, 2, 10_000);

      expect(got.map((m) => [m.id, m.key, m.payload, m.deliveryCount])).toEqual([
        ['evt-a', 'link-1', { n: 1, text: 'héllo ✓' }, 1],
        ['evt-b', undefined, { n: 2 }, 1],
      ]);
      expect(got[0]?.publishedAt).toBeGreaterThanOrEqual(before - 5);
      expect(got[0]?.position).not.toBe('');
    });

    it('never returns more than the asked batch size, and returns what is there', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1', batchSize: 10 });
      await producer.publishBatch(messages(25));

      const sizes: number[] = [];
      let total = 0;
      const deadline = Date.now() + 15_000;
      while (total < 25 && Date.now() < deadline) {
        const batch = await consumer.fetch();
        sizes.push(batch.length);
        total += batch.length;
        await consumer.ack(batch);
      }

      expect(total).toBe(25);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
      const small = await consumer.fetch({ max: 3, waitMs: 0 });
      expect(small).toEqual([]);
    });

    it('delivers messages of one key in publish order to a group’s only consumer', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1', batchSize: 7 });
      await producer.publishBatch(messages(40, 'same-key'));
      await producer.publishBatch(messages(40, 'same-key', 40));

      const got = await collect(consumer, 80, 15_000);

      expect(got.map((m) => m.payload.n)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    });

    it(
      target.name === 'kafka'
        ? 'keeps order per key across several keys'
        : 'delivers every message in publish order across keys (one log)',
      async () => {
        expect(stream.capabilities.totalOrder).toBe(target.name !== 'kafka');
        const producer = await stream.createProducer();
        const consumer = await stream.createConsumer({ group: 'g1', batchSize: 16 });
        const keys = ['a', 'b', 'c'];
        const batch = Array.from({ length: 60 }, (_, i) => ({
          id: `evt-${i}-${randomUUID()}`,
          key: keys[i % 3],
          payload: { n: i },
        }));
        await producer.publishBatch(batch);

        const got = await collect(consumer, 60, 15_000);

        expect(got).toHaveLength(60);
        for (const key of keys) {
          const ns = got.filter((m) => m.key === key).map((m) => m.payload.n);
          expect(ns).toEqual([...ns].sort((x, y) => x - y));
        }
        if (stream.capabilities.totalOrder) {
          expect(got.map((m) => m.payload.n)).toEqual(Array.from({ length: 60 }, (_, i) => i));
        }
      },
    );

    it('does not deliver acked messages again to the group', async () => {
      const producer = await stream.createProducer();
      const first = await stream.createConsumer({ group: 'g1' });
      await producer.publishBatch(messages(10));
      expect(await collect(first, 10, 10_000)).toHaveLength(10);
      await first.close();

      const second = await stream.createConsumer({ group: 'g1' });
      const again = await collect(second, 1, target.ackTimeoutMs + 1500);

      expect(again).toEqual([]);
    });

    it('redelivers to another consumer the messages a closed consumer never acked', async () => {
      const producer = await stream.createProducer();
      const quitter = await stream.createConsumer({ group: 'g1', batchSize: 10 });
      await producer.publishBatch(messages(10));
      const taken = await collect(quitter, 10, 10_000, false);
      expect(taken).toHaveLength(10);
      await quitter.close();

      const heir = await stream.createConsumer({ group: 'g1', batchSize: 10 });
      const redelivered = await collect(heir, 10, target.ackTimeoutMs + 15_000);

      expect(new Set(redelivered.map((m) => m.id))).toEqual(new Set(taken.map((m) => m.id)));
      if (stream.capabilities.countsDeliveries) {
        expect(redelivered.every((m) => m.deliveryCount >= 2)).toBe(true);
      }
    });

    it(
      target.name === 'kafka'
        ? 'keeps unacked messages with a live holder past the ack timeout (no redelivery while it lives)'
        : 'redelivers messages held unacked past the ack timeout to another consumer, holder alive',
      async () => {
        const producer = await stream.createProducer();
        const holder = await stream.createConsumer({ group: 'g1', batchSize: 5 });
        const other = await stream.createConsumer({ group: 'g1', batchSize: 5 });
        await producer.publishBatch(messages(5));
        const held = await collect(holder, 5, 10_000, false);
        expect(held).toHaveLength(5);

        // Collecting stops at 5; a loaded machine may lose a redelivery in a pull that is just
        // expiring, and the message comes again one ack timeout later: allow for a few.
        const stolen = await collect(
          other,
          5,
          target.ackTimeoutMs + (stream.capabilities.redeliversOnAckTimeout ? 15_000 : 5000),
        );

        if (stream.capabilities.redeliversOnAckTimeout) {
          expect(new Set(stolen.map((m) => m.id))).toEqual(new Set(held.map((m) => m.id)));
          // The holder's late ack is harmless.
          await holder.ack(held);
        } else {
          expect(stolen).toEqual([]);
        }
      },
    );

    it('run(): a batch whose handler throws is not acked and comes back', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1', batchSize: 5, waitMs: 200 });
      await producer.publishBatch(messages(5));
      const seen: string[][] = [];
      const errors: unknown[] = [];
      let calls = 0;

      const done = consumer.run(
        async (batch) => {
          seen.push(batch.map((m) => m.id));
          calls += 1;
          if (calls === 1) throw new Error('worker failed');
          if (seen.flat().length >= 10) void consumer.close();
        },
        { onError: (error) => errors.push(error), retryDelayMs: 10 },
      );
      const deadline = Date.now() + target.ackTimeoutMs + 20_000;
      while (seen.flat().length < 10 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await consumer.close();
      await done;

      expect(errors).toHaveLength(1);
      expect(new Set(seen.flat().slice(5))).toEqual(new Set(seen[0]));
    });

    it('run(): a handler slower than the ack timeout keeps its batch; no other consumer gets it', async () => {
      const producer = await stream.createProducer();
      const slow = await stream.createConsumer({ group: 'g1', batchSize: 5, waitMs: 100 });
      const other = await stream.createConsumer({ group: 'g1', batchSize: 5 });
      await producer.publishBatch(messages(5));
      let handled: string[] = [];
      let started!: () => void;
      const inHandler = new Promise<void>((r) => (started = r));
      const loop = slow.run(async (batch) => {
        started();
        await new Promise((r) => setTimeout(r, target.ackTimeoutMs * 2.5));
        handled = batch.map((m) => m.id);
      });
      await inHandler;

      // Poll often, so that claim scans and redeliveries would be seen.
      const stolen: StreamMessage<Payload>[] = [];
      const until = Date.now() + target.ackTimeoutMs * 2;
      while (Date.now() < until) stolen.push(...(await other.fetch({ waitMs: 100 })));
      await slow.close();
      await loop;

      expect(stolen).toEqual([]);
      expect(handled).toHaveLength(5);
      expect(await other.fetch({ waitMs: 200 })).toEqual([]);
    });

    it('shares a group between consumers: each message goes to exactly one of them', async () => {
      const producer = await stream.createProducer();
      const a = await stream.createConsumer({ group: 'g1', batchSize: 10, waitMs: 300 });
      const b = await stream.createConsumer({ group: 'g1', batchSize: 10, waitMs: 300 });
      const sent = messages(200);
      const byConsumer = new Map<string, string[]>([
        [a.name, []],
        [b.name, []],
      ]);
      const work = (c: StreamConsumer<Payload>) =>
        c.run(async (batch) => {
          byConsumer.get(c.name)?.push(...batch.map((m) => m.id));
          // Slow enough that both consumers get work.
          await new Promise((r) => setTimeout(r, 20));
        });
      const runs = [work(a), work(b)];
      for (let i = 0; i < 200; i += 20) await producer.publishBatch(sent.slice(i, i + 20));

      const deadline = Date.now() + 20_000;
      const total = () =>
        (byConsumer.get(a.name)?.length ?? 0) + (byConsumer.get(b.name)?.length ?? 0);
      while (total() < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await Promise.all([a.close(), b.close()]);
      await Promise.all(runs);

      const all = [...(byConsumer.get(a.name) ?? []), ...(byConsumer.get(b.name) ?? [])];
      expect(all.sort()).toEqual(sent.map((m) => m.id).sort());
      expect(byConsumer.get(a.name)?.length).toBeGreaterThan(0);
      expect(byConsumer.get(b.name)?.length).toBeGreaterThan(0);
    });

    it('gives every group every message', async () => {
      const producer = await stream.createProducer();
      const analytics = await stream.createConsumer({ group: 'analytics' });
      const audit = await stream.createConsumer({ group: 'audit' });
      const sent = messages(30);
      await producer.publishBatch(sent);

      const [x, y] = await Promise.all([
        collect(analytics, 30, 10_000),
        collect(audit, 30, 10_000),
      ]);

      expect(x.map((m) => m.id)).toEqual(sent.map((m) => m.id));
      expect(y.map((m) => m.id)).toEqual(sent.map((m) => m.id));
    });

    it('backpressure: a consumer holding maxInFlight unacked messages gets no more until it acks', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1', batchSize: 10, maxInFlight: 10 });
      await producer.publishBatch(messages(30));
      const first = await collect(consumer, 10, 10_000, false);
      expect(first).toHaveLength(10);

      const blocked = await consumer.fetch({ waitMs: 300 });
      expect(blocked).toEqual([]);
      expect(consumer.inFlight).toBe(10);

      await consumer.ack(first);
      const next = await collect(consumer, 10, 10_000, false);
      expect(next.map((m) => m.payload.n)).toEqual(Array.from({ length: 10 }, (_, i) => i + 10));
    });

    it('groupStats reports backlog and unacked messages of a group', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1', batchSize: 4 });
      await producer.publishBatch(messages(10));
      const taken = await collect(consumer, 4, 10_000, false);
      expect(taken).toHaveLength(4);

      const during = await stream.groupStats('g1');
      await consumer.ack(taken);
      const after = await stream.groupStats('g1');

      if (stream.kind === 'kafka') {
        expect(during.backlog).toBe(10); // uncommitted messages count as backlog
        expect(after.backlog).toBe(6);
      } else {
        expect(during).toEqual({ backlog: 6, unacked: 4 });
        expect(after).toEqual({ backlog: 6, unacked: 0 });
      }
      await expect(stream.groupStats('nobody')).rejects.toThrow(/no consumer group "nobody"/);
      await expect(stream.groupStats('bad group')).rejects.toBeInstanceOf(StreamValidationError);
    });

    it('rejects invalid messages before publishing any of the batch', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1' });
      const bad = [...messages(2), { id: '', payload: { n: 9 } }] as OutgoingMessage<Payload>[];

      await expect(producer.publishBatch(bad)).rejects.toBeInstanceOf(StreamValidationError);
      await expect(
        producer.publish({ id: 'x', payload: { n: 1, text: 'y'.repeat(600 * 1024) } }),
      ).rejects.toThrow(/bytes of JSON/);
      await expect(
        producer.publish({ id: 'x', payload: undefined as unknown as Payload }),
      ).rejects.toBeInstanceOf(StreamValidationError);

      expect(await consumer.fetch({ waitMs: 300 })).toEqual([]);
    });

    it('rejects invalid consumer options and foreign acks with clear errors', async () => {
      await expect(stream.createConsumer({ group: 'bad group!' })).rejects.toThrow(/group must be/);
      await expect(stream.createConsumer({ group: 'g1', batchSize: 0 })).rejects.toThrow(
        /batchSize/,
      );
      const consumer = await stream.createConsumer({ group: 'g1' });
      const fake = {
        id: 'nope',
        key: undefined,
        payload: { n: 0 },
        publishedAt: 0,
        deliveryCount: 1,
        position: '1',
      };
      await expect(consumer.ack([fake])).rejects.toBeInstanceOf(ForeignMessageError);
      await expect(consumer.fetch({ max: -1 })).rejects.toThrow(/max must be/);
    });

    it('close drains: a running handler finishes, its batch is acked, and nothing is redelivered', async () => {
      const producer = await stream.createProducer();
      const consumer = await stream.createConsumer({ group: 'g1', batchSize: 10, waitMs: 200 });
      await producer.publishBatch(messages(10));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let handled = 0;
      let started!: () => void;
      const inHandler = new Promise<void>((r) => (started = r));
      const done = consumer.run(async (batch) => {
        started();
        await gate;
        handled += batch.length;
      });
      await inHandler;

      const closing = consumer.close();
      release();
      await closing;
      await done;

      expect(handled).toBeGreaterThan(0);
      await expect(consumer.fetch()).rejects.toBeInstanceOf(StreamClosedError);
      const rest = await stream.createConsumer({ group: 'g1', batchSize: 10 });
      const left = await collect(rest, 10 - handled, target.ackTimeoutMs + 3000);
      expect(left.length).toBe(10 - handled);
      expect(await rest.fetch({ waitMs: 500 })).toEqual([]);
    });

    it('a closed producer refuses to publish, and close is idempotent', async () => {
      const producer = await stream.createProducer();
      await producer.close();
      await producer.close();
      await expect(producer.publish({ id: 'x', payload: { n: 1 } })).rejects.toBeInstanceOf(
        StreamClosedError,
      );
    });
  });
}
