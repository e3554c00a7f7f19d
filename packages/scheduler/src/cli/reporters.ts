import { join } from 'node:path';
import type { RunReport, TaskOutcome } from '../index.js';
import { describeError } from '../errors.js';
import { formatDuration } from './duration.js';

/** What the CLI tells its reporter; one implementation per output style. */
export interface Reporter {
  taskStarted(name: string, attempt: number): void;
  taskRetrying(name: string, attempt: number, error: unknown, delayMs: number): void;
  taskOutput(name: string, stream: 'stdout' | 'stderr', line: string): void;
  taskSettled(outcome: TaskOutcome): void;
  interrupted(signal: string, forced: boolean): void;
  finish(report: RunReport): void;
}

type Write = (text: string) => void;

/** The last lines of each task's output, kept to show why a task failed. */
class Tails {
  private readonly lines = new Map<string, string[]>();

  constructor(private readonly keep: number) {}

  add(name: string, line: string): void {
    let list = this.lines.get(name);
    if (list === undefined) this.lines.set(name, (list = []));
    list.push(line);
    if (list.length > this.keep) list.shift();
  }

  get(name: string): readonly string[] {
    return this.lines.get(name) ?? [];
  }

  last(name: string): string | undefined {
    return this.lines.get(name)?.at(-1);
  }
}

function why(outcome: TaskOutcome): string {
  if (outcome.status === 'failed') {
    const e = outcome.error;
    return e instanceof Error ? e.message : describeError(e);
  }
  return outcome.reason ?? '';
}

function took(outcome: TaskOutcome): string {
  if (outcome.startedAtMs === undefined || outcome.finishedAtMs === undefined) return '';
  return formatDuration(outcome.finishedAtMs - outcome.startedAtMs);
}

export function summaryLine(report: RunReport): string {
  const c = report.counts;
  return (
    `${report.tasks.size} tasks: ${c.succeeded} succeeded, ${c.failed} failed, ` +
    `${c.skipped} skipped, ${c.cancelled} cancelled in ${formatDuration(report.durationMs)}`
  );
}

const MARK: Record<TaskOutcome['status'], string> = {
  succeeded: '✔',
  failed: '✖',
  skipped: '-',
  cancelled: '■',
};

/**
 * Plain log lines, for pipes and CI logs: one line per event, task output echoed
 * with a `[task]` prefix (unless quiet), everything on stdout in order.
 */
export class PlainReporter implements Reporter {
  constructor(
    private readonly write: Write,
    private readonly quiet: boolean,
  ) {}

  taskStarted(name: string, attempt: number): void {
    this.write(`▶ ${name}${attempt > 1 ? ` (attempt ${attempt})` : ''}\n`);
  }

  taskRetrying(name: string, attempt: number, error: unknown, delayMs: number): void {
    const msg = error instanceof Error ? error.message : String(error);
    this.write(
      `↻ ${name} attempt ${attempt} failed (${msg}); retrying in ${formatDuration(delayMs)}\n`,
    );
  }

  taskOutput(name: string, _stream: 'stdout' | 'stderr', line: string): void {
    if (!this.quiet) this.write(`[${name}] ${line}\n`);
  }

  taskSettled(o: TaskOutcome): void {
    const time = took(o);
    const detail = o.status === 'succeeded' ? '' : `: ${why(o)}`;
    this.write(`${MARK[o.status]} ${o.name} ${o.status}${time ? ` in ${time}` : ''}${detail}\n`);
  }

  interrupted(signal: string, forced: boolean): void {
    this.write(
      forced
        ? `${signal} again: killing all commands now\n`
        : `${signal}: stopping running commands (press Ctrl-C again to kill them at once)\n`,
    );
  }

  finish(report: RunReport): void {
    this.write(`${summaryLine(report)}\n`);
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface Row {
  name: string;
  state: 'waiting' | 'running' | TaskOutcome['status'];
  started: number | undefined;
  ended: number | undefined;
  note: string;
}

/**
 * A live status table redrawn in place on a terminal (about ten times a second).
 * Output is not echoed (it would tear the table); the last line of each running
 * task is shown beside it, and the tail of every failed task is printed at the end.
 */
export class TtyReporter implements Reporter {
  private readonly rows = new Map<string, Row>();
  private readonly tails = new Tails(20);
  private drawnLines = 0;
  private frame = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly t0 = performance.now();
  private notice = '';

  constructor(
    private readonly write: Write,
    names: readonly string[],
    private readonly columns: () => number,
    private readonly maxRows: () => number,
    /** Where full logs go (`--log-dir`), to point at them after a failure. */
    private readonly logDir: string | undefined,
  ) {
    for (const name of names) {
      this.rows.set(name, {
        name,
        state: 'waiting',
        started: undefined,
        ended: undefined,
        note: '',
      });
    }
    this.write('\x1b[?25l');
    // The timer only repaints; it plays no part in scheduling.
    this.timer = setInterval(() => this.draw(), 100);
  }

  taskStarted(name: string, attempt: number): void {
    const row = this.rows.get(name);
    if (row === undefined) return;
    row.state = 'running';
    row.started ??= performance.now();
    row.note = attempt > 1 ? `attempt ${attempt}` : '';
  }

  taskRetrying(name: string, attempt: number, _error: unknown, delayMs: number): void {
    const row = this.rows.get(name);
    if (row === undefined) return;
    row.state = 'waiting';
    row.note = `attempt ${attempt} failed, retry in ${formatDuration(delayMs)}`;
  }

  taskOutput(name: string, _stream: 'stdout' | 'stderr', line: string): void {
    this.tails.add(name, line);
  }

  taskSettled(o: TaskOutcome): void {
    const row = this.rows.get(o.name);
    if (row === undefined) return;
    row.state = o.status;
    row.ended = performance.now();
    row.note = o.status === 'succeeded' ? '' : why(o);
  }

  interrupted(signal: string, forced: boolean): void {
    this.notice = forced ? `${signal} again: killing all commands` : `${signal}: stopping…`;
    this.draw();
  }

  finish(report: RunReport): void {
    clearInterval(this.timer);
    this.draw();
    this.write('\x1b[?25h');
    for (const o of report.tasks.values()) {
      if (o.status !== 'failed') continue;
      const tail = this.tails.get(o.name);
      this.write(`\n✖ ${o.name}: ${why(o)}\n`);
      for (const line of tail) this.write(`  │ ${line}\n`);
      if (this.logDir !== undefined)
        this.write(`  full log: ${join(this.logDir, `${o.name}.log`)}\n`);
    }
    this.write(`${summaryLine(report)}\n`);
  }

  private draw(): void {
    const width = Math.max(20, this.columns());
    const all = [...this.rows.values()];
    const budget = Math.max(3, this.maxRows() - 2);
    // Too many tasks for the screen: show the ones that are running or went wrong.
    const shown =
      all.length <= budget
        ? all
        : all.filter((r) => r.state === 'running' || r.state === 'failed').slice(0, budget);
    const nameWidth = Math.min(30, Math.max(...all.map((r) => r.name.length), 4));
    const now = performance.now();
    const spin = SPINNER[this.frame++ % SPINNER.length] as string;
    const lines = shown.map((r) => {
      const mark = r.state === 'running' ? spin : r.state === 'waiting' ? '·' : MARK[r.state];
      const elapsed = r.started === undefined ? '' : formatDuration((r.ended ?? now) - r.started);
      const note = r.state === 'running' ? (this.tails.last(r.name) ?? r.note) : r.note;
      const line = ` ${mark} ${r.name.padEnd(nameWidth)} ${elapsed.padStart(7)}  ${note}`;
      return line.length > width ? `${line.slice(0, width - 1)}…` : line;
    });
    const count = (s: Row['state']): number => all.filter((r) => r.state === s).length;
    const done = all.length - count('waiting') - count('running');
    let footer =
      ` ${done}/${all.length} done · ${count('running')} running · ${count('failed')} failed` +
      ` · ${formatDuration(now - this.t0)}`;
    if (this.notice) footer += ` · ${this.notice}`;
    lines.push(footer.slice(0, width));
    let out = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\r\x1b[J` : '';
    out += lines.map((l) => `${l}\n`).join('');
    this.drawnLines = lines.length;
    this.write(out);
  }
}
