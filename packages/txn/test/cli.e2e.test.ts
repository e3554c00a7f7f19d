import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serviceUrl } from '@linkforge/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwoPhaseCoordinator, type InDoubtTransaction, type TwoPhaseStep } from '../src/index.js';
import {
  createTwoPcDatabases,
  itemIds,
  preparedWithPrefix,
  uniquePrefix,
  type TwoPcDatabases,
} from './helpers.js';

const url = serviceUrl('DATABASE_URL');
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!url)('linkforge-txn CLI', () => {
  let dbs: TwoPcDatabases;
  let common: string[];

  beforeAll(async () => {
    dbs = await createTwoPcDatabases(url!);
    common = [
      '--log',
      dbs.coordinator.url,
      '--participant',
      `a=${dbs.a.url}`,
      '--participant',
      `b=${dbs.b.url}`,
    ];
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  /** Leaves one in-doubt transaction behind, as a coordinator dying at `at` would. */
  async function leaveInDoubt(
    prefix: string,
    at: TwoPhaseStep['type'],
    id: string,
  ): Promise<string> {
    let txid = '';
    const c = new TwoPhaseCoordinator({
      log: dbs.coordinator.url,
      participants: [
        { name: 'a', connection: dbs.a.url },
        { name: 'b', connection: dbs.b.url },
      ],
      gidPrefix: prefix,
      recoverOnStart: false,
      recoveryIntervalMs: 0,
      onStep: (s) => {
        txid = s.txid;
        if (s.type === at) throw new Error('simulated crash');
      },
    });
    await c.start();
    await c
      .run(async ({ a, b }) => {
        await a.query('INSERT INTO items (id) VALUES ($1)', [id]);
        await b.query('INSERT INTO items (id) VALUES ($1)', [id]);
      })
      .catch(() => undefined);
    await c.close();
    return txid;
  }

  it('lists an in-doubt transaction and force-rolls it back', async () => {
    const prefix = uniquePrefix();
    const txid = await leaveInDoubt(prefix, 'before-prepare', 'cli-rb');
    const listed = await runCli(['list', '--json', '--prefix', prefix, ...common]);
    expect(listed.code).toBe(0);
    const list = JSON.parse(listed.stdout) as InDoubtTransaction[];
    expect(list.map((t) => [t.txid, t.state, t.resolution])).toEqual([
      [txid, 'preparing', 'abort'],
    ]);

    const table = await runCli(['list', '--prefix', prefix, ...common]);
    expect(table.stdout).toContain(txid);
    expect(table.stdout).not.toContain(dbs.a.url);

    const rolled = await runCli(['rollback', txid, '--prefix', prefix, ...common]);
    expect(rolled).toMatchObject({ code: 0, stdout: `rolled back ${txid}\n` });
    expect(
      JSON.parse((await runCli(['list', '--json', '--prefix', prefix, ...common])).stdout),
    ).toEqual([]);
  });

  it('refuses to roll back a decided commit (exit 1, stable code), then commits it', async () => {
    const prefix = uniquePrefix();
    const txid = await leaveInDoubt(prefix, 'decided', 'cli-c');
    const refused = await runCli(['rollback', txid, '--prefix', prefix, ...common]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[TXN_ALREADY_DECIDED]');
    expect(await preparedWithPrefix(url!, prefix)).toHaveLength(2);
    const committed = await runCli(['commit', txid, '--prefix', prefix, ...common]);
    expect(committed.code).toBe(0);
    expect(await itemIds(dbs.a.url)).toContain('cli-c');
    expect(await itemIds(dbs.b.url)).toContain('cli-c');
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('recover resolves everything of the prefix and reports it', async () => {
    const prefix = uniquePrefix();
    await leaveInDoubt(prefix, 'decided', 'cli-r1');
    await leaveInDoubt(prefix, 'prepared', 'cli-r2');
    const out = await runCli(['recover', '--json', '--prefix', prefix, ...common]);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as { committed: string[]; rolledBack: string[] };
    expect([report.committed.length, report.rolledBack.length]).toEqual([1, 1]);
    expect(await preparedWithPrefix(url!, prefix)).toEqual([]);
  });

  it('bad usage exits 2 with the reason and never echoes a connection string', async () => {
    const missing = await runCli(['list']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--log/);
    const noId = await runCli(['commit', ...common]);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toMatch(/needs a transaction id/);
    const bad = await runCli([
      'list',
      '--log',
      'postgres://u:secret@127.0.0.1/x',
      '--participant',
      'postgres://u:secret@h/db',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain('secret');
    expect((await runCli(['frobnicate', ...common])).code).toBe(2);
  });
});
