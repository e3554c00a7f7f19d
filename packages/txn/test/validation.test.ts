import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import {
  DatabaseUnreachableError,
  defineSaga,
  NonRetryableError,
  SagaOrchestrator,
  TwoPhaseCoordinator,
  TxnConfigError,
  TxnError,
} from '../src/index.js';

// Constructors validate before touching the network: these addresses are never dialled.
const base = {
  log: 'postgres://nobody@127.0.0.1:1/log',
  participants: [{ name: 'a', connection: 'postgres://nobody@127.0.0.1:1/a' }],
};

describe('TwoPhaseCoordinator options', () => {
  it.each([
    [{ gidPrefix: 'has:colon' }, /gidPrefix/],
    [{ gidPrefix: '' }, /gidPrefix/],
    [{ participants: [] }, /non-empty/],
    [{ participants: [{ name: '1bad', connection: 'postgres://x/a' }] }, /participant name/],
    [
      {
        participants: [
          { name: 'a', connection: 'postgres://x/a' },
          { name: 'a', connection: 'postgres://x/b' },
        ],
      },
      /listed twice/,
    ],
    [{ prepareTimeoutMs: 0 }, /prepareTimeoutMs/],
    [{ phaseTwoAttempts: 1.5 }, /phaseTwoAttempts/],
    [{ recoveryIntervalMs: -1 }, /recoveryIntervalMs/],
    [{ logTable: 'drop table' }, /logTable/],
    [{ isolationLevel: 'chaos' }, /isolationLevel/],
    [{ log: '' }, /connection string is empty/],
  ])('rejects %j with a TxnConfigError naming the problem', (extra, message) => {
    const make = () => new TwoPhaseCoordinator({ ...base, ...(extra as object) });
    expect(make).toThrow(TxnConfigError);
    expect(make).toThrow(message);
  });

  it('refuses one pg.Pool shared by the log and a participant (it could deadlock)', async () => {
    const shared = new pg.Pool({ connectionString: base.log });
    try {
      expect(
        () =>
          new TwoPhaseCoordinator({
            log: shared,
            participants: [{ name: 'a', connection: shared }],
          }),
      ).toThrow(/own pg.Pool/);
    } finally {
      await shared.end();
    }
  });

  it('start() names the database it cannot reach', async () => {
    const c = new TwoPhaseCoordinator({ ...base, recoveryIntervalMs: 0 });
    try {
      const err = await c.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseUnreachableError);
      expect((err as DatabaseUnreachableError).code).toBe('TXN_DATABASE_UNREACHABLE');
      expect((err as Error).message).toMatch(/participant "a" is unreachable/);
    } finally {
      await c.close();
    }
  });

  it('every error carries a stable code', () => {
    const err = new NonRetryableError('out of stock', { code: 'OUT_OF_STOCK' });
    expect(err).toBeInstanceOf(TxnError);
    expect(err.code).toBe('OUT_OF_STOCK');
    expect(new NonRetryableError('no').code).toBe('SAGA_NON_RETRYABLE');
    expect(new TxnConfigError('x').name).toBe('TxnConfigError');
  });
});

describe('SagaOrchestrator options', () => {
  const saga = defineSaga({ name: 's', steps: [{ name: 'one', run: async () => null }] });

  it.each([
    [{ sagas: [] }, /non-empty/],
    [{ sagas: [saga, saga] }, /registered twice/],
    [{ tablePrefix: 'Bad-Name' }, /tablePrefix/],
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ retry: { factor: 0 } }, /factor/],
    [{ compensationRetry: { maxAttempts: 0 } }, /maxAttempts/],
  ])('rejects %j', (extra, message) => {
    expect(
      () => new SagaOrchestrator({ connection: base.log, sagas: [saga], ...(extra as object) }),
    ).toThrow(message);
  });
});

describe('linkforge-txn usage errors', () => {
  async function cli(args: string[], env: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t), env });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('--help prints the usage and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: linkforge-txn/);
  });

  it.each([
    [[], /a command is required/],
    [['explode'], /unknown command "explode"/],
    [['list'], /--log \(or TXN_LOG_URL\) is required/],
    [['list', '--log', 'postgres://x/y'], /at least one --participant/],
    [
      ['commit', '--log', 'postgres://x/y', '--participant', 'a=postgres://x/a'],
      /needs a transaction id/,
    ],
    [['list', 'extra', '--log', 'postgres://x/y'], /too many arguments/],
    [['list', '--bogus'], /Unknown option/],
  ])('%j exits 2 with the reason', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('a malformed participant is reported without echoing its connection string', async () => {
    const r = await cli([
      'list',
      '--log',
      'postgres://x/y',
      '--participant',
      'postgres://u:hunter2@h/db',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/name=url/);
    expect(r.err).not.toContain('hunter2');
  });

  it('reads the log and participants from the environment', async () => {
    const r = await cli(['commit'], {
      TXN_LOG_URL: 'postgres://x/y',
      TXN_PARTICIPANTS: 'a=postgres://x/a',
    });
    expect(r.err).toMatch(/needs a transaction id/);
  });
});
