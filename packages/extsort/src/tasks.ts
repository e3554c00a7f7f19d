import { openSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { MAX_PIECE_BYTES, lineEnd, sortPacked } from './chunk-sort.js';
import { INT_KEY_LIMIT, LineComparator } from './compare.js';
import { ExtsortError, serializeError } from './errors.js';
import type { CompareConfig } from './keyspec.js';
import { KeyReader, LineReader, LineWriter, intLineBytes } from './run-io.js';
import type { Sink } from './run-io.js';

const NL = 10;

/** Messages the coordinator sends to a worker. */
export type WorkerTask =
  | {
      type: 'sort';
      id: number;
      buf: ArrayBuffer;
      len: number;
      /** Path prefix for run files; pieces get `.0`, `.1`, … appended. */
      runBase: string;
      compress: boolean;
      /** When set and the chunk fits one sort, write the final output here instead. */
      direct: DirectSink | null;
      /** Range-partition boundaries: run pieces are split into splitters.length + 1 files. */
      splitters: Uint8Array[];
    }
  | {
      type: 'merge';
      id: number;
      /** `ints`: a binary run of exact integer keys (see KeyReader). */
      runs: { path: string; compressed: boolean; ints: boolean }[];
      out: DirectSink;
      /** Extra memory lent by the coordinator for read buffers; handed back after. */
      lend: ArrayBuffer[];
    };

export type DirectSink =
  | {
      kind: 'file';
      path: string;
      compress: boolean;
      position?: number;
      /** Write a binary integer run (only when every input run is one). */
      ints?: boolean;
    }
  | { kind: 'port'; credits: SharedArrayBuffer };

export type WorkerReply =
  | {
      type: 'sorted';
      id: number;
      buf: ArrayBuffer;
      lines: number;
      /** `bytes`: size as text lines; `disk`: bytes in the file. */
      runs: {
        path: string;
        bytes: number;
        disk: number;
        lines: number;
        part: number;
        ints: boolean;
      }[];
      direct: boolean;
    }
  | {
      type: 'merged';
      id: number;
      /** Output size as text lines, and bytes actually written. */
      bytes: number;
      disk: number;
      lines: number;
      lend: ArrayBuffer[];
    }
  | { type: 'out'; buf: ArrayBuffer; len: number }
  | {
      type: 'error';
      id: number;
      error: ReturnType<typeof serializeError>;
      /** For --strict failures: 1-based line within the chunk. */
      chunkLine?: number;
      buf?: ArrayBuffer;
      lend?: ArrayBuffer[];
    };

export interface WorkerInit {
  cfg: CompareConfig;
  /** Bytes of this worker's arena (line index + sort keys, later merge buffers). */
  arenaBytes: number;
  /** Per-worker progress slot in a shared Float64Array. */
  progress: SharedArrayBuffer;
  slot: number;
}

/** Posts a message to the coordinator (a worker's parent port, or a direct call inline). */
export type Post = (msg: WorkerReply, transfer: ArrayBuffer[]) => void;

/** A k-way merge in progress: `step` merges up to `maxLines` lines, true when done. */
interface Merger {
  step(maxLines: number): boolean;
  /** Text size of the lines written so far (binary integer output only). */
  textBytes: number;
}

/** A started merge: call `step` until it returns true, then `finish`. */
export interface MergeJob {
  step(maxLines: number): boolean;
  finish(): void;
  abort(): void;
}

/**
 * The work of one sorting thread: sorting chunks into runs and merging runs. Used by
 * worker threads and, for small budgets, directly on the main thread.
 */
export function createTaskRunner(init: WorkerInit, port: MessagePort | null, post: Post) {
  const cmp = new LineComparator(init.cfg);
  const arena = new ArrayBuffer(init.arenaBytes);
  const progress = new Float64Array(init.progress);
  // Each line needs one 8-byte packed sort key.
  const capacity = Math.max(1, Math.floor(init.arenaBytes / 8));
  const packed = new BigUint64Array(arena, 0, capacity);
  const OUT_BYTES = 1 << 20;

  function sinkFor(d: DirectSink): Sink {
    if (d.kind === 'port') {
      if (port === null) throw new Error('stream output needs a worker thread');
      return { kind: 'port', port, credits: new Int32Array(d.credits) };
    }
    // With a position, several workers fill disjoint ranges of one output file.
    if (d.position !== undefined)
      return { kind: 'fd', fd: openSync(d.path, 'r+'), path: d.path, position: d.position };
    return { kind: 'fd', fd: openSync(d.path, 'w'), path: d.path, position: null };
  }

  // Gather buffer for writing a sorted chunk; counted in the coordinator's budget.
  const sortOut = Buffer.allocUnsafeSlow(OUT_BYTES);

  let intCount = 0;
  /**
   * Fills `u` (as 64-bit lo/hi pairs, the layout of `packed`) with the exact keys of the canonical-integer lines from `pos` on
   * (at most `capacity`). Returns the position after the last line taken, or -1 when
   * a line is not a canonical integer (the caller then sorts the piece generally).
   */
  function fillIntKeys(data: Buffer, pos: number, len: number, u: Uint32Array): number {
    const invert = cmp.invertPrefix;
    const top = INT_KEY_LIMIT * 2 - 1;
    let n = 0;
    let p = pos;
    while (p < len && n < capacity) {
      let neg = false;
      if (data[p] === 45) {
        neg = true;
        p++;
      }
      const ds = p;
      let v = 0;
      let c = data[p]! - 48;
      while (c >= 0 && c <= 9) {
        v = v * 10 + c;
        c = data[++p]! - 48;
      }
      const nd = p - ds;
      // Canonical: digits up to the newline, no leading zero (but "0"), no "-0".
      if (c !== NL - 48 || nd === 0 || nd > 12 || v >= INT_KEY_LIMIT) return -1;
      if (data[ds] === 48 && (nd > 1 || neg)) return -1;
      const key = (neg ? -v : v) + INT_KEY_LIMIT;
      const x = invert ? top - key : key;
      const lo = x >>> 0;
      u[2 * n] = lo;
      u[2 * n + 1] = (x - lo) / 4294967296;
      n++;
      p++;
    }
    intCount = n;
    return p;
  }

  /** Integer value of an exact integer key. */
  const intOfKey = (key: number): number => cmp.intFromKey(key);

  function handleSort(task: Extract<WorkerTask, { type: 'sort' }>): void {
    const data = Buffer.from(task.buf, 0, task.len);
    const runs: {
      path: string;
      bytes: number;
      disk: number;
      lines: number;
      part: number;
      ints: boolean;
    }[] = [];
    const u = new Uint32Array(packed.buffer, packed.byteOffset, capacity * 2);
    // Exact integer key of line k of an integer piece (keys are below 2^40).
    const keyAt = (k: number): number => u[2 * k + 1]! * 4294967296 + u[2 * k]!;
    const strict = cmp.cfg.strict;
    const unique = cmp.cfg.unique;
    const len = task.len;
    let total = 0;
    let pos = 0;
    let piece = 0;
    let direct = false;
    while (pos < len) {
      const base = pos;
      let n = 0;
      // Pieces of canonical integers (the usual `-n` input) get exact keys: a line is
      // fully determined by its key, so the piece is sorted as a BigUint64Array of
      // keys alone and written as a binary run of keys (no line bytes are copied), or
      // as text rewritten from the keys.
      let intKeys = false;
      if (cmp.wholeLineNumeric && !strict) {
        const after = fillIntKeys(data, pos, len, u);
        if (after >= 0) {
          intKeys = true;
          n = intCount;
          pos = after;
          packed.subarray(0, n).sort();
        }
      }
      if (!intKeys) {
        // One piece: at most `capacity` lines starting within MAX_PIECE_BYTES of `base`.
        const startLimit = base + MAX_PIECE_BYTES;
        intKeys = cmp.wholeLineNumeric;
        while (pos < len && n < capacity && pos < startLimit) {
          const end = lineEnd(data, pos);
          if (strict) {
            const problem = cmp.problem(data, pos, end);
            if (problem !== null) {
              const err = new ExtsortError(problem.code, problem.why);
              throw Object.assign(err, { chunkLine: total + n + 1 });
            }
          }
          if (intKeys) {
            const v = cmp.canonicalInt(data, pos, end);
            if (v === v) cmp.intPrefix(v);
            else {
              intKeys = false;
              // Redo the keys so far with general (prefix) keys.
              for (let k = 0, s = base; k < n; k++) {
                const e = lineEnd(data, s);
                cmp.prefix(data, s, e, 0);
                u[2 * k] = ((cmp.pL << 24) | (s - base)) >>> 0;
                u[2 * k + 1] = cmp.pH;
                s = e + 1;
              }
              cmp.prefix(data, pos, end, 0);
            }
          } else cmp.prefix(data, pos, end, 0);
          u[2 * n] = ((cmp.pL << 24) | (pos - base)) >>> 0;
          u[2 * n + 1] = cmp.pH;
          n++;
          pos = end + 1;
        }
        sortPacked(data, base, n, cmp, packed, intKeys);
        if (intKeys) {
          // Same layout as fillIntKeys: one exact key per line, in order.
          for (let k = 0; k < n; k++) {
            const key = u[2 * k + 1]! * 256 + (u[2 * k]! >>> 24);
            const lo = key >>> 0;
            u[2 * k] = lo;
            u[2 * k + 1] = (key - lo) / 4294967296;
          }
        }
      }
      const taken = n;
      if (intKeys && unique) {
        // Equal keys are equal lines: keep the first of each.
        let w = 0;
        for (let k = 0; k < n; k++) {
          if (w > 0 && u[2 * k] === u[2 * w - 2] && u[2 * k + 1] === u[2 * w - 1]) continue;
          u[2 * w] = u[2 * k]!;
          u[2 * w + 1] = u[2 * k + 1]!;
          w++;
        }
        n = w;
      }
      const toDirect = piece === 0 && pos >= len && task.direct !== null;
      direct = toDirect;
      // Partition boundaries in the sorted piece: first line >= each splitter.
      const bounds = [0];
      const lineAt = (k: number): [Buffer, number, number] => {
        if (!intKeys) {
          const s = base + (u[2 * k]! & 0xffffff);
          return [data, s, lineEnd(data, s)];
        }
        const text = Buffer.from(`${intOfKey(keyAt(k))}`, 'latin1');
        return [text, 0, text.length];
      };
      for (const sp of task.splitters) {
        const spBuf = Buffer.from(sp.buffer, sp.byteOffset, sp.byteLength);
        let lo = bounds[bounds.length - 1]!;
        let hi = n;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          const [b, s, e] = lineAt(mid);
          if (cmp.compare(b, s, e, spBuf, 0, spBuf.length) < 0) lo = mid + 1;
          else hi = mid;
        }
        bounds.push(lo);
      }
      bounds.push(n);
      let bytesBefore = 0;
      for (let part = 0; part + 1 < bounds.length; part++) {
        const from = bounds[part]!;
        const to = bounds[part + 1]!;
        if (from === to && !toDirect) continue;
        const path = `${task.runBase}.${piece}.p${part}`;
        const sink: Sink =
          toDirect && task.direct !== null
            ? sinkFor(task.direct)
            : { kind: 'fd', fd: openSync(path, 'w'), path, position: null };
        const writer = new LineWriter(sink, sortOut, !toDirect && task.compress);
        let textBytes = 0;
        try {
          let prevS = -1;
          let prevE = -1;
          if (intKeys && !toDirect) {
            if (!unique && to === n && from > 0) {
              // The last part: the piece's bytes minus those of the parts before it.
              textBytes = pos - base - bytesBefore;
            } else for (let k = from; k < to; k++) textBytes += intLineBytes(intOfKey(keyAt(k)));
            bytesBefore += textBytes;
            writer.writeRaw(
              new Uint8Array(u.buffer, u.byteOffset + from * 8, (to - from) * 8),
              to - from,
            );
          } else if (intKeys) {
            for (let k = from; k < to; k++) writer.writeInt(intOfKey(keyAt(k)));
          } else
            for (let k = from; k < to; k++) {
              const s = base + (u[2 * k]! & 0xffffff);
              if (unique) {
                const e = lineEnd(data, s);
                if (prevS >= 0 && cmp.compare(data, prevS, prevE, data, s, e) === 0) continue;
                prevS = s;
                prevE = e;
              }
              writer.writeLineFrom(data, s);
            }
        } catch (err) {
          writer.abort();
          throw err;
        }
        writer.close();
        if (!toDirect)
          runs.push({
            path,
            bytes: intKeys ? textBytes : writer.bytes,
            disk: writer.bytes,
            lines: writer.lines,
            part,
            ints: intKeys,
          });
      }
      total += taken;
      piece++;
    }
    const reply: WorkerReply = {
      type: 'sorted',
      id: task.id,
      buf: task.buf,
      lines: total,
      runs,
      direct,
    };
    post(reply, [task.buf]);
  }

  function carve(regions: ArrayBuffer[], size: number, count: number): Buffer[] {
    const out: Buffer[] = [];
    for (const r of regions) {
      let off = 0;
      while (out.length < count && off + size <= r.byteLength) {
        out.push(Buffer.from(r, off, size));
        off += size;
      }
    }
    while (out.length < count) out.push(Buffer.allocUnsafeSlow(size));
    return out;
  }

  function startMerge(task: Extract<WorkerTask, { type: 'merge' }>): MergeJob {
    const k = task.runs.length;
    const regions = [arena, ...task.lend];
    const totalMem = regions.reduce((a, r) => a + r.byteLength, 0);
    const outBytes = Math.max(64 * 1024, Math.min(4 << 20, Math.floor(totalMem / 16)));
    // Largest read buffer size that lets the k readers (and the output) be cut from
    // the memory we hold, so a merge allocates nothing beyond the budget.
    let readBytes = Math.max(64 * 1024, Math.floor((totalMem - outBytes) / k / 4096) * 4096);
    const slices = (size: number): number =>
      regions.reduce((a, r) => a + Math.floor(r.byteLength / size), 0);
    while (readBytes > 64 * 1024 && slices(readBytes) < k + 1) {
      readBytes = Math.max(64 * 1024, Math.floor((readBytes * 0.9) / 4096) * 4096);
    }
    const bufs = carve(regions, readBytes, k + 1);
    const outBuf =
      task.out.kind === 'port'
        ? Buffer.allocUnsafeSlow(256 * 1024)
        : bufs[k]!.subarray(0, Math.min(readBytes, outBytes));
    const readers: LineReader[] = [];
    let writer: LineWriter | null = null;
    try {
      for (let i = 0; i < k; i++) {
        const run = task.runs[i]!;
        readers.push(
          run.ints
            ? new KeyReader(run.path, bufs[i]!, run.compressed, intOfKey)
            : new LineReader(run.path, bufs[i]!, run.compressed),
        );
      }
      writer = new LineWriter(
        sinkFor(task.out),
        outBuf,
        task.out.kind === 'file' && task.out.compress,
      );
    } catch (err) {
      for (const r of readers) r.close();
      throw err;
    }
    const w = writer;
    const allInts = readers.every((r) => r instanceof KeyReader);
    const binaryOut = allInts && task.out.kind === 'file' && task.out.ints === true;
    const merger = allInts
      ? createIntMerger(readers as KeyReader[], w, binaryOut)
      : createMerger(readers, w);
    return {
      step(maxLines: number): boolean {
        try {
          return merger.step(maxLines);
        } catch (err) {
          for (const r of readers) r.close();
          w.abort();
          throw err;
        }
      },
      abort(): void {
        for (const r of readers) r.close();
        w.abort();
      },
      finish(): void {
        for (const r of readers) r.close();
        w.close();
        const reply: WorkerReply = {
          type: 'merged',
          id: task.id,
          bytes: binaryOut ? merger.textBytes : w.bytes,
          disk: w.bytes,
          lines: w.lines,
          lend: task.lend,
        };
        post(reply, task.lend);
      },
    };
  }

  /** k-way merge with a loser tree; ties go to the lower run index (stability). */
  function createMerger(readers: LineReader[], writer: LineWriter): Merger {
    const k = readers.length;
    const key = new Float64Array(k);
    const tree = new Int32Array(Math.max(1, k));
    const advance = (i: number): void => {
      const r = readers[i]!;
      if (r.next()) {
        cmp.prefix(r.lb, r.ls, r.le, 0);
        key[i] = cmp.pH * 256 + cmp.pL;
      } else key[i] = Infinity;
    };
    const less = (i: number, j: number): boolean => {
      const a = key[i]!;
      const b = key[j]!;
      if (a !== b) return a < b;
      if (a === Infinity) return i < j;
      const ra = readers[i]!;
      const rb = readers[j]!;
      const c = cmp.compare(ra.lb, ra.ls, ra.le, rb.lb, rb.ls, rb.le);
      return c !== 0 ? c < 0 : i < j;
    };
    for (let i = 0; i < k; i++) advance(i);
    buildLoserTree(tree, k, less);
    const unique = cmp.cfg.unique;
    let prev: Buffer = Buffer.allocUnsafeSlow(256);
    let prevLen = -1;
    let counted = 0;
    const step = (maxLines: number): boolean => {
      for (let done = 0; done < maxLines; done++) {
        let w: number = tree[0]!;
        if (key[w] === Infinity) {
          progress[init.slot] = writer.bytes;
          return true;
        }
        const r = readers[w]!;
        if (unique) {
          const len = r.le - r.ls;
          if (prevLen < 0 || cmp.compare(prev, 0, prevLen, r.lb, r.ls, r.le) !== 0) {
            writer.writeLine(r.lb, r.ls, r.le);
            if (len > prev.length) prev = Buffer.allocUnsafeSlow(len * 2);
            r.lb.copy(prev, 0, r.ls, r.le);
            prevLen = len;
          }
        } else {
          writer.writeLine(r.lb, r.ls, r.le);
        }
        if (++counted === 65536) {
          counted = 0;
          progress[init.slot] = writer.bytes;
        }
        advance(w);
        let node = (w + k) >> 1;
        while (node > 0) {
          const l = tree[node]!;
          if (less(l, w)) {
            tree[node] = w;
            w = l;
          }
          node >>= 1;
        }
        tree[0] = w;
      }
      progress[init.slot] = writer.bytes;
      return false;
    };
    return { step, textBytes: 0 };
  }

  /**
   * k-way merge of binary integer runs: the loser tree compares the exact keys alone
   * (equal keys are equal lines), ties to the lower run index. Writes text lines, or
   * keys again when the output is itself a binary run (`textBytes` then counts the
   * size the lines will have as text).
   */
  function createIntMerger(readers: KeyReader[], writer: LineWriter, binaryOut: boolean): Merger {
    const k = readers.length;
    const key = new Float64Array(k);
    const tree = new Int32Array(Math.max(1, k));
    // Each run's current block of keys: lo/hi pairs in views[i][at[i] .. stop[i]).
    const views: Uint32Array[] = readers.map((r) => r.u32);
    const at = new Int32Array(k);
    const stop = new Int32Array(k);
    const load = (i: number): void => {
      const r = readers[i]!;
      const count = r.take();
      if (count === 0) {
        key[i] = Infinity;
        return;
      }
      const v = r.u32;
      views[i] = v;
      at[i] = r.start;
      stop[i] = r.start + 2 * count;
      key[i] = v[r.start + 1]! * 4294967296 + v[r.start]!;
    };
    for (let i = 0; i < k; i++) load(i);
    buildLoserTree(tree, k, (x, y) => key[x]! < key[y]! || (key[x] === key[y] && x < y));
    const unique = cmp.cfg.unique;
    let prevKey = -1;
    let counted = 0;
    const m: Merger = {
      textBytes: 0,
      step(maxLines: number): boolean {
        const report = (): void => {
          progress[init.slot] = binaryOut ? m.textBytes : writer.bytes;
        };
        for (let done = 0; done < maxLines; done++) {
          let w: number = tree[0]!;
          const v = key[w]!;
          if (v === Infinity) {
            report();
            return true;
          }
          if (!unique || v !== prevKey) {
            prevKey = v;
            if (binaryOut) {
              writer.writeKey(v);
              m.textBytes += intLineBytes(intOfKey(v));
            } else writer.writeInt(intOfKey(v));
          }
          if (++counted === 65536) {
            counted = 0;
            report();
          }
          const next = at[w]! + 2;
          if (next < stop[w]!) {
            at[w] = next;
            const u = views[w]!;
            key[w] = u[next + 1]! * 4294967296 + u[next]!;
          } else load(w);
          let kw = key[w]!;
          let node = (w + k) >> 1;
          while (node > 0) {
            const l = tree[node]!;
            const a = key[l]!;
            if (a < kw || (a === kw && l < w)) {
              tree[node] = w;
              w = l;
              kw = a;
            }
            node >>= 1;
          }
          tree[0] = w;
        }
        report();
        return false;
      },
    };
    return m;
  }

  function errorReply(task: WorkerTask, err: unknown): void {
    const what =
      task.type === 'merge' && task.out.kind === 'file'
        ? task.out.path
        : task.type === 'sort'
          ? task.runBase
          : '';
    const reply: WorkerReply = {
      type: 'error',
      id: task.id,
      error: serializeError(err, what, 'write'),
    };
    const chunkLine = (err as { chunkLine?: number }).chunkLine;
    if (chunkLine !== undefined) reply.chunkLine = chunkLine;
    const transfer: ArrayBuffer[] = [];
    if (task.type === 'sort' && task.buf.byteLength > 0) {
      reply.buf = task.buf;
      transfer.push(task.buf);
    }
    if (task.type === 'merge') {
      reply.lend = task.lend;
      transfer.push(...task.lend);
    }
    post(reply, transfer);
  }

  return {
    /** Runs a task to completion (worker threads). */
    run(task: WorkerTask): void {
      try {
        if (task.type === 'sort') handleSort(task);
        else {
          const job = startMerge(task);
          job.step(Infinity);
          job.finish();
        }
      } catch (err) {
        errorReply(task, err);
      }
    },
    /** Runs a task in slices, yielding between them (main thread: signals stay live). */
    async runSliced(task: WorkerTask, yieldNow: () => Promise<void>): Promise<void> {
      try {
        if (task.type === 'sort') handleSort(task);
        else {
          const job = startMerge(task);
          try {
            while (!job.step(200_000)) await yieldNow();
          } catch (err) {
            errorReply(task, err);
            return;
          }
          job.finish();
        }
      } catch (err) {
        errorReply(task, err);
      }
    },
  };
}

export type TaskRunner = ReturnType<typeof createTaskRunner>;

/**
 * Fills a loser tree over `k` sources: `tree[n]` holds the loser of the match at node `n`,
 * `tree[0]` the overall winner. `less(a, b)` orders sources (ties broken by index for
 * stability).
 */
function buildLoserTree(
  tree: Int32Array,
  k: number,
  less: (a: number, b: number) => boolean,
): void {
  const win = new Int32Array(2 * k);
  for (let i = 0; i < k; i++) win[k + i] = i;
  for (let n = k - 1; n >= 1; n--) {
    const a = win[2 * n]!;
    const b = win[2 * n + 1]!;
    if (less(a, b)) {
      win[n] = a;
      tree[n] = b;
    } else {
      win[n] = b;
      tree[n] = a;
    }
  }
  tree[0] = k === 1 ? 0 : win[1]!;
}
