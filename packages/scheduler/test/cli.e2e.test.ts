import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built CLI, as users run it (`npm test` builds first).
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(
  args: string[],
  opts: { onStart?: (pid: number) => void; env?: Record<string, string> } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (child.pid !== undefined) opts.onStart?.(child.pid);
  });
}

/** True while the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'linkforge-pipeline-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function pipelineFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('linkforge-pipeline', () => {
  it('runs a YAML pipeline in dependency order, captures output, and exits 0', async () => {
    const trace = join(dir, 'order.trace');
    const logs = join(dir, 'logs-ok');
    const step = (name: string, ms: number) =>
      `echo start ${name} >> ${trace}; echo out-${name}; echo err-${name} >&2; sleep ${ms}; echo end ${name} >> ${trace}`;
    const file = pipelineFile(
      'ok.yml',
      [
        'concurrency: 2',
        'tasks:',
        `  checkout: "${step('checkout', 0.1)}"`,
        '  build:',
        `    run: "${step('build', 0.2)}"`,
        '    dependsOn: checkout',
        '  lint:',
        `    run: "${step('lint', 0.05)}"`,
        '    dependsOn: [checkout]',
        '  test:',
        `    run: "${step('test', 0.05)}"`,
        '    dependsOn: [build, lint]',
      ].join('\n'),
    );

    const result = await runCli([file, '--progress', 'plain', '--log-dir', logs]);

    expect(result.code).toBe(0);
    const events = readFileSync(trace, 'utf8').trim().split('\n');
    const at = (e: string) => events.indexOf(e);
    expect(at('end checkout')).toBeLessThan(at('start build'));
    expect(at('end checkout')).toBeLessThan(at('start lint'));
    expect(at('end build')).toBeLessThan(at('start test'));
    expect(at('end lint')).toBeLessThan(at('start test'));
    expect(result.stdout).toContain('[build] out-build');
    expect(result.stdout).toContain('[build] err-build');
    expect(result.stdout).toContain('✔ test succeeded');
    expect(result.stdout).toMatch(/4 tasks: 4 succeeded, 0 failed, 0 skipped, 0 cancelled/);
    expect(readFileSync(join(logs, 'build.log'), 'utf8').split('\n').sort()).toEqual([
      '',
      'err-build',
      'out-build',
    ]);
  });

  it('never runs more commands at once than --concurrency', async () => {
    const trace = join(dir, 'overlap.trace');
    const tasks: Record<string, { run: string }> = {};
    for (let i = 0; i < 6; i++) {
      tasks[`t${i}`] = {
        run: `echo "+ $(date +%s%N)" >> ${trace}; sleep 0.4; echo "- $(date +%s%N)" >> ${trace}`,
      };
    }
    const file = pipelineFile('overlap.json', JSON.stringify({ tasks }));

    const result = await runCli([file, '-c', '2', '--progress', 'plain']);

    expect(result.code).toBe(0);
    const marks = readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string])
      .sort((a, b) => (BigInt(a[1]) < BigInt(b[1]) ? -1 : 1));
    let running = 0;
    let peak = 0;
    for (const [sign] of marks) {
      running += sign === '+' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(2);
  });

  it('exits 1 when a task fails; --continue still runs independent tasks and skips dependents', async () => {
    const file = pipelineFile(
      'fails.yml',
      [
        'tasks:',
        '  broken: "echo about to fail; exit 3"',
        '  after: { run: "echo should-not-run", dependsOn: broken }',
        '  other: "sleep 0.1; echo other-ran"',
      ].join('\n'),
    );

    const result = await runCli([file, '--continue', '--progress', 'plain']);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✖ broken failed');
    expect(result.stdout).toContain('exit code 3');
    expect(result.stdout).toContain('- after skipped: dependency "broken" failed');
    expect(result.stdout).toContain('[other] other-ran');
    expect(result.stdout).not.toContain('should-not-run');
  });

  it('fail-fast kills the commands still running', async () => {
    const file = pipelineFile(
      'failfast.yml',
      ['tasks:', '  broken: "sleep 0.2; exit 1"', '  slow: "sleep 20"'].join('\n'),
    );
    const started = Date.now();

    const result = await runCli([file, '--progress', 'plain']);

    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.stdout).toContain('■ slow cancelled');
    expect(result.stdout).toContain('run stopped: task "broken" failed');
  });

  it('a task timeout kills the command and fails the task', async () => {
    const file = pipelineFile(
      'timeout.yml',
      'tasks:\n  slow: { run: "sleep 20", timeout: 300ms }\n',
    );
    const started = Date.now();

    const result = await runCli([file, '--progress', 'plain']);

    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.stdout).toContain('timed out after 300 ms');
  });

  it('on SIGINT stops the commands and their children, and exits 130', async () => {
    const pidFile = join(dir, 'sleep.pid');
    const file = pipelineFile(
      'long.yml',
      [
        'tasks:',
        `  long: "sleep 30 & echo $! > ${pidFile}; echo started; wait"`,
        '  after: { run: "echo never", dependsOn: long }',
      ].join('\n'),
    );
    let cliPid = 0;
    const running = runCli([file, '--progress', 'plain'], { onStart: (pid) => (cliPid = pid) });
    expect(
      await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 5_000),
    ).toBe(true);
    const sleepPid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(sleepPid)).toBe(true);

    process.kill(cliPid, 'SIGINT');
    const result = await running;

    expect(result.code).toBe(130);
    expect(result.stdout).toContain('■ long cancelled');
    expect(result.stdout).toContain('interrupted by SIGINT');
    expect(result.stdout).not.toContain('never');
    expect(await waitFor(() => !alive(sleepPid), 2_000)).toBe(true);
  });

  it('rejects a cycle before running anything, naming the tasks, with exit 2', async () => {
    const marker = join(dir, 'cycle.marker');
    const file = pipelineFile(
      'cycle.yml',
      [
        'tasks:',
        `  a: { run: "touch ${marker}", dependsOn: c }`,
        `  b: { run: "touch ${marker}", dependsOn: a }`,
        `  c: { run: "touch ${marker}", dependsOn: b }`,
        `  free: "touch ${marker}"`,
      ].join('\n'),
    );

    const result = await runCli([file]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /dependency cycle: "\w" depends on "\w" depends on "\w" depends on/,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    [
      'an unknown dependency',
      'tasks:\n  a: { run: "true", dependsOn: ghost }\n',
      /"a" depends on unknown task "ghost"/,
    ],
    ['a misspelt key', 'tasks:\n  a: { command: "true" }\n', /tasks\.a\.command: unknown key/],
    [
      'a bad timeout',
      'tasks:\n  a: { run: "true", timeout: soon }\n',
      /tasks\.a\.timeout: must be a duration/,
    ],
    ['invalid YAML', 'tasks: [\n', /cannot parse/],
    [
      'a missing cwd',
      'tasks:\n  a: { run: "true", cwd: nowhere }\n',
      /nowhere of a does not exist/,
    ],
  ])('rejects %s with exit 2 and a message saying where', async (_label, content, message) => {
    const file = pipelineFile('bad.yml', content);

    const result = await runCli([file]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('--quiet keeps status lines but not task output; JSON task strings work', async () => {
    const file = pipelineFile('quiet.json', JSON.stringify({ tasks: { talk: 'echo chatter' } }));

    const result = await runCli([file, '--progress', 'plain', '--quiet']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✔ talk succeeded');
    expect(result.stdout).not.toContain('chatter');
  });

  it('rejects bad flags with exit 2', async () => {
    const result = await runCli(['--concurrency', 'many', 'x.yml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--concurrency must be an integer');
  });

  it('--dry-run prints the plan in waves and runs nothing', async () => {
    const marker = join(dir, 'dry.marker');
    const file = pipelineFile(
      'dry.yml',
      ['tasks:', `  a: "touch ${marker}"`, `  b: { run: "touch ${marker}", dependsOn: a }`].join(
        '\n',
      ),
    );

    const result = await runCli([file, '--dry-run']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('1. a\n  2. b');
    expect(existsSync(marker)).toBe(false);
  });

  it('the live view redraws a status table and ends with the failed output and a summary', async () => {
    const file = pipelineFile(
      'tty.yml',
      ['tasks:', '  good: "sleep 0.3"', '  bad: "echo reason-for-failure; exit 4"'].join('\n'),
    );

    const logs = join(dir, 'logs-tty');

    const result = await runCli([file, '--progress', 'tty', '--continue', '--log-dir', logs]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('\x1b[?25l');
    // Cursor-up sequences: the table was redrawn in place.
    expect(result.stderr).toMatch(new RegExp(`${String.fromCharCode(27)}\\[\\d+A`));
    expect(result.stderr).toContain('✖ bad: exit code 4');
    expect(result.stderr).toContain('│ reason-for-failure');
    expect(result.stderr).toContain(`full log: ${join(logs, 'bad.log')}`);
    expect(result.stderr).toContain('2 tasks: 1 succeeded, 1 failed');
  });
});
