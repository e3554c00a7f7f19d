import { open } from 'node:fs/promises';
import { LineComparator } from './compare.js';
import { ExtsortError, fsError } from './errors.js';
import { normalizeOptions } from './options.js';
import type { SortOptions } from './options.js';

/** Result of `checkSorted`: where the first disorder is, if any. */
export interface CheckResult {
  sorted: boolean;
  /** 1-based line number of the first line out of order. */
  line?: number;
  /** That line's text (without newline). */
  text?: string;
}

/**
 * Checks that input is already sorted under `options` (GNU `sort -c`): with
 * `unique`, equal neighbours are a disorder too. Reads the input once, in
 * constant memory.
 *
 * @example
 * const r = await checkSorted('out.txt', { numeric: true });
 * if (!r.sorted) console.error(`disorder at line ${r.line}: ${r.text}`);
 */
export async function checkSorted(
  input: string | AsyncIterable<Uint8Array>,
  options: SortOptions = {},
): Promise<CheckResult> {
  const opts = normalizeOptions(options);
  const cmp = new LineComparator(opts.cfg);
  const name = typeof input === 'string' ? input : '-';
  const strict = opts.cfg.strict;
  let prev = Buffer.allocUnsafe(4096);
  let prevLen = -1;
  let lineNo = 0;
  let carry: Buffer = Buffer.alloc(0);
  const unique = opts.cfg.unique;
  const visit = (buf: Buffer, s: number, e: number): CheckResult | null => {
    lineNo++;
    if (strict) {
      const p = cmp.problem(buf, s, e);
      if (p !== null)
        throw new ExtsortError(p.code, `${name}:${lineNo}: ${p.why}`, { path: name, line: lineNo });
    }
    if (prevLen >= 0) {
      const c = cmp.compare(prev, 0, prevLen, buf, s, e);
      if (c > 0 || (unique && c === 0))
        return { sorted: false, line: lineNo, text: buf.toString('utf8', s, e) };
    }
    if (e - s > prev.length) prev = Buffer.allocUnsafe((e - s) * 2);
    buf.copy(prev, 0, s, e);
    prevLen = e - s;
    return null;
  };
  const feed = (chunk: Buffer): CheckResult | null => {
    let data = chunk;
    if (carry.length > 0) data = Buffer.concat([carry, chunk]);
    let pos = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl < 0) break;
      const r = visit(data, pos, nl);
      if (r !== null) return r;
      pos = nl + 1;
    }
    carry = Buffer.from(data.subarray(pos));
    return null;
  };
  if (typeof input === 'string') {
    let fh;
    try {
      fh = await open(input, 'r');
    } catch (err) {
      throw fsError(err, 'read', input);
    }
    try {
      const buf = Buffer.allocUnsafe(4 << 20);
      for (;;) {
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
        } catch (err) {
          throw fsError(err, 'read', input);
        }
        if (n === 0) break;
        const r = feed(buf.subarray(0, n));
        if (r !== null) return r;
      }
    } finally {
      await fh.close();
    }
  } else {
    for await (const chunk of input) {
      const r = feed(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      if (r !== null) return r;
    }
  }
  if (carry.length > 0) {
    const r = visit(carry, 0, carry.length);
    if (r !== null) return r;
  }
  return { sorted: true };
}
