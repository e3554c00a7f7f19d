/**
 * Stable error codes raised by extsort. The CLI maps every code to exit status 2
 * (GNU sort's status for trouble) except `ABORTED`, which exits 130 after SIGINT.
 */
export type ExtsortErrorCode =
  | 'INVALID_OPTION'
  | 'INPUT_NOT_FOUND'
  | 'INPUT_UNREADABLE'
  | 'OUTPUT_UNWRITABLE'
  | 'TEMP_UNWRITABLE'
  | 'NO_SPACE'
  | 'INVALID_NUMBER'
  | 'INVALID_JSON'
  | 'IO_ERROR'
  | 'ABORTED';

/**
 * The one error class extsort throws. `code` is stable and safe to branch on;
 * `path` and `line` are set when the failure belongs to a file or a line of input.
 *
 * @example
 * try { await sortFile('in.txt', 'out.txt', { numeric: true, strict: true }); }
 * catch (err) { if (err instanceof ExtsortError && err.code === 'INVALID_NUMBER') console.error(err.line); }
 */
export class ExtsortError extends Error {
  override readonly name = 'ExtsortError';
  readonly code: ExtsortErrorCode;
  readonly path: string | undefined;
  readonly line: number | undefined;

  constructor(
    code: ExtsortErrorCode,
    message: string,
    extra: { path?: string; line?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.path = extra.path;
    this.line = extra.line;
  }
}

/** Translates an fs error into an ExtsortError that names what we were doing. */
export function fsError(err: unknown, what: 'read' | 'write' | 'temp', path: string): ExtsortError {
  if (err instanceof ExtsortError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ExtsortError('NO_SPACE', `no space left on device while writing ${path}`, {
      path,
      cause: err,
    });
  }
  if (what === 'read') {
    if (code === 'ENOENT') {
      return new ExtsortError('INPUT_NOT_FOUND', `cannot read ${path}: no such file`, {
        path,
        cause: err,
      });
    }
    return new ExtsortError('INPUT_UNREADABLE', `cannot read ${path}: ${reason(err)}`, {
      path,
      cause: err,
    });
  }
  if (what === 'temp') {
    return new ExtsortError(
      'TEMP_UNWRITABLE',
      `cannot write temporary file in ${path}: ${reason(err)}`,
      {
        path,
        cause: err,
      },
    );
  }
  return new ExtsortError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${reason(err)}`, {
    path,
    cause: err,
  });
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  if (e?.code === 'ENOENT') return 'no such file or directory';
  if (e?.code === 'EISDIR') return 'is a directory';
  if (e?.code === 'ENOTDIR') return 'not a directory';
  return e?.message ?? String(err);
}

/** Plain-object form used to carry an error across a worker boundary. */
export interface SerializedError {
  code: ExtsortErrorCode;
  message: string;
  path?: string;
  line?: number;
}

export function serializeError(
  err: unknown,
  fallbackPath: string,
  what: 'read' | 'write' | 'temp',
): SerializedError {
  const e = err instanceof ExtsortError ? err : fsError(err, what, fallbackPath);
  const out: SerializedError = { code: e.code, message: e.message };
  if (e.path !== undefined) out.path = e.path;
  if (e.line !== undefined) out.line = e.line;
  return out;
}

export function deserializeError(s: SerializedError): ExtsortError {
  const extra: { path?: string; line?: number } = {};
  if (s.path !== undefined) extra.path = s.path;
  if (s.line !== undefined) extra.line = s.line;
  return new ExtsortError(s.code, s.message, extra);
}
