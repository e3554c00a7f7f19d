import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serviceUrl } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwoPhaseCoordinator } from '../src/index.js';
import {
  createTwoPcDatabases,
  itemIds,
  preparedWithPrefix,
  tagged,
  uniquePrefix,
  waitForSessionsGone,
  withClient,
  type TwoPcDatabases,
} from './helpers.js';

const url = serviceUrl('DATABASE_URL');
const child = fileURLToPath(new URL('./fixtures/twopc-child.mjs', import.meta.url));

interface ChildResult {
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stdout: string;
}

function runChild(env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${stderr}`));
      else resolve({ code, signal, stdout });
    });
  });
}

// Every point where the coordinator process can die, and the outcome recovery must reach:
// before the decision is durable the transaction rolls back, after it, it commits.
// Sequential phases make "between prepares" and "between commits" exact states; parallel
// phases (the default) are checked at the same points.
// `left` is how many prepared transactions the dead process leaves, proving which state
// recovery starts from (parallel phases finish every PREPARE/COMMIT before the first hook).
const points = [
  { at: 'before-prepare', outcome: 'rolled back', left: { sequential: 0, parallel: 0 } },
  { at: 'prepared:0', outcome: 'rolled back', left: { sequential: 1, parallel: 2 } },
  { at: 'prepared:1', outcome: 'rolled back', left: { sequential: 2, parallel: 2 } },
  { at: 'decided', outcome: 'committed', left: { sequential: 2, parallel: 2 } },
  { at: 'committed:0', outcome: 'committed', left: { sequential: 1, parallel: 0 } },
  { at: 'committed:1', outcome: 'committed', left: { sequential: 0, parallel: 0 } },
] as const;
const cases = (['sequential', 'parallel'] as const).flatMap((mode) =>
  points.map((p) => ({ at: p.at, outcome: p.outcome, mode, left: p.left[mode] })),
);

describe.skipIf(!url)('2PC coordinator killed with SIGKILL, then recovered', () => {
  let dbs: TwoPcDatabases;

  beforeAll(async () => {
    dbs = await createTwoPcDatabases(url!);
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  it.each(cases)(
    '$mode phases, killed at $at: a new coordinator converges every participant to $outcome',
    async ({ at, outcome, mode, left }) => {
      const prefix = uniquePrefix();
      const item = `item-${mode}-${at}`;
      const app = `txn-crash-${prefix}`;
      const result = await runChild({
        COORDINATOR_URL: tagged(dbs.coordinator.url, app),
        PARTICIPANT_A_URL: tagged(dbs.a.url, app),
        PARTICIPANT_B_URL: tagged(dbs.b.url, app),
        GID_PREFIX: prefix,
        ITEM_ID: item,
        TXN_CRASH_AT: at,
        TXN_PARALLEL: mode === 'parallel' ? '1' : '0',
      });
      expect(result.signal).toBe('SIGKILL');
      expect(result.stdout).toContain(`${at} `);
      expect(result.stdout).not.toContain('finished');
      await waitForSessionsGone(url!, app);
      expect(await preparedWithPrefix(url!, prefix)).toHaveLength(left);

      const recovering = new TwoPhaseCoordinator({
        log: dbs.coordinator.url,
        participants: [
          { name: 'a', connection: dbs.a.url },
          { name: 'b', connection: dbs.b.url },
        ],
        gidPrefix: prefix,
      });
      try {
        const report = await recovering.start();
        expect(report.failed).toEqual([]);
        expect(report.inFlight).toEqual([]);
        expect(await recovering.listInDoubt()).toEqual([]);
      } finally {
        await recovering.close();
      }
      const inA = (await itemIds(dbs.a.url)).includes(item);
      const inB = (await itemIds(dbs.b.url)).includes(item);
      expect([inA, inB]).toEqual(outcome === 'committed' ? [true, true] : [false, false]);
      expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
      const { rows } = await withClient(dbs.coordinator.url, (c) =>
        c.query<{ state: string }>(`SELECT state FROM txn_2pc_log WHERE gid_prefix = $1`, [prefix]),
      );
      // The intent record is written before the first step hook, so there is always one row, final.
      expect(rows.map((r) => r.state)).toEqual([outcome === 'committed' ? 'committed' : 'aborted']);
    },
  );

  it('without a crash the child commits on both and prepares nothing that outlives it', async () => {
    const prefix = uniquePrefix();
    const result = await runChild({
      COORDINATOR_URL: dbs.coordinator.url,
      PARTICIPANT_A_URL: dbs.a.url,
      PARTICIPANT_B_URL: dbs.b.url,
      GID_PREFIX: prefix,
      ITEM_ID: 'no-crash',
      TXN_CRASH_AT: 'none',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('finished');
    expect(await itemIds(dbs.a.url)).toContain('no-crash');
    expect(await itemIds(dbs.b.url)).toContain('no-crash');
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });
});
