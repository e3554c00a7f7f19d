import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { ExtsortError } from './errors.js';
import { buildCompareConfig, parseKeySpec } from './keyspec.js';
import type { CompareConfig } from './keyspec.js';

/** Progress figures reported while sorting (also what the CLI's bar shows). */
export interface SortProgress {
  phase: 'sort' | 'merge';
  /** 1-based merge pass (0 during run generation). */
  pass: number;
  passes: number;
  bytesDone: number;
  /** Total bytes of the phase, or null when reading a stream of unknown size. */
  bytesTotal: number | null;
  elapsedMs: number;
}

/**
 * Options shared by `sortFile`, `sortStream` and `createSortStream`. Names follow
 * GNU sort; every option is optional.
 */
export interface SortOptions {
  /** `-n`: compare the key as a number (GNU semantics; bad numbers count as 0). Default false. */
  numeric?: boolean;
  /** `-r`: reverse the result of comparisons. Default false. */
  reverse?: boolean;
  /** `-u`: output only the first of lines whose keys compare equal. Default false. */
  unique?: boolean;
  /** `-s`: keep input order for lines whose keys compare equal (no last-resort byte comparison). Default false. */
  stable?: boolean;
  /** `-b`: ignore leading blanks in keys. Default false. */
  ignoreLeadingBlanks?: boolean;
  /** `-k`: key definitions in GNU syntax, e.g. `['2,2n', '1']`. Default: the whole line. */
  keys?: string[];
  /** `-t`: single-character field separator. Default: runs of blanks separate fields. */
  fieldSeparator?: string;
  /** `--json-key`: sort JSON lines by this dotted path (e.g. `user.id`). */
  jsonKey?: string;
  /** `--strict`: fail on invalid numbers (with -n) or invalid JSON lines (with jsonKey), naming file and line. */
  strict?: boolean;
  /** `-S`: memory budget in bytes or as a GNU size string (`'256M'`, `'10%'`). Default 256 MiB. */
  bufferSize?: number | string;
  /** `-T`: directory for temporary runs. Default `os.tmpdir()` (or `$TMPDIR`). */
  tempDir?: string;
  /** `--parallel`: worker threads for run generation and merging. Default: cores, at most 8. */
  parallel?: number;
  /** `--batch-size`: most runs merged at once (fan-in). Default 256 (also bounded by memory: at least 64 KiB of read buffer per run). */
  batchSize?: number;
  /** `--compress`: deflate temporary runs (for slow disks). Default false. */
  compress?: boolean;
  /** Cancels the sort; temp files are removed and no output appears. */
  signal?: AbortSignal;
  /** Called about five times a second with progress figures. */
  onProgress?: (p: SortProgress) => void;
}

export interface NormalizedOptions {
  cfg: CompareConfig;
  bufferSize: number;
  tempDir: string;
  parallel: number;
  batchSize: number;
  compress: boolean;
  signal: AbortSignal | undefined;
  onProgress: ((p: SortProgress) => void) | undefined;
}

export const DEFAULT_BUFFER_SIZE = 256 * 1024 * 1024;
export const MIN_BUFFER_SIZE = 1024 * 1024;

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
  e: 1024 ** 6,
};

/**
 * Parses a GNU `-S` size: a number with an optional suffix `b`, `K`, `M`, `G`, `T`,
 * `P`, `E` (powers of 1024) or `%` of physical memory; a bare number means KiB.
 *
 * @example parseSize('256M') // 268435456
 */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input <= 0) throw badSize(String(input));
    return Math.floor(input);
  }
  const m = /^(\d+(?:\.\d+)?)([bkmgtpe%]?)$/i.exec(input.trim());
  if (m === null) throw badSize(input);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  let bytes: number;
  if (unit === '%') {
    if (n > 100) throw badSize(input);
    bytes = (totalmem() * n) / 100;
  } else bytes = n * (unit === '' ? 1024 : UNITS[unit]!);
  if (!Number.isFinite(bytes) || bytes <= 0) throw badSize(input);
  return Math.floor(bytes);
}

function badSize(v: string): ExtsortError {
  return new ExtsortError('INVALID_OPTION', `invalid buffer size '${v}'`);
}

function positiveInt(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min) {
    throw new ExtsortError(
      'INVALID_OPTION',
      `${name} must be an integer >= ${min}, got ${String(v)}`,
    );
  }
  return v;
}

function separator(sep: string | undefined): number {
  if (sep === undefined) return -1;
  if (sep === '\\0') return 0;
  const b = Buffer.from(sep, 'utf8');
  if (b.length !== 1) {
    throw new ExtsortError(
      'INVALID_OPTION',
      sep.length === 0 ? 'empty field separator' : `multi-character field separator '${sep}'`,
    );
  }
  return b[0]!;
}

/** Validates options and resolves defaults. Throws ExtsortError('INVALID_OPTION'). */
export function normalizeOptions(o: SortOptions = {}): NormalizedOptions {
  let jsonPath: string[] | null = null;
  if (o.jsonKey !== undefined) {
    const parts = o.jsonKey.split('.');
    if (o.jsonKey.length === 0 || parts.some((p) => p.length === 0)) {
      throw new ExtsortError('INVALID_OPTION', `invalid JSON key path '${o.jsonKey}'`);
    }
    jsonPath = parts;
  }
  const cfg = buildCompareConfig({
    keys: (o.keys ?? []).map(parseKeySpec),
    global: {
      numeric: o.numeric === true,
      reverse: o.reverse === true,
      ignoreLeadingBlanks: o.ignoreLeadingBlanks === true,
    },
    tab: separator(o.fieldSeparator),
    unique: o.unique === true,
    stable: o.stable === true,
    jsonPath,
    strict: o.strict === true,
  });
  const bufferSize = Math.max(MIN_BUFFER_SIZE, parseSize(o.bufferSize ?? DEFAULT_BUFFER_SIZE));
  return {
    cfg,
    bufferSize,
    tempDir: o.tempDir ?? process.env.TMPDIR ?? tmpdir(),
    parallel: positiveInt('parallel', o.parallel, Math.min(8, availableParallelism()), 1),
    batchSize: positiveInt('batchSize', o.batchSize, 256, 2),
    compress: o.compress === true,
    signal: o.signal,
    onProgress: o.onProgress,
  };
}
