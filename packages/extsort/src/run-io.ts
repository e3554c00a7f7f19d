import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { MessagePort } from 'node:worker_threads';

/*
 * Synchronous, large-block file I/O for worker threads. Workers own a whole core, so
 * blocking reads and writes are the cheapest way to stream runs: no promise or event
 * loop work per block, and the main thread stays free for signals and progress.
 *
 * Compressed runs are framed as [rawLength u32][compressedLength u32][deflate-raw data]
 * so they can be read back block by block without a streaming inflater.
 */

const NL = 10;

/** "00" … "99" as ASCII bytes. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = 48 + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = 48 + (i % 10);
}
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Decimal digits of a non-negative integer below 10^15. */
export function intDigits(v: number): number {
  let d = 1;
  while (d < 15 && v >= POW10[d]!) d++;
  return d;
}

/** Bytes of an integer's canonical decimal line (sign, digits, newline). */
export function intLineBytes(v: number): number {
  return v < 0 ? intDigits(-v) + 2 : intDigits(v) + 1;
}

/** Where a writer's bytes go: a file descriptor, or the parent thread (stdout/streams). */
export type Sink =
  | { kind: 'fd'; fd: number; path: string; position: number | null }
  | { kind: 'port'; port: MessagePort; credits: Int32Array };

/** Writes newline-terminated lines through one large buffer. */
export class LineWriter {
  private buf: Buffer;
  private pos = 0;
  bytes = 0;
  lines = 0;
  private readonly sink: Sink;
  private readonly compress: boolean;
  private readonly size: number;

  constructor(sink: Sink, buffer: Buffer, compress: boolean) {
    this.sink = sink;
    this.compress = compress;
    this.size = buffer.length;
    this.buf = sink.kind === 'port' ? Buffer.from(new ArrayBuffer(this.size)) : buffer;
  }

  writeLine(src: Buffer, s: number, e: number): void {
    const len = e - s + 1;
    if (this.pos + len > this.buf.length) {
      this.flush();
      if (len > this.buf.length) this.buf = Buffer.from(new ArrayBuffer(len));
    }
    const buf = this.buf;
    let p = this.pos;
    if (len < 48) {
      // Short lines: a byte loop beats the native call overhead of Buffer#copy.
      for (let i = s; i < e; i++) buf[p++] = src[i]!;
    } else {
      src.copy(buf, p, s, e);
      p += e - s;
    }
    buf[p++] = NL;
    this.pos = p;
    this.bytes += len;
    this.lines++;
  }

  /** Writes an integer (|value| < 2^53) in canonical decimal form and a newline. */
  writeInt(value: number): void {
    if (this.pos + 24 > this.buf.length) this.flush();
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let v = value;
    if (v < 0) {
      buf[p++] = 45;
      v = -v;
    }
    p += intDigits(v);
    let q = p;
    // Two digits per step from a table; 32-bit arithmetic once the value fits.
    while (v >= 2147483648) {
      const d = Math.floor(v / 100);
      const r = (v - d * 100) * 2;
      buf[--q] = DIGIT_PAIRS[r + 1]!;
      buf[--q] = DIGIT_PAIRS[r]!;
      v = d;
    }
    let w = v | 0;
    while (w >= 100) {
      const d = (w / 100) | 0;
      const r = (w - d * 100) * 2;
      buf[--q] = DIGIT_PAIRS[r + 1]!;
      buf[--q] = DIGIT_PAIRS[r]!;
      w = d;
    }
    if (w >= 10) {
      buf[--q] = DIGIT_PAIRS[w * 2 + 1]!;
      buf[--q] = DIGIT_PAIRS[w * 2]!;
    } else buf[--q] = 48 + w;
    buf[p++] = NL;
    this.pos = p;
    this.bytes += p - start;
    this.lines++;
  }

  /** Writes an integer key (0 ≤ key < 2^53) as a 64-bit little-endian value. */
  writeKey(key: number): void {
    if (this.pos + 8 > this.buf.length) this.flush();
    const lo = key >>> 0;
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE((key - lo) / 4294967296, this.pos + 4);
    this.pos += 8;
    this.bytes += 8;
    this.lines++;
  }

  /** Writes raw bytes (`lines` records) through the buffer or, when large, directly. */
  writeRaw(src: Uint8Array, lines: number): void {
    if (this.sink.kind === 'fd' && !this.compress && src.length >= this.buf.length) {
      this.flush();
      writeAll(this.sink, src);
    } else {
      let off = 0;
      while (off < src.length) {
        if (this.pos === this.buf.length) this.flush();
        const n = Math.min(src.length - off, this.buf.length - this.pos);
        this.buf.set(src.subarray(off, off + n), this.pos);
        this.pos += n;
        off += n;
      }
    }
    this.bytes += src.length;
    this.lines += lines;
  }

  /** Writes the newline-terminated line starting at `s` (newline included). */
  writeLineFrom(src: Buffer, s: number): void {
    const buf = this.buf;
    let p = this.pos;
    // Copy short lines byte by byte while looking for the newline: one pass, no call.
    if (p + 64 <= buf.length) {
      for (let i = s, stop = s + 64; i < stop; i++) {
        const c = src[i]!;
        buf[p++] = c;
        if (c === NL) {
          this.bytes += p - this.pos;
          this.pos = p;
          this.lines++;
          return;
        }
      }
    }
    const e = src.indexOf(NL, s);
    this.writeLine(src, s, e);
  }

  flush(): void {
    if (this.pos === 0) return;
    let data = this.buf.subarray(0, this.pos);
    if (this.compress) {
      const z = deflateRawSync(data, { level: 1 });
      const head = Buffer.allocUnsafe(8);
      head.writeUInt32LE(data.length, 0);
      head.writeUInt32LE(z.length, 4);
      writeAll(this.sink, head);
      data = z;
    }
    if (this.sink.kind === 'port') {
      const sink = this.sink;
      // Backpressure: block until the parent has flushed an earlier buffer.
      for (;;) {
        const c = Atomics.load(sink.credits, 0);
        if (c > 0) {
          if (Atomics.compareExchange(sink.credits, 0, c, c - 1) === c) break;
          continue;
        }
        Atomics.wait(sink.credits, 0, c, 1000);
      }
      const ab = this.buf.buffer as ArrayBuffer;
      sink.port.postMessage({ type: 'out', buf: ab, len: this.pos }, [ab]);
      this.buf = Buffer.from(new ArrayBuffer(this.size));
    } else {
      writeAll(this.sink, data);
    }
    this.pos = 0;
  }

  close(): void {
    this.flush();
    if (this.sink.kind === 'fd') closeSync(this.sink.fd);
  }

  /** Closes without flushing (after a failure). */
  abort(): void {
    if (this.sink.kind === 'fd') {
      try {
        closeSync(this.sink.fd);
      } catch {
        // Already failing; the original error is the one to report.
      }
    }
  }
}

function writeAll(sink: Sink, data: Uint8Array): void {
  if (sink.kind !== 'fd') return;
  let off = 0;
  while (off < data.length) {
    const n = writeSync(sink.fd, data, off, data.length - off, sink.position);
    off += n;
    if (sink.position !== null) sink.position += n;
  }
}

/** Reads newline-terminated lines from a (possibly compressed) run file. */
export class LineReader {
  buf: Buffer;
  /** Buffer holding the current line: `buf`, or a scratch buffer (KeyReader). */
  lb: Buffer;
  /** Current line, without its newline. */
  ls = 0;
  le = 0;
  protected pos = 0;
  protected end = 0;
  protected eof = false;
  private readonly fd: number;
  private readonly compressed: boolean;
  private readonly head = Buffer.alloc(8);
  readonly path: string;

  constructor(path: string, buffer: Buffer, compressed: boolean) {
    this.path = path;
    this.fd = openSync(path, 'r');
    this.buf = buffer;
    this.lb = buffer;
    this.compressed = compressed;
  }

  /** Advances to the next line; false at the end of the file. */
  next(): boolean {
    for (;;) {
      const buf = this.buf;
      const pos = this.pos;
      const end = this.end;
      let nl = -1;
      const stop = pos + 32 < end ? pos + 32 : end;
      let i = pos;
      for (; i < stop; i++) {
        if (buf[i] === NL) {
          nl = i;
          break;
        }
      }
      if (nl < 0 && i < end) {
        nl = buf.indexOf(NL, i);
        if (nl >= end) nl = -1;
      }
      if (nl >= 0) {
        this.ls = pos;
        this.le = nl;
        this.pos = nl + 1;
        return true;
      }
      if (this.eof) {
        if (pos < end) {
          this.ls = pos;
          this.le = end;
          this.pos = end;
          return true;
        }
        return false;
      }
      this.refill();
    }
  }

  protected refill(): void {
    const rest = this.end - this.pos;
    if (this.pos > 0 && rest > 0) this.buf.copy(this.buf, 0, this.pos, this.end);
    this.pos = 0;
    this.end = rest;
    if (this.compressed) {
      if (readFully(this.fd, this.head, 0, 8) < 8) {
        this.eof = true;
        return;
      }
      const rawLen = this.head.readUInt32LE(0);
      const zLen = this.head.readUInt32LE(4);
      const z = Buffer.allocUnsafe(zLen);
      readFully(this.fd, z, 0, zLen);
      this.ensure(rest + rawLen);
      const raw = inflateRawSync(z);
      raw.copy(this.buf, rest);
      this.end = rest + raw.length;
      return;
    }
    if (rest === this.buf.length) this.ensure(this.buf.length * 2);
    const n = readSync(this.fd, this.buf, rest, this.buf.length - rest, null);
    if (n === 0) this.eof = true;
    this.end = rest + n;
  }

  private ensure(size: number): void {
    if (size <= this.buf.length) return;
    // A line longer than the read buffer: grow beyond the budget for this one line.
    const next = Buffer.allocUnsafeSlow(Math.max(size, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.end);
    this.buf = next;
    this.lb = next;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Reads a binary integer run: one unsigned 64-bit little-endian value per line, the
 * line's exact sort key. `next()` also renders the line as text (into a scratch
 * buffer), so such a run can be merged with text runs by the generic merge; `take()`
 * hands out whole blocks of keys for the integer merge.
 */
export class KeyReader extends LineReader {
  key = 0;
  /** After `take()`: the keys as lo/hi pairs in `u32[start .. start + 2 * count)`. */
  u32: Uint32Array;
  start = 0;
  private readonly scratch = Buffer.allocUnsafe(32);
  private readonly render: (key: number) => number;

  /** `render(key)` gives the line's integer value for a key. */
  constructor(path: string, buffer: Buffer, compressed: boolean, render: (key: number) => number) {
    super(path, buffer, compressed);
    this.render = render;
    if (buffer.byteOffset % 4 !== 0) throw new Error('KeyReader needs an aligned buffer');
    this.u32 = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.length >> 2);
  }

  /** Advances to the next key; false at the end of the file. */
  nextKey(): boolean {
    while (this.pos + 8 > this.end) {
      if (this.eof) return false;
      this.refill();
    }
    const buf = this.buf;
    this.key = buf.readUInt32LE(this.pos + 4) * 4294967296 + buf.readUInt32LE(this.pos);
    this.pos += 8;
    return true;
  }

  /**
   * Consumes every whole key in the buffer (reading more first when there is none)
   * and returns their count, 0 at the end of the file. The keys stay valid until the
   * next call.
   */
  take(): number {
    while (this.pos + 8 > this.end) {
      if (this.eof) return 0;
      this.refill();
    }
    if (this.u32.buffer !== this.buf.buffer || this.u32.byteOffset !== this.buf.byteOffset)
      this.u32 = new Uint32Array(this.buf.buffer, this.buf.byteOffset, this.buf.length >> 2);
    const count = (this.end - this.pos) >> 3;
    this.start = this.pos >> 2;
    this.pos += count * 8;
    return count;
  }

  override next(): boolean {
    if (!this.nextKey()) return false;
    const out = this.scratch;
    let v = this.render(this.key);
    let p = 0;
    if (v < 0) {
      out[p++] = 45;
      v = -v;
    }
    p += intDigits(v);
    this.lb = out;
    this.ls = 0;
    this.le = p;
    do {
      const d = Math.floor(v / 10);
      out[--p] = 48 + (v - d * 10);
      v = d;
    } while (v > 0);
    return true;
  }
}

function readFully(fd: number, buf: Buffer, off: number, len: number): number {
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, off + got, len - got, null);
    if (n === 0) break;
    got += n;
  }
  return got;
}
