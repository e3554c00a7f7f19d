import { serviceUrl } from '@linkforge/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DecisionConflictError,
  PrepareFailedError,
  PrepareTimeoutError,
  TwoPhaseCoordinator,
  TxnAlreadyDecidedError,
  TxnConfigError,
  TxnInFlightError,
  TxnNotFoundError,
  TxnNotPreparedError,
  TxnNotStartedError,
  TxnOutcomeUnknownError,
  type CoordinatorOptions,
  type TwoPhaseStep,
} from '../src/index.js';
import {
  createTwoPcDatabases,
  itemIds,
  logStates,
  preparedWithPrefix,
  uniquePrefix,
  withClient,
  type TwoPcDatabases,
} from './helpers.js';

const url = serviceUrl('DATABASE_URL');

describe.skipIf(!url)('TwoPhaseCoordinator over PostgreSQL', () => {
  let dbs: TwoPcDatabases;
  const open: TwoPhaseCoordinator<'a' | 'b'>[] = [];

  beforeAll(async () => {
    dbs = await createTwoPcDatabases(url!);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    for (const db of [dbs.a, dbs.b]) await withClient(db.url, (c) => c.query('TRUNCATE items'));
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  function make(
    prefix: string,
    extra: Partial<CoordinatorOptions<'a' | 'b'>> = {},
  ): TwoPhaseCoordinator<'a' | 'b'> {
    const c = new TwoPhaseCoordinator<'a' | 'b'>({
      log: dbs.coordinator.url,
      participants: [
        { name: 'a', connection: dbs.a.url },
        { name: 'b', connection: dbs.b.url },
      ],
      gidPrefix: prefix,
      prepareTimeoutMs: 2000,
      ...extra,
    });
    open.push(c);
    return c;
  }

  /** Runs a transaction whose onStep hook throws at `at`, leaving it as a crash would. */
  async function crashAt(
    prefix: string,
    at: (s: TwoPhaseStep) => boolean,
    id: string,
    parallelPhases = true,
  ): Promise<string> {
    let txid = '';
    const c = make(prefix, {
      parallelPhases,
      onStep: (s) => {
        txid = s.txid;
        if (at(s)) throw new Error('simulated crash');
      },
    });
    await c.start();
    await expect(
      c.run(async ({ a, b }) => {
        await a.query('INSERT INTO items (id) VALUES ($1)', [id]);
        await b.query('INSERT INTO items (id) VALUES ($1)', [id]);
      }),
    ).rejects.toThrow('simulated crash');
    await c.close(); // the "dead" coordinator releases its liveness lock
    return txid;
  }

  it('commits on both databases and leaves nothing prepared', async () => {
    const prefix = uniquePrefix();
    const c = make(prefix);
    await c.start();
    const result = await c.run(async ({ a, b }) => {
      await a.query('INSERT INTO items (id) VALUES ($1)', ['x1']);
      await b.query('INSERT INTO items (id) VALUES ($1)', ['x1']);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await itemIds(dbs.a.url)).toEqual(['x1']);
    expect(await itemIds(dbs.b.url)).toEqual(['x1']);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
    expect((await logStates(dbs.coordinator.url)).at(-1)).toBe('committed');
  });

  it("when the work commits behind the coordinator's back, votes no and rolls everything back", async () => {
    const prefix = uniquePrefix();
    const c = make(prefix);
    await c.start();
    const err = await c
      .run(async ({ a, b }) => {
        await a.query('INSERT INTO items (id) VALUES ($1)', ['sneaky']);
        await b.client.query('INSERT INTO items (id) VALUES ($1)', ['sneaky']);
        await b.client.query('ROLLBACK');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrepareFailedError);
    expect(await itemIds(dbs.a.url)).toEqual([]);
    expect(await itemIds(dbs.b.url)).toEqual([]);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('only opens transactions on the participants asked for', async () => {
    const c = make(uniquePrefix());
    await c.start();
    await c.run(
      async ({ b }) => {
        await b.query('INSERT INTO items (id) VALUES ($1)', ['only-b']);
      },
      { participants: ['b'] },
    );
    expect(await itemIds(dbs.a.url)).toEqual([]);
    expect(await itemIds(dbs.b.url)).toEqual(['only-b']);
  });

  it('when the work throws, rethrows that error and changes neither database', async () => {
    const prefix = uniquePrefix();
    const c = make(prefix);
    await c.start();
    const boom = new Error('not enough credits');
    await expect(
      c.run(async ({ a }) => {
        await a.query('INSERT INTO items (id) VALUES ($1)', ['w1']);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await itemIds(dbs.a.url)).toEqual([]);
    expect(await itemIds(dbs.b.url)).toEqual([]);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('when a participant transaction already failed, votes no and rolls back the prepared one', async () => {
    const prefix = uniquePrefix();
    const c = make(prefix);
    await c.start();
    const err = await c
      .run(async ({ a, b }) => {
        await a.query('INSERT INTO items (id) VALUES ($1)', ['f1']);
        await b.query('INSERT INTO items (id) VALUES ($1)', ['f1']);
        await b.query('SELECT 1 / 0').catch(() => undefined); // swallowed: b is now aborted
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrepareFailedError);
    expect((err as PrepareFailedError).participant).toBe('b');
    expect(await itemIds(dbs.a.url)).toEqual([]);
    expect(await itemIds(dbs.b.url)).toEqual([]);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
    expect((await logStates(dbs.coordinator.url)).at(-1)).toBe('aborted');
  });

  it('when PREPARE itself fails (deferred constraint), rolls back everywhere', async () => {
    await withClient(dbs.b.url, (c) =>
      c.query(
        `CREATE TABLE uniq (k int, CONSTRAINT uniq_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)`,
      ),
    );
    try {
      const prefix = uniquePrefix();
      const c = make(prefix);
      await c.start();
      const err = await c
        .run(async ({ a, b }) => {
          await a.query('INSERT INTO items (id) VALUES ($1)', ['d1']);
          await b.query('INSERT INTO uniq (k) VALUES (1), (1)');
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrepareFailedError);
      expect((err as Error).message).toMatch(/uniq_k/);
      expect(await itemIds(dbs.a.url)).toEqual([]);
      expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
    } finally {
      await withClient(dbs.b.url, (c) => c.query('DROP TABLE uniq'));
    }
  });

  it('when a participant does not answer PREPARE in time, aborts and terminates it', async () => {
    // A deferred constraint trigger runs at PREPARE time: make it sleep past the timeout.
    await withClient(dbs.b.url, (c) =>
      c.query(`
        CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(10); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON items DEFERRABLE INITIALLY DEFERRED
          FOR EACH ROW EXECUTE FUNCTION slow();`),
    );
    try {
      const prefix = uniquePrefix();
      const c = make(prefix, { prepareTimeoutMs: 300 });
      await c.start();
      const started = Date.now();
      const err = await c
        .run(async ({ a, b }) => {
          await a.query('INSERT INTO items (id) VALUES ($1)', ['slow1']);
          await b.query('INSERT INTO items (id) VALUES ($1)', ['slow1']);
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrepareTimeoutError);
      expect((err as PrepareTimeoutError).participant).toBe('b');
      expect(Date.now() - started).toBeLessThan(8000);
      expect(await itemIds(dbs.a.url)).toEqual([]);
      expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
      expect((await logStates(dbs.coordinator.url)).at(-1)).toBe('aborted');
    } finally {
      await withClient(dbs.b.url, (c) =>
        c.query('DROP TRIGGER slow ON items; DROP FUNCTION slow()'),
      );
    }
    expect(await itemIds(dbs.b.url)).toEqual([]);
  });

  it('recovery commits a transaction whose commit decision was logged before the crash', async () => {
    const prefix = uniquePrefix();
    const txid = await crashAt(prefix, (s) => s.type === 'decided', 'r1');
    expect(await preparedWithPrefix(url!, prefix)).toHaveLength(2);
    const report = await make(prefix).start();
    expect(report.committed).toEqual([txid]);
    expect(await itemIds(dbs.a.url)).toEqual(['r1']);
    expect(await itemIds(dbs.b.url)).toEqual(['r1']);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('recovery rolls back a transaction prepared on both sides but never decided', async () => {
    const prefix = uniquePrefix();
    const txid = await crashAt(prefix, (s) => s.type === 'prepared' && s.index === 1, 'r2');
    const report = await make(prefix).start();
    expect(report.rolledBack).toEqual([txid]);
    expect(await itemIds(dbs.a.url)).toEqual([]);
    expect(await itemIds(dbs.b.url)).toEqual([]);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('recovery rolls back prepared transactions with its prefix that its log never saw', async () => {
    const prefix = uniquePrefix();
    const foreign = uniquePrefix();
    const orphan = `${prefix}:00000000-0000-4000-8000-000000000001:0`;
    const other = `${foreign}:00000000-0000-4000-8000-000000000001:0`;
    for (const [gid, id] of [
      [orphan, 'o1'],
      [other, 'o2'],
    ] as const) {
      await withClient(dbs.a.url, async (c) => {
        await c.query('BEGIN');
        await c.query('INSERT INTO items (id) VALUES ($1)', [id]);
        await c.query(`PREPARE TRANSACTION '${gid}'`);
      });
    }
    try {
      const report = await make(prefix).start();
      expect(report.rolledBack).toEqual(['00000000-0000-4000-8000-000000000001']);
      expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
      // Another coordinator's prepared transaction is not ours to touch.
      expect(await preparedWithPrefix(url!, foreign)).toEqual([other]);
    } finally {
      await withClient(dbs.a.url, (c) => c.query(`ROLLBACK PREPARED '${other}'`));
    }
  });

  it('leaves the transactions of a live coordinator alone and refuses to force them', async () => {
    const prefix = uniquePrefix();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atPrepared = new Promise<void>((r) => (reached = r));
    const live = make(prefix, {
      onStep: async (s) => {
        if (s.type === 'prepared' && s.index === 0) {
          reached();
          await gate;
        }
      },
    });
    await live.start();
    const running = live.run(async ({ a, b }) => {
      await a.query('INSERT INTO items (id) VALUES ($1)', ['live']);
      await b.query('INSERT INTO items (id) VALUES ($1)', ['live']);
    });
    await atPrepared;
    const other = make(prefix);
    const report = await other.start();
    expect(report.rolledBack).toEqual([]);
    expect(report.inFlight).toHaveLength(1);
    const [doubt] = await other.listInDoubt();
    expect(doubt?.resolution).toBe('wait');
    expect(doubt?.ownerAlive).toBe(true);
    await expect(other.forceRollback(doubt!.txid)).rejects.toBeInstanceOf(TxnInFlightError);
    release();
    await running;
    expect(await itemIds(dbs.a.url)).toEqual(['live']);
    expect(await itemIds(dbs.b.url)).toEqual(['live']);
  });

  it('when recovery elsewhere aborts first, the live run fails with DecisionConflictError and commits nothing', async () => {
    const prefix = uniquePrefix();
    const live = make(prefix, {
      onStep: async (s) => {
        // An operator rolls the transaction back while the live coordinator is about to decide.
        if (s.type === 'prepared' && s.index === 1) {
          await withClient(dbs.coordinator.url, (c) =>
            c.query(`UPDATE txn_2pc_log SET state = 'aborting' WHERE txid = $1`, [s.txid]),
          );
        }
      },
    });
    await live.start();
    const err = await live
      .run(async ({ a, b }) => {
        await a.query('INSERT INTO items (id) VALUES ($1)', ['c1']);
        await b.query('INSERT INTO items (id) VALUES ($1)', ['c1']);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecisionConflictError);
    expect(await itemIds(dbs.a.url)).toEqual([]);
    expect(await itemIds(dbs.b.url)).toEqual([]);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('parallel claims against a limited balance: exactly as many commit as there are credits', async () => {
    await withClient(dbs.a.url, (c) =>
      c.query(`CREATE TABLE credits (workspace text PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0));
               INSERT INTO credits VALUES ('ws', 5)`),
    );
    try {
      const prefix = uniquePrefix();
      const c = make(prefix);
      await c.start();
      const claims = Array.from({ length: 20 }, (_, i) =>
        c.run(async ({ a, b }) => {
          const debit = await a.query(
            'UPDATE credits SET balance = balance - 1 WHERE workspace = $1 AND balance >= 1',
            ['ws'],
          );
          if (debit.rowCount !== 1) throw new Error('insufficient credits');
          await b.query('INSERT INTO items (id) VALUES ($1)', [`alias-${i}`]);
        }),
      );
      const settled = await Promise.allSettled(claims);
      const ok = settled.filter((r) => r.status === 'fulfilled').length;
      const refused = settled.filter(
        (r) => r.status === 'rejected' && (r.reason as Error).message === 'insufficient credits',
      ).length;
      expect([ok, refused]).toEqual([5, 15]);
      const balance = await withClient(dbs.a.url, (cl) =>
        cl.query<{ balance: number }>(`SELECT balance FROM credits WHERE workspace = 'ws'`),
      );
      expect(balance.rows[0]?.balance).toBe(0);
      expect(await itemIds(dbs.b.url)).toHaveLength(5);
      expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
    } finally {
      await withClient(dbs.a.url, (c) => c.query('DROP TABLE credits'));
    }
  });

  it('background recovery finishes a transaction a coordinator left behind after start', async () => {
    const prefix = uniquePrefix();
    const reports: unknown[] = [];
    const watcher = make(prefix, {
      recoveryIntervalMs: 50,
      onRecovery: (r) => void reports.push(r),
    });
    await watcher.start();
    const txid = await crashAt(prefix, (s) => s.type === 'decided', 'bg1');
    const deadline = Date.now() + 5000;
    while ((await preparedWithPrefix(url!, prefix)).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
    expect(await itemIds(dbs.a.url)).toEqual(['bg1']);
    expect(await itemIds(dbs.b.url)).toEqual(['bg1']);
    expect(reports.some((r) => (r as { committed?: string[] }).committed?.includes(txid))).toBe(
      true,
    );
  });

  it('when the log database fails at the decision, reports the outcome unknown; recovery rolls back', async () => {
    const prefix = uniquePrefix();
    const setLogAvailable = (allow: boolean): Promise<unknown> =>
      withClient(url!, async (c) => {
        await c.query(`ALTER DATABASE "${dbs.coordinator.name}" ALLOW_CONNECTIONS ${allow}`);
        if (!allow) {
          await c.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [dbs.coordinator.name],
          );
        }
      });
    const c = make(prefix, {
      parallelPhases: false,
      onStep: async (s) => {
        if (s.type === 'prepared' && s.index === 1) await setLogAvailable(false);
      },
    });
    await c.start();
    let err: unknown;
    try {
      err = await c
        .run(async ({ a, b }) => {
          await a.query('INSERT INTO items (id) VALUES ($1)', ['u1']);
          await b.query('INSERT INTO items (id) VALUES ($1)', ['u1']);
        })
        .catch((e: unknown) => e);
    } finally {
      await setLogAvailable(true);
    }
    expect(err).toBeInstanceOf(TxnOutcomeUnknownError);
    expect(await preparedWithPrefix(url!, prefix)).toHaveLength(2);
    const report = await make(prefix).start();
    expect(report.rolledBack).toEqual([(err as TxnOutcomeUnknownError).txid]);
    expect(await itemIds(dbs.a.url)).toEqual([]);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('close() waits for a running transaction to finish, then refuses new ones', async () => {
    const prefix = uniquePrefix();
    const c = make(prefix, {
      onStep: async (s) => {
        if (s.type === 'decided') await new Promise((r) => setTimeout(r, 200));
      },
    });
    await c.start();
    let finished = false;
    const running = c
      .run(async ({ a, b }) => {
        await a.query('INSERT INTO items (id) VALUES ($1)', ['closing']);
        await b.query('INSERT INTO items (id) VALUES ($1)', ['closing']);
      })
      .then(() => (finished = true));
    await new Promise((r) => setTimeout(r, 50));
    await c.close();
    expect(finished).toBe(true);
    await running;
    expect(await itemIds(dbs.b.url)).toEqual(['closing']);
    await expect(c.run(async () => 1)).rejects.toBeInstanceOf(TxnNotStartedError);
  });

  describe('admin view', () => {
    it('lists an undecided transaction of a dead coordinator and force-commits it', async () => {
      const prefix = uniquePrefix();
      const txid = await crashAt(prefix, (s) => s.type === 'prepared' && s.index === 1, 'fc');
      const admin = make(prefix, { recoverOnStart: false });
      await admin.start();
      const list = await admin.listInDoubt();
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({
        txid,
        state: 'preparing',
        resolution: 'abort',
        ownerAlive: false,
      });
      expect(list[0]!.participants.map((p) => [p.name, p.prepared])).toEqual([
        ['a', true],
        ['b', true],
      ]);
      await admin.forceCommit(txid);
      expect(await itemIds(dbs.a.url)).toEqual(['fc']);
      expect(await itemIds(dbs.b.url)).toEqual(['fc']);
      expect(await admin.listInDoubt()).toEqual([]);
      await expect(admin.forceRollback(txid)).rejects.toBeInstanceOf(TxnNotFoundError);
    });

    it('force-rollback of a transaction decided commit is refused and changes nothing', async () => {
      const prefix = uniquePrefix();
      const txid = await crashAt(prefix, (s) => s.type === 'decided', 'fr');
      const admin = make(prefix, { recoverOnStart: false });
      await admin.start();
      const err = await admin.forceRollback(txid).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TxnAlreadyDecidedError);
      expect((err as TxnAlreadyDecidedError).code).toBe('TXN_ALREADY_DECIDED');
      expect(await preparedWithPrefix(url!, prefix)).toHaveLength(2);
      const [doubt] = await admin.listInDoubt();
      expect(doubt).toMatchObject({ state: 'committing', resolution: 'commit' });
      await admin.forceCommit(txid);
      expect(await itemIds(dbs.b.url)).toEqual(['fr']);
    });

    it('force-commit is refused when a participant never prepared; force-rollback then cleans up', async () => {
      const prefix = uniquePrefix();
      // Sequential phases: the crash comes after the first PREPARE, before the second is sent.
      const txid = await crashAt(
        prefix,
        (s) => s.type === 'prepared' && s.index === 0,
        'np',
        false,
      );
      const admin = make(prefix, { recoverOnStart: false });
      await admin.start();
      const err = await admin.forceCommit(txid).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TxnNotPreparedError);
      expect((err as TxnNotPreparedError).missing).toEqual(['b']);
      expect(await preparedWithPrefix(url!, prefix)).toHaveLength(1);
      await admin.forceRollback(txid);
      expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
      expect(await itemIds(dbs.a.url)).toEqual([]);
    });

    it('rejects a malformed transaction id', async () => {
      const admin = make(uniquePrefix());
      await admin.start();
      await expect(admin.forceCommit("x'; DROP TABLE items; --")).rejects.toBeInstanceOf(
        TxnConfigError,
      );
    });
  });

  describe('configuration', () => {
    it('refuses to run before start() and rejects unknown participants', async () => {
      const c = make(uniquePrefix());
      await expect(c.run(async () => 1)).rejects.toBeInstanceOf(TxnNotStartedError);
      await c.start();
      await expect(c.run(async () => 1, { participants: ['zz' as 'a'] })).rejects.toThrow(
        /unknown participant "zz"/,
      );
    });
  });
});
