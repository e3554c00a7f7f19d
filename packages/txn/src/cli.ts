#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TxnError } from './errors.js';
import { TwoPhaseCoordinator, type InDoubtTransaction } from './twopc/coordinator.js';

const USAGE = `Usage: linkforge-txn <command> [options]

Operator tool for the two-phase commit coordinator's in-doubt transactions.

Commands:
  list               List in-doubt transactions of the prefix
  recover            Resolve them as recovery does (decided commit -> commit, else roll back)
  commit <txid>      Force-commit one transaction
  rollback <txid>    Force-roll back one transaction

Options:
  --log <url>                 Coordinator (log) database; default $TXN_LOG_URL
  --participant <name=url>    A participant, repeatable; default $TXN_PARTICIPANTS
                              (comma-separated name=url pairs)
  --prefix <prefix>           GID prefix (default lftxn)
  --log-table <name>          Log table (default txn_2pc_log)
  --json                      Print JSON
  -h, --help                  Show this help

Exit codes: 0 done, 1 failed, 2 bad usage.`;

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

class UsageError extends Error {}

function parseParticipants(values: readonly string[]): { name: string; connection: string }[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) {
      // The value may hold a password: say what is wrong without echoing it.
      throw new UsageError(
        '--participant must be name=url (a name, "=", then a connection string)',
      );
    }
    return { name: v.slice(0, eq), connection: v.slice(eq + 1) };
  });
}

function table(list: readonly InDoubtTransaction[]): string {
  if (list.length === 0) return 'no in-doubt transactions';
  const lines = [
    'TXID                                  STATE       RESOLUTION  OWNER ALIVE  PARTICIPANTS',
  ];
  for (const t of list) {
    const parts = t.participants.map(
      (p) =>
        `${p.name}:${p.prepared === true ? 'prepared' : p.prepared === false ? '-' : 'unreachable'}`,
    );
    lines.push(
      `${t.txid.padEnd(38)}${t.state.padEnd(12)}${t.resolution.padEnd(12)}${String(t.ownerAlive).padEnd(13)}${parts.join(' ')}`,
    );
  }
  return lines.join('\n');
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(
  argv: readonly string[],
  io: CliIo = { out: (t) => console.log(t), err: (t) => console.error(t), env: process.env },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        log: { type: 'string' },
        participant: { type: 'string', multiple: true },
        prefix: { type: 'string' },
        'log-table': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  let coordinator: TwoPhaseCoordinator | undefined;
  try {
    const [command, txid, ...extra] = positionals;
    if (!command) throw new UsageError('a command is required');
    if (!['list', 'recover', 'commit', 'rollback'].includes(command)) {
      throw new UsageError(`unknown command "${command}"`);
    }
    const needsId = command === 'commit' || command === 'rollback';
    if (needsId && !txid) throw new UsageError(`${command} needs a transaction id`);
    if ((!needsId && txid) || extra.length > 0) throw new UsageError('too many arguments');
    const log = values.log ?? io.env['TXN_LOG_URL'];
    if (!log) throw new UsageError('--log (or TXN_LOG_URL) is required');
    const fromEnv = io.env['TXN_PARTICIPANTS']?.split(',').filter((s) => s.trim() !== '') ?? [];
    const participants = parseParticipants(values.participant ?? fromEnv);
    if (participants.length === 0)
      throw new UsageError('at least one --participant (or TXN_PARTICIPANTS) is required');

    coordinator = new TwoPhaseCoordinator({
      log,
      participants,
      ...(values.prefix !== undefined ? { gidPrefix: values.prefix } : {}),
      ...(values['log-table'] !== undefined ? { logTable: values['log-table'] } : {}),
      recoverOnStart: false,
      recoveryIntervalMs: 0,
    });
    await coordinator.start();
    if (command === 'list') {
      const list = await coordinator.listInDoubt();
      io.out(values.json ? JSON.stringify(list, null, 2) : table(list));
    } else if (command === 'recover') {
      const report = await coordinator.recover();
      const printable = {
        ...report,
        failed: report.failed.map((f) => ({ txid: f.txid, error: f.error.message })),
      };
      io.out(
        values.json
          ? JSON.stringify(printable, null, 2)
          : `committed ${report.committed.length}, rolled back ${report.rolledBack.length}, ` +
              `in flight ${report.inFlight.length}, failed ${report.failed.length}` +
              printable.failed.map((f) => `\n  ${f.txid}: ${f.error}`).join(''),
      );
      return report.failed.length > 0 ? 1 : 0;
    } else {
      await (command === 'commit'
        ? coordinator.forceCommit(txid!)
        : coordinator.forceRollback(txid!));
      io.out(
        values.json
          ? JSON.stringify({ txid, outcome: command })
          : `${command === 'commit' ? 'committed' : 'rolled back'} ${txid}`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    const code = err instanceof TxnError ? ` [${err.code}]` : '';
    io.err(`error${code}: ${(err as Error).message}`);
    return 1;
  } finally {
    await coordinator?.close();
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
