import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { PipelineTask } from './pipeline-file.js';

/** A command exited with a non-zero status or was killed by a signal it did not get from us. */
export class CommandFailedError extends Error {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;

  constructor(exitCode: number | null, signal: NodeJS.Signals | null) {
    super(signal !== null ? `killed by ${signal}` : `exit code ${exitCode}`);
    this.name = 'CommandFailedError';
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/** Receives a task's output, one complete line at a time (without the newline). */
export type LineSink = (stream: 'stdout' | 'stderr', line: string) => void;

/** Receives a task's raw output bytes (for log files). */
export type ChunkSink = (chunk: Buffer) => void;

/** Live child processes, so a second Ctrl-C can kill them without waiting. */
export const liveChildren = new Set<ChildProcess>();

/** Sends a signal to a child's whole process group; a vanished group is not an error. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group exited between the check and the kill.
  }
}

export interface ShellOptions {
  readonly shell: string;
  readonly killTimeoutMs: number;
  readonly onLine: LineSink;
  readonly onChunk: ChunkSink | undefined;
}

/**
 * Runs `task.run` with `shell -c` in its own process group (detached), so that
 * aborting the signal can stop the command and everything it started: SIGTERM to
 * the group, then SIGKILL after `killTimeoutMs`. Resolves when the command exits
 * with 0; rejects with the signal's reason when aborted, otherwise with a
 * {@link CommandFailedError}.
 */
export function runShellTask(
  task: PipelineTask,
  signal: AbortSignal,
  options: ShellOptions,
): Promise<{ exitCode: 0 }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const child = spawn(options.shell, ['-c', task.run], {
      cwd: task.cwd,
      env: { ...process.env, ...task.env, LINKFORGE_TASK: task.name },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      killGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child, 'SIGKILL'), options.killTimeoutMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const splitters = (['stdout', 'stderr'] as const).map((stream) => {
      let partial = '';
      const readable = stream === 'stdout' ? child.stdout : child.stderr;
      readable.on('data', (chunk: Buffer) => {
        options.onChunk?.(chunk);
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) options.onLine(stream, line.replace(/\r$/, ''));
      });
      return () => {
        if (partial !== '') options.onLine(stream, partial);
        partial = '';
      };
    });

    let settled = false;
    const finish = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      liveChildren.delete(child);
      clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
      for (const flush of splitters) flush();
      if (signal.aborted) reject(signal.reason as Error);
      else if (error !== undefined) reject(error);
      else resolve({ exitCode: 0 });
    };
    child.on('error', (error) =>
      finish(new Error(`cannot start ${options.shell}: ${error.message}`)),
    );
    child.on('close', (code, sig) => {
      finish(code === 0 ? undefined : new CommandFailedError(code, sig));
    });
  });
}
