import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { mkdtemp, open, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { MAX_PIECE_BYTES, lineEnd } from './chunk-sort.js';
import { LineComparator } from './compare.js';
import { ExtsortError, deserializeError, fsError } from './errors.js';
import type { NormalizedOptions, SortProgress } from './options.js';
import { createTaskRunner } from './tasks.js';
import type { DirectSink, WorkerInit, WorkerReply, WorkerTask } from './tasks.js';

/** Where input comes from: a file path or an async stream of bytes (`name` is for messages). */
export type Source =
  | { kind: 'file'; path: string }
  | { kind: 'stream'; name: string; iterable: AsyncIterable<Uint8Array> };

/** Where sorted output goes: a file (written atomically) or a writable stream. */
export type Destination =
  { kind: 'file'; path: string } | { kind: 'stream'; stream: Writable; end: boolean };

/** Figures about one sort, as printed by `--stats`. */
export interface SortStats {
  inputBytes: number;
  outputBytes: number;
  lines: number;
  runs: number;
  mergePasses: number;
  fanIn: number;
  workers: number;
  bufferSize: number;
  tempBytesWritten: number;
  runGenerationMs: number;
  mergeMs: number;
  totalMs: number;
  peakRssBytes: number;
}

const MiB = 1024 * 1024;
const WORKER_OVERHEAD = 10 * MiB;
const SORT_OUT = MiB;
const MIN_READ = 64 * 1024;
const PORT_CREDITS = 4;
const INLINE_BELOW = 64 * MiB;
const SMALL_INPUT = 4 * MiB;

function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(here)) return here;
  // Running from TypeScript sources (tests): use the compiled worker.
  return new URL('../dist/worker.js', import.meta.url);
}

interface Run {
  order: number;
  part: number;
  path: string;
  /** Size as text lines (output positions, progress). */
  bytes: number;
  lines: number;
  /** Binary run of exact integer keys. */
  ints: boolean;
}

interface Plan {
  workers: number;
  arenaBytes: number;
  chunkBytes: number;
  lineCapacity: number;
}

/**
 * Splits the memory budget between chunk buffers (input being read or sorted) and
 * per-worker arenas (8-byte sort keys per line; reused as read buffers when merging).
 */
export function planMemory(bufferSize: number, parallel: number, inline: boolean): Plan {
  // Each worker thread costs ~10 MiB of its own, charged to the budget; inline (main
  // thread) sorting costs nothing extra and is what small budgets use.
  const workers = inline ? 1 : Math.max(1, Math.min(parallel, 8));
  const reserve = workers * SORT_OUT + (inline ? 0 : workers * WORKER_OVERHEAD);
  const usable = Math.max(2 * MiB, bufferSize - reserve);
  // A sorted piece never exceeds MAX_PIECE_BYTES, so bigger chunks would not make
  // fewer runs; what is left of the budget goes to keys and merge read buffers.
  const chunkBytes = Math.max(
    MIN_READ,
    Math.min(MAX_PIECE_BYTES, Math.floor((usable * 0.6) / (workers + 1))),
  );
  const arenaBytes = Math.max(
    256 * 1024,
    Math.min(128 * MiB, Math.floor((usable - chunkBytes * (workers + 1)) / workers / 8) * 8),
  );
  const lineCapacity = Math.floor(arenaBytes / 8);
  return { workers, arenaBytes, chunkBytes, lineCapacity };
}

type TaskInput = WorkerTask extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

interface PendingTask {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

/** Somewhere a task can run: a worker thread, or the main thread itself. */
interface Lane {
  post(task: WorkerTask, transfer: ArrayBuffer[]): void;
  stop(): Promise<void>;
}

class Pool {
  private readonly lanes: Lane[] = [];
  private readonly idle: Lane[] = [];
  private readonly waiters: ((w: Lane) => void)[] = [];
  private readonly pending = new Map<number, PendingTask>();
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;
  onOut: ((buf: ArrayBuffer, len: number) => void) | null = null;
  readonly progress = new SharedArrayBuffer(8 * 16);

  /**
   * `inline` runs tasks on the main thread (sliced, so signals and progress stay
   * live): for small budgets a worker thread's own ~10 MiB would not fit.
   */
  constructor(n: number, init: Omit<WorkerInit, 'progress' | 'slot'>, inline: boolean) {
    if (inline) {
      const yieldNow = (): Promise<void> =>
        new Promise((res, rej) => setImmediate(() => (this.closed ? rej(abortError()) : res())));
      const lane: Lane = {
        post: (task) => {
          setImmediate(() => void runner.runSliced(task, yieldNow));
        },
        stop: () => Promise.resolve(),
      };
      const runner = createTaskRunner({ ...init, progress: this.progress, slot: 0 }, null, (m) =>
        this.onMessage(lane, m),
      );
      this.lanes.push(lane);
      this.idle.push(lane);
      return;
    }
    const url = workerUrl();
    for (let i = 0; i < n; i++) {
      const data: WorkerInit = { ...init, progress: this.progress, slot: i };
      const w = new Worker(url, {
        workerData: data,
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
      });
      const lane: Lane = {
        post: (task, transfer) => w.postMessage(task, transfer),
        stop: () => w.terminate().then(() => undefined),
      };
      w.on('message', (m: WorkerReply) => this.onMessage(lane, m));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (code !== 0 && !this.closed) {
          this.fail(new ExtsortError('IO_ERROR', `worker thread exited with code ${code}`));
        }
      });
      this.lanes.push(lane);
      this.idle.push(lane);
    }
  }

  private onMessage(w: Lane, m: WorkerReply): void {
    if (m.type === 'out') {
      this.onOut?.(m.buf, m.len);
      return;
    }
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    this.release(w);
    p.resolve(m);
  }

  private fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private release(w: Lane): void {
    const next = this.waiters.shift();
    if (next !== undefined) next(w);
    else this.idle.push(w);
  }

  acquire(): Promise<Lane> {
    const w = this.idle.pop();
    if (w !== undefined) return Promise.resolve(w);
    return new Promise((r) => this.waiters.push(r));
  }

  run(w: Lane, task: TaskInput, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.post({ ...task, id } as WorkerTask, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((w) => w.stop()));
  }
}

/** Reads a source sequentially into caller-provided buffers. */
interface ByteReader {
  read(buf: Buffer, off: number, len: number): Promise<number>;
  close(): Promise<void>;
  readonly name: string;
}

async function openSource(src: Source): Promise<{ reader: ByteReader; size: number | null }> {
  if (src.kind === 'stream') {
    const it = src.iterable[Symbol.asyncIterator]();
    let pending: Uint8Array | null = null;
    let pendingOff = 0;
    return {
      size: null,
      reader: {
        name: src.name,
        async read(buf, off, len) {
          while (pending === null || pendingOff >= pending.length) {
            const r = await it.next();
            if (r.done === true) return 0;
            pending = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
            pendingOff = 0;
          }
          const n = Math.min(len, pending.length - pendingOff);
          buf.set(pending.subarray(pendingOff, pendingOff + n), off);
          pendingOff += n;
          return n;
        },
        async close() {
          await it.return?.();
        },
      },
    };
  }
  let fh: FileHandle;
  try {
    fh = await open(src.path, 'r');
  } catch (err) {
    throw fsError(err, 'read', src.path);
  }
  const st = await fh.stat();
  if (st.isDirectory()) {
    await fh.close();
    throw new ExtsortError('INPUT_UNREADABLE', `cannot read ${src.path}: is a directory`, {
      path: src.path,
    });
  }
  return {
    size: st.isFile() ? st.size : null,
    reader: {
      name: src.path,
      async read(buf, off, len) {
        try {
          const { bytesRead } = await fh.read(buf, off, Math.min(len, 8 * MiB), null);
          return bytesRead;
        } catch (err) {
          throw fsError(err, 'read', src.path);
        }
      },
      async close() {
        await fh.close();
      },
    },
  };
}

function tempName(dir: string, base: string): string {
  return join(dir, `.${base}.${process.pid}.${randomBytes(4).toString('hex')}.extsort-tmp`);
}

/**
 * The external merge sort: read chunks, sort them in worker threads into runs, then
 * merge runs with bounded fan-in (in several passes when needed) into the output.
 */
export async function runSort(
  sources: Source[],
  dest: Destination,
  opts: NormalizedOptions,
): Promise<SortStats> {
  const t0 = performance.now();
  const signal = opts.signal;
  if (signal?.aborted === true) throw abortError();

  // Open every input first: a missing input must fail before anything is written.
  const opened: { reader: ByteReader; size: number | null }[] = [];
  try {
    for (const s of sources) opened.push(await openSource(s));
  } catch (err) {
    await Promise.all(opened.map((o) => o.reader.close()));
    throw err;
  }
  const knownSize = opened.every((o) => o.size !== null);
  const inputTotal = opened.reduce((a, o) => a + (o.size ?? 0), 0);

  let outTemp: string | null = null;
  let tempDir: string | null = null;
  let pool: Pool | null = null;
  let progressTimer: ReturnType<typeof setInterval> | null = null;
  const cleanup = async (): Promise<void> => {
    if (progressTimer !== null) clearInterval(progressTimer);
    if (pool !== null) await pool.close();
    await Promise.all(opened.map((o) => o.reader.close().catch(() => undefined)));
    if (tempDir !== null) await rm(tempDir, { recursive: true, force: true });
  };
  const exitGuard = (): void => {
    // Last resort if the process exits mid-sort: never leave temp files behind.
    try {
      if (tempDir !== null) rmSyncQuiet(tempDir);
      if (outTemp !== null) rmSyncQuiet(outTemp);
    } catch {
      // Nothing more can be done while exiting.
    }
  };
  process.once('exit', exitGuard);

  try {
    if (dest.kind === 'file') {
      const dir = dirname(dest.path);
      try {
        const st = await stat(dest.path).catch(() => null);
        if (st?.isDirectory() === true) {
          throw new ExtsortError('OUTPUT_UNWRITABLE', `cannot write ${dest.path}: is a directory`, {
            path: dest.path,
          });
        }
        outTemp = tempName(dir, basename(dest.path));
        const fh = await open(outTemp, 'wx');
        await fh.close();
      } catch (err) {
        throw err instanceof ExtsortError ? err : fsError(err, 'write', dest.path);
      }
    }
    try {
      tempDir = await mkdtemp(join(opts.tempDir, 'extsort-'));
    } catch (err) {
      throw fsError(err, 'temp', opts.tempDir);
    }

    // Small budgets (and small inputs, where starting threads costs more than it saves)
    // sort on the main thread.
    const inline = opts.bufferSize < INLINE_BELOW || (knownSize && inputTotal <= SMALL_INPUT);
    const plan = planMemory(opts.bufferSize, opts.parallel, inline);
    pool = new Pool(plan.workers, { cfg: opts.cfg, arenaBytes: plan.arenaBytes }, inline);
    const progressView = new Float64Array(pool.progress);
    const stats: SortStats = {
      inputBytes: 0,
      outputBytes: 0,
      lines: 0,
      runs: 0,
      mergePasses: 0,
      fanIn: 0,
      workers: plan.workers,
      bufferSize: opts.bufferSize,
      tempBytesWritten: 0,
      runGenerationMs: 0,
      mergeMs: 0,
      totalMs: 0,
      peakRssBytes: 0,
    };
    const prog: SortProgress = {
      phase: 'sort',
      pass: 0,
      passes: 0,
      bytesDone: 0,
      bytesTotal: knownSize ? inputTotal : null,
      elapsedMs: 0,
    };
    let mergeBase = 0;
    if (opts.onProgress !== undefined) {
      const cb = opts.onProgress;
      progressTimer = setInterval(() => {
        prog.elapsedMs = performance.now() - t0;
        if (prog.phase === 'merge') {
          let s = 0;
          for (let i = 0; i < plan.workers; i++) s += progressView[i]!;
          prog.bytesDone = mergeBase + s;
        }
        cb({ ...prog });
      }, 200);
    }

    let abortReject: ((e: Error) => void) | null = null;
    const aborted = new Promise<never>((_, rej) => {
      abortReject = rej;
    });
    aborted.catch(() => undefined);
    const onAbort = (): void => abortReject?.(abortError());
    const failWith = (e: Error): void => abortReject?.(e);
    signal?.addEventListener('abort', onAbort, { once: true });
    // An abort before the listener existed must count too.
    if (isAborted(signal)) onAbort();
    const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, aborted]);

    // Output sink for the direct and final-merge steps.
    let finishStream: () => Promise<void> = () => Promise.resolve();
    let direct: DirectSink;
    let spool: string | null = null;
    if (dest.kind === 'file') {
      direct = { kind: 'file', path: outTemp!, compress: false };
    } else if (inline) {
      // The main thread cannot block on a stream's backpressure mid-merge: spool the
      // output to a temp file and stream that afterwards.
      spool = join(tempDir, 'output');
      await (await open(spool, 'w')).close();
      direct = { kind: 'file', path: spool, compress: false };
    } else {
      const credits = new SharedArrayBuffer(4);
      const view = new Int32Array(credits);
      Atomics.store(view, 0, PORT_CREDITS);
      const stream = dest.stream;
      let inflight = 0;
      let drained: (() => void) | null = null;
      let streamErr: Error | null = null;
      stream.on('error', (e) => {
        streamErr = e;
        failWith(fsError(e, 'write', 'standard output'));
      });
      pool.onOut = (ab, len) => {
        inflight++;
        stream.write(Buffer.from(ab, 0, len), (err) => {
          if (err) {
            streamErr = err;
            failWith(fsError(err, 'write', 'standard output'));
          }
          inflight--;
          Atomics.add(view, 0, 1);
          Atomics.notify(view, 0);
          if (inflight === 0 && drained !== null) drained();
        });
      };
      direct = { kind: 'port', credits };
      finishStream = () =>
        new Promise<void>((res, rej) => {
          const done = (): void => (streamErr !== null ? rej(streamErr) : res());
          if (inflight === 0) done();
          else drained = done;
        });
    }

    // ---- run generation ----------------------------------------------------------
    const runs: Run[] = [];
    const buffers: ArrayBuffer[] = [];
    const freeBuffers: ArrayBuffer[] = [];
    const bufferWaiters: ((b: ArrayBuffer) => void)[] = [];
    const returnBuffer = (b: ArrayBuffer): void => {
      const w = bufferWaiters.shift();
      if (w !== undefined) w(b);
      else freeBuffers.push(b);
    };
    const getBuffer = async (): Promise<ArrayBuffer> => {
      const b = freeBuffers.pop();
      if (b !== undefined) return b;
      if (buffers.length < plan.workers + 1) {
        const nb = new ArrayBuffer(plan.chunkBytes + 1);
        buffers.push(nb);
        return nb;
      }
      return guard(new Promise<ArrayBuffer>((r) => bufferWaiters.push(r)));
    };

    // Range partitioning lets every worker take a share of the final merge: runs are
    // split at splitter lines sampled from the first chunk, each partition is merged
    // on its own, and partitions fill consecutive byte ranges of the output file.
    // Not with -u (partition sizes change) nor for stream output (strictly sequential).
    const partitions =
      plan.workers > 1 && !opts.cfg.unique && dest.kind === 'file' ? plan.workers : 1;
    let splitters: Uint8Array[] | null = partitions > 1 ? null : [];
    const sampler = new LineComparator(opts.cfg);

    let chunkSeq = 0;
    let wroteDirect = false;
    let linesSeen = 0;
    let bytesSorted = 0;
    const inflight: Promise<void>[] = [];
    const chunkInfo: { source: number; lines: number }[] = [];
    const failures: { chunk: number; err: ExtsortError; chunkLine?: number }[] = [];

    const dispatch = async (
      buf: ArrayBuffer,
      len: number,
      source: number,
      isOnly: boolean,
    ): Promise<void> => {
      const id = chunkSeq++;
      chunkInfo[id] = { source, lines: 0 };
      if (splitters === null)
        splitters = isOnly ? [] : sampleSplitters(Buffer.from(buf, 0, len), partitions, sampler);
      const w = await guard(pool!.acquire());
      const task: TaskInput = {
        type: 'sort',
        buf,
        len,
        runBase: join(tempDir!, `run-${String(id).padStart(6, '0')}`),
        compress: opts.compress,
        direct: isOnly ? direct : null,
        splitters,
      };
      const p = pool!.run(w, task, [buf]).then((reply) => {
        if (reply.type === 'error') {
          if (reply.buf !== undefined) returnBuffer(reply.buf);
          const f: { chunk: number; err: ExtsortError; chunkLine?: number } = {
            chunk: id,
            err: deserializeError(reply.error),
          };
          if (reply.chunkLine !== undefined) f.chunkLine = reply.chunkLine;
          failures.push(f);
          return;
        }
        if (reply.type !== 'sorted') return;
        returnBuffer(reply.buf);
        chunkInfo[id]!.lines = reply.lines;
        linesSeen += reply.lines;
        bytesSorted += len;
        if (reply.direct) wroteDirect = true;
        reply.runs.forEach((r, piece) => {
          runs.push({
            order: id * 65536 + piece,
            path: r.path,
            bytes: r.bytes,
            lines: r.lines,
            part: r.part,
            ints: r.ints,
          });
          stats.tempBytesWritten += r.disk;
        });
      });
      inflight.push(p);
      p.catch(() => undefined);
    };

    for (let si = 0; si < opened.length && failures.length === 0; si++) {
      const { reader } = opened[si]!;
      let leftover: Buffer | null = null;
      let first = true;
      for (;;) {
        if (failures.length > 0) break;
        let ab = await getBuffer();
        let buf = Buffer.from(ab);
        let len = 0;
        if (leftover !== null) {
          if (leftover.length > plan.chunkBytes) {
            ab = new ArrayBuffer(leftover.length * 2 + 1);
            buf = Buffer.from(ab);
          }
          leftover.copy(buf, 0);
          len = leftover.length;
          leftover = null;
        }
        // Aim chunks at what one worker sort can hold, from the average line length so far.
        const avg = linesSeen > 0 ? bytesSorted / linesSeen : 0;
        let target = plan.chunkBytes;
        if (avg > 0)
          target = Math.max(MIN_READ, Math.min(target, Math.floor(plan.lineCapacity * avg * 0.95)));
        let eof = false;
        for (;;) {
          while (len < target) {
            const n = await guard(reader.read(buf, len, Math.min(target, buf.length - 1) - len));
            if (n === 0) {
              eof = true;
              break;
            }
            len += n;
            prog.bytesDone += n;
            stats.inputBytes += n;
          }
          if (eof) break;
          const nl = buf.lastIndexOf(10, len - 1);
          if (nl >= 0) {
            if (nl + 1 < len) leftover = Buffer.from(buf.subarray(nl + 1, len));
            len = nl + 1;
            break;
          }
          // One line is longer than the chunk: grow for it (beyond the budget).
          const bigger = new ArrayBuffer(buf.length * 2);
          const nb = Buffer.from(bigger);
          buf.copy(nb, 0, 0, len);
          ab = bigger;
          buf = nb;
          target = buf.length - 1;
        }
        if (eof && len > 0 && buf[len - 1] !== 10) buf[len++] = 10;
        if (len === 0) {
          returnBuffer(ab);
          break;
        }
        const isOnly = first && eof && opened.length === 1;
        first = false;
        await dispatch(ab, len, si, isOnly);
        if (eof) break;
      }
    }
    await guard(Promise.all(inflight));
    if (failures.length > 0) throw locateFailure(failures, chunkInfo, sources);
    stats.lines = linesSeen;
    stats.runGenerationMs = performance.now() - t0;
    stats.runs = runs.length;

    // ---- merge -----------------------------------------------------------------
    const tMerge = performance.now();
    runs.sort((a, b) => a.order - b.order);
    const lendable = [...freeBuffers];
    freeBuffers.length = 0;
    const memPerMerge = (workersMerging: number): number =>
      plan.arenaBytes + lendable.reduce((a, b) => a + b.byteLength, 0) / workersMerging;
    const maxFanIn = (workersMerging: number): number =>
      Math.max(
        2,
        Math.min(
          opts.batchSize,
          Math.floor((memPerMerge(workersMerging) * 15) / 16 / MIN_READ) - 1,
        ),
      );
    // Runs of each key-range partition, in input order.
    const parts: { path: string; bytes: number; ints: boolean }[][] = Array.from(
      { length: partitions },
      () => [],
    );
    for (const r of runs) parts[r.part]!.push({ path: r.path, bytes: r.bytes, ints: r.ints });
    let seq = 0;
    // Runs `jobs` merges on the pool, each worker with its share of the lent memory.
    const runMerges = async (
      jobs: { runs: { path: string; bytes: number; ints: boolean }[]; out: DirectSink }[],
    ): Promise<{ bytes: number; disk: number }[]> => {
      const results = jobs.map(() => ({ bytes: 0, disk: 0 }));
      const lanes = Math.min(plan.workers, jobs.length);
      const share = Math.floor(lendable.length / lanes);
      const lendSets: ArrayBuffer[][] = [];
      for (let i = 0; i < lanes; i++)
        lendSets.push(lendable.splice(0, i === lanes - 1 ? lendable.length : share));
      let next = 0;
      const lane = async (lend: ArrayBuffer[]): Promise<void> => {
        let mine = lend;
        try {
          while (next < jobs.length) {
            const idx = next++;
            const job = jobs[idx]!;
            const w = await guard(pool!.acquire());
            const reply = await guard(
              pool!.run(
                w,
                {
                  type: 'merge',
                  runs: job.runs.map((r) => ({
                    path: r.path,
                    compressed: opts.compress,
                    ints: r.ints,
                  })),
                  out: job.out,
                  lend: mine,
                },
                mine,
              ),
            );
            if (reply.type === 'error') {
              mine = reply.lend ?? [];
              throw deserializeError(reply.error);
            }
            if (reply.type !== 'merged') continue;
            mine = reply.lend;
            results[idx] = { bytes: reply.bytes, disk: reply.disk };
            mergeBase += reply.bytes;
          }
        } finally {
          lendable.push(...mine);
        }
      };
      await Promise.all(lendSets.map(lane));
      return results;
    };

    if (!wroteDirect) {
      const total = runs.reduce((a, r) => a + r.bytes, 0);
      if (runs.length === 0) {
        if (dest.kind === 'file') {
          const fh = await open(outTemp!, 'w');
          await fh.close();
        }
      } else {
        const finalFanIn = maxFanIn(partitions);
        const passFanIn = maxFanIn(plan.workers);
        let passes = 1;
        for (const p of parts) {
          let n = p.length;
          let k = 1;
          while (n > finalFanIn) {
            n = Math.ceil(n / passFanIn);
            k++;
          }
          passes = Math.max(passes, k);
        }
        prog.phase = 'merge';
        prog.passes = passes;
        // Intermediate passes: merge consecutive groups (keeps stability) per partition.
        while (parts.some((p) => p.length > finalFanIn)) {
          prog.pass++;
          stats.mergePasses++;
          prog.bytesTotal = 0;
          mergeBase = 0;
          progressView.fill(0);
          const jobs: {
            runs: { path: string; bytes: number; ints: boolean }[];
            out: DirectSink;
          }[] = [];
          const slots: { part: number; index: number }[] = [];
          const nextParts: { path: string; bytes: number; ints: boolean }[][] = parts.map(() => []);
          parts.forEach((p, pi) => {
            if (p.length <= finalFanIn) {
              nextParts[pi] = p;
              return;
            }
            // When one merge of the first `excess` runs brings the count down to the
            // final fan-in, merge only those (e.g. 2 of 257 runs, not all 257).
            const excess = p.length - finalFanIn + 1;
            const justOne = excess <= passFanIn;
            for (let i = 0; i < p.length;) {
              const size = justOne ? (i === 0 ? excess : 1) : passFanIn;
              const group = p.slice(i, i + size);
              i += size;
              if (group.length === 1) {
                nextParts[pi]!.push(group[0]!);
                continue;
              }
              const path = join(tempDir!, `merge-${String(seq++).padStart(6, '0')}`);
              slots.push({ part: pi, index: nextParts[pi]!.length });
              const ints = group.every((r) => r.ints);
              nextParts[pi]!.push({ path, bytes: 0, ints });
              jobs.push({
                runs: group,
                out: { kind: 'file', path, compress: opts.compress, ints },
              });
              prog.bytesTotal = (prog.bytesTotal ?? 0) + group.reduce((a, r) => a + r.bytes, 0);
            }
          });
          const bytes = await runMerges(jobs);
          jobs.forEach((job, j) => {
            const slot = slots[j]!;
            nextParts[slot.part]![slot.index]!.bytes = bytes[j]!.bytes;
            stats.tempBytesWritten += bytes[j]!.disk;
          });
          await Promise.all(
            jobs.flatMap((job) => job.runs.map((r) => unlink(r.path).catch(() => undefined))),
          );
          for (let pi = 0; pi < parts.length; pi++) parts[pi] = nextParts[pi]!;
        }
        // Final pass: each partition merged by its own worker into its byte range of the output.
        prog.pass++;
        stats.mergePasses++;
        prog.bytesTotal = total;
        mergeBase = 0;
        progressView.fill(0);
        stats.fanIn = Math.max(...parts.map((p) => p.length));
        const jobs: { runs: { path: string; bytes: number; ints: boolean }[]; out: DirectSink }[] =
          [];
        let offset = 0;
        for (const p of parts) {
          if (p.length === 0) continue;
          const out: DirectSink =
            partitions > 1 && direct.kind === 'file' ? { ...direct, position: offset } : direct;
          jobs.push({ runs: p, out });
          offset += p.reduce((a, r) => a + r.bytes, 0);
        }
        await runMerges(jobs);
      }
    }
    if (dest.kind === 'stream' && spool !== null) {
      await guard(pipeline(createReadStream(spool), dest.stream, { end: dest.end }));
    } else if (dest.kind === 'stream') {
      await guard(finishStream());
      if (dest.end) await new Promise<void>((res) => dest.stream.end(res));
    }
    stats.mergeMs = performance.now() - tMerge;
    signal?.removeEventListener('abort', onAbort);

    await cleanup();
    pool = null;
    tempDir = null;
    if (dest.kind === 'file') {
      try {
        await rename(outTemp!, dest.path);
      } catch (err) {
        throw fsError(err, 'write', dest.path);
      }
      outTemp = null;
      const st = await stat(dest.path);
      stats.outputBytes = st.size;
    } else {
      stats.outputBytes = stats.inputBytes;
    }
    stats.totalMs = performance.now() - t0;
    stats.peakRssBytes = peakRss();
    return stats;
  } catch (err) {
    await cleanup().catch(() => undefined);
    if (outTemp !== null) await rm(outTemp, { force: true }).catch(() => undefined);
    outTemp = null;
    throw err;
  } finally {
    process.removeListener('exit', exitGuard);
  }
}

function rmSyncQuiet(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/**
 * Picks `parts - 1` splitter lines at even quantiles of a sample of the chunk. Any
 * splitters give a correct result; good ones only balance the partitions' work.
 */
function sampleSplitters(data: Buffer, parts: number, cmp: LineComparator): Uint8Array[] {
  const want = 1024;
  const sample: { s: number; e: number }[] = [];
  const step = Math.max(1, Math.floor(data.length / want));
  let last = -1;
  for (let at = 0; at < data.length; at += step) {
    const s = at === 0 ? 0 : data.indexOf(10, at - 1) + 1;
    if (s <= last || (s <= 0 && at > 0) || s >= data.length) continue;
    last = s;
    sample.push({ s, e: lineEnd(data, s) });
  }
  sample.sort((a, b) => cmp.compare(data, a.s, a.e, data, b.s, b.e));
  const out: Uint8Array[] = [];
  for (let k = 1; k < parts; k++) {
    const pick = sample[Math.floor((k * sample.length) / parts)];
    if (pick !== undefined) out.push(Uint8Array.from(data.subarray(pick.s, pick.e)));
  }
  return out;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * Peak resident set size of this process. Linux's getrusage maxrss survives exec (a
 * child inherits its parent's peak), so read the current image's VmHWM when possible.
 */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall back to getrusage.
  }
  return process.resourceUsage().maxRSS * 1024;
}

function abortError(): ExtsortError {
  return new ExtsortError('ABORTED', 'sort aborted');
}

function locateFailure(
  failures: { chunk: number; err: ExtsortError; chunkLine?: number }[],
  chunks: { source: number; lines: number }[],
  sources: Source[],
): ExtsortError {
  failures.sort((a, b) => a.chunk - b.chunk);
  const f = failures[0]!;
  if (f.chunkLine === undefined) return f.err;
  const source = chunks[f.chunk]!.source;
  let line = f.chunkLine;
  for (let c = 0; c < f.chunk; c++) if (chunks[c]!.source === source) line += chunks[c]!.lines;
  const s = sources[source]!;
  const name = s.kind === 'file' ? s.path : s.name;
  return new ExtsortError(f.err.code, `${name}:${line}: ${f.err.message}`, { path: name, line });
}
