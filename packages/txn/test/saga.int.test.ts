import { createTestDatabase, serviceUrl, type TestDatabase } from '@linkforge/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  defineSaga,
  NonRetryableError,
  SagaBusyError,
  SagaDefinitionError,
  SagaNotFoundError,
  SagaOrchestrator,
  StepTimeoutError,
  TxnConfigError,
  TxnNotStartedError,
  type SagaDefinition,
  type SagaEvent,
  type SagaOrchestratorOptions,
} from '../src/index.js';

const url = serviceUrl('DATABASE_URL');

const noDelay = { initialDelayMs: 0, jitter: false } as const;

describe.skipIf(!url)('SagaOrchestrator over PostgreSQL', () => {
  let db: TestDatabase;
  const open: SagaOrchestrator[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(url!, 'lf_txn_saga');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function start(
    sagas: SagaDefinition<never>[],
    extra: Partial<SagaOrchestratorOptions> = {},
  ): Promise<SagaOrchestrator> {
    const o = new SagaOrchestrator({
      connection: db.url,
      sagas,
      retry: noDelay,
      compensationRetry: noDelay,
      ...extra,
    });
    open.push(o);
    await o.start();
    return o;
  }

  it('runs every step in order, hands earlier results to later steps and logs them', async () => {
    const seen: unknown[] = [];
    const saga = defineSaga<{ n: number }>({
      name: 'sum',
      steps: [
        { name: 'one', run: async ({ input }) => ({ value: input.n + 1 }) },
        {
          name: 'two',
          run: async ({ results }) => {
            seen.push(results);
            return { value: (results['one'] as { value: number }).value * 10 };
          },
        },
      ],
    });
    const o = await start([saga]);
    const outcome = await o.execute(saga, { n: 1 });
    expect(outcome.status).toBe('completed');
    expect(outcome.results).toEqual({ one: { value: 2 }, two: { value: 20 } });
    expect(seen).toEqual([{ one: { value: 2 } }]);
    const record = await o.get(outcome.sagaId);
    expect(record?.status).toBe('completed');
    expect(record?.owner).toBeNull();
    expect(record?.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ['one', 'succeeded', 1],
      ['two', 'succeeded', 1],
    ]);
  });

  it('when a step fails for good, compensates every started step in reverse order', async () => {
    const log: string[] = [];
    const refused = new NonRetryableError('card declined', { code: 'DECLINED' });
    const saga = defineSaga<Record<string, never>>({
      name: 'reverse',
      steps: [
        {
          name: 'a',
          run: async () => log.push('run a'),
          compensate: async () => void log.push('undo a'),
        },
        {
          name: 'b',
          run: async () => log.push('run b'),
          compensate: async () => void log.push('undo b'),
        },
        {
          name: 'c',
          run: async () => {
            log.push('run c');
            throw refused;
          },
          compensate: async ({ result }) => void log.push(`undo c (result ${String(result)})`),
        },
        {
          name: 'd',
          run: async () => log.push('run d'),
          compensate: async () => void log.push('undo d'),
        },
      ],
    });
    const o = await start([saga]);
    const outcome = await o.execute(saga, {});
    expect(outcome.status).toBe('compensated');
    expect(outcome.failure).toEqual({
      step: 'c',
      name: 'NonRetryableError',
      message: 'card declined',
      code: 'DECLINED',
    });
    expect(outcome.error).toBe(refused);
    expect(log).toEqual([
      'run a',
      'run b',
      'run c',
      'undo c (result undefined)',
      'undo b',
      'undo a',
    ]);
    const record = await o.get(outcome.sagaId);
    expect(record?.steps.map((s) => s.status)).toEqual([
      'compensated',
      'compensated',
      'compensated',
      'pending',
    ]);
  });

  it('retries a failing step with backoff, with the same idempotency key each time', async () => {
    const keys: string[] = [];
    const times: number[] = [];
    const saga = defineSaga<Record<string, never>>({
      name: 'flaky',
      steps: [
        {
          name: 'call',
          retry: { maxAttempts: 3, initialDelayMs: 50, factor: 2, jitter: false },
          run: async ({ idempotencyKey, attempt }) => {
            keys.push(idempotencyKey);
            times.push(Date.now());
            if (attempt < 3) throw new Error(`transient ${attempt}`);
            return 'ok';
          },
        },
      ],
    });
    const events: SagaEvent['type'][] = [];
    const o = await start([saga], { onEvent: (e) => void events.push(e.type) });
    const outcome = await o.execute(saga, {}, { sagaId: 'flaky-1' });
    expect(outcome.status).toBe('completed');
    expect(keys).toEqual(['flaky-1:call', 'flaky-1:call', 'flaky-1:call']);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(45);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(95);
    expect((await o.get('flaky-1'))?.steps[0]?.attempts).toBe(3);
    expect(events.filter((t) => t === 'step-failed')).toHaveLength(2);
  });

  it('gives up after maxAttempts and compensates', async () => {
    let runs = 0;
    let undone = 0;
    const saga = defineSaga<Record<string, never>>({
      name: 'always-fails',
      steps: [
        { name: 'first', run: async () => 1, compensate: async () => void undone++ },
        {
          name: 'second',
          retry: { maxAttempts: 2 },
          run: async () => {
            runs++;
            throw new Error('down');
          },
        },
      ],
    });
    const o = await start([saga]);
    const outcome = await o.execute(saga, {});
    expect(outcome.status).toBe('compensated');
    expect(runs).toBe(2);
    expect(undone).toBe(1);
  });

  it('times out a slow attempt, aborts its signal and counts it as a failure', async () => {
    let aborted = false;
    const saga = defineSaga<Record<string, never>>({
      name: 'slow',
      steps: [
        {
          name: 'hang',
          timeoutMs: 100,
          retry: { maxAttempts: 1 },
          run: ({ signal }) =>
            new Promise((resolve) => {
              signal.addEventListener('abort', () => {
                aborted = true;
                resolve(null);
              });
            }),
        },
      ],
    });
    const o = await start([saga]);
    const started = Date.now();
    const outcome = await o.execute(saga, {});
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcome.status).toBe('compensated');
    expect(outcome.error).toBeInstanceOf(StepTimeoutError);
    expect(outcome.failure?.code).toBe('SAGA_STEP_TIMEOUT');
    expect(aborted).toBe(true);
  });

  it('when a compensation keeps failing, ends compensation_failed and lists it for operators', async () => {
    const saga = defineSaga<Record<string, never>>({
      name: 'stuck',
      steps: [
        {
          name: 'pay',
          run: async () => 1,
          compensationRetry: { maxAttempts: 2 },
          compensate: async () => {
            throw new Error('refund service down');
          },
        },
        { name: 'ship', run: async () => Promise.reject(new NonRetryableError('no address')) },
      ],
    });
    const o = await start([saga]);
    const outcome = await o.execute(saga, {});
    expect(outcome.status).toBe('compensation_failed');
    const stuck = await o.list({ status: ['compensation_failed'] });
    const mine = stuck.find((s) => s.id === outcome.sagaId);
    expect(mine?.steps[0]).toMatchObject({
      status: 'compensation_failed',
      compensationAttempts: 2,
      error: { message: 'refund service down' },
    });
  });

  it('executing the same saga id again returns the logged outcome without running steps again', async () => {
    let runs = 0;
    const saga = defineSaga<{ v: number }>({
      name: 'once',
      steps: [{ name: 'only', run: async ({ input }) => ++runs + input.v }],
    });
    const o = await start([saga]);
    const first = await o.execute(saga, { v: 10 }, { sagaId: 'once-1' });
    const second = await o.execute(saga, { v: 10 }, { sagaId: 'once-1' });
    expect(runs).toBe(1);
    expect(second.results).toEqual(first.results);
    expect(second.status).toBe('completed');
  });

  it('two calls with the same saga id in one process share one run', async () => {
    let runs = 0;
    const saga = defineSaga<Record<string, never>>({
      name: 'shared',
      steps: [
        {
          name: 'slow',
          run: async () => {
            runs++;
            await new Promise((r) => setTimeout(r, 50));
            return runs;
          },
        },
      ],
    });
    const o = await start([saga]);
    const [x, y] = await Promise.all([
      o.execute(saga, {}, { sagaId: 'shared-1' }),
      o.execute(saga, {}, { sagaId: 'shared-1' }),
    ]);
    expect(runs).toBe(1);
    expect(x).toEqual(y);
  });

  it('an observer that throws ends the run like a crash; another orchestrator resumes without re-running logged steps', async () => {
    const runs: string[] = [];
    const saga = defineSaga<Record<string, never>>({
      name: 'observed',
      steps: [
        { name: 'one', run: async () => void runs.push('one') },
        { name: 'two', run: async () => void runs.push('two') },
      ],
    });
    const a = new SagaOrchestrator({
      connection: db.url,
      sagas: [saga],
      onEvent: (e) => {
        if (e.type === 'step-succeeded' && e.step === 'one') throw new Error('observer broke');
      },
    });
    await a.start();
    await expect(a.execute(saga, {}, { sagaId: 'observed-1' })).rejects.toThrow('observer broke');
    expect((await a.get('observed-1'))?.status).toBe('running');
    await a.close();
    const b = await start([saga]);
    const resumed = await b.resumeAll();
    expect(resumed.find((o) => o.sagaId === 'observed-1')?.status).toBe('completed');
    expect(runs).toEqual(['one', 'two']);
  });

  it('refuses to resume a saga owned by a live orchestrator', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const inside = new Promise<void>((r) => (reached = r));
    const saga = defineSaga<Record<string, never>>({
      name: 'held',
      steps: [
        {
          name: 'wait',
          run: async () => {
            reached();
            await gate;
            return null;
          },
        },
      ],
    });
    const a = await start([saga]);
    const b = await start([saga]);
    const running = a.execute(saga, {}, { sagaId: 'held-1' });
    await inside;
    await expect(b.resume('held-1')).rejects.toBeInstanceOf(SagaBusyError);
    expect(await b.resumeAll()).toEqual([]);
    release();
    expect((await running).status).toBe('completed');
    expect((await b.resume('held-1')).status).toBe('completed');
  });

  it('rejects bad definitions, inputs and ids with clear errors', async () => {
    const step = { name: 's', run: async () => null };
    expect(() => defineSaga({ name: 'x', steps: [] })).toThrow(TxnConfigError);
    expect(() => defineSaga({ name: 'x', steps: [step, step] })).toThrow(/listed twice/);
    expect(() => defineSaga({ name: 'bad name!', steps: [step] })).toThrow(/saga name/);
    expect(() =>
      defineSaga({ name: 'x', steps: [{ ...step, retry: { maxAttempts: 0 } }] }),
    ).toThrow(/maxAttempts/);
    expect(() => defineSaga({ name: 'x', steps: [{ ...step, timeoutMs: -1 }] })).toThrow(
      /timeoutMs/,
    );
    const saga = defineSaga<unknown>({ name: 'valid', steps: [step] });
    const other = defineSaga<unknown>({ name: 'other', steps: [step] });
    const idle = new SagaOrchestrator({ connection: db.url, sagas: [saga] });
    open.push(idle);
    await expect(idle.execute(saga, {})).rejects.toBeInstanceOf(TxnNotStartedError);
    const o = await start([saga, other]);
    await expect(o.execute('nope', {})).rejects.toThrow(/not registered/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expect(o.execute(saga, cyclic)).rejects.toThrow(/JSON/);
    await expect(o.execute(saga, {}, { sagaId: '' })).rejects.toThrow(/sagaId/);
    await expect(o.resume('missing')).rejects.toBeInstanceOf(SagaNotFoundError);
    await o.execute(saga, {}, { sagaId: 'taken' });
    await expect(o.execute(other, {}, { sagaId: 'taken' })).rejects.toBeInstanceOf(
      SagaDefinitionError,
    );
  });
});
