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

  /** Writes an integer in canonical decimal form and a newline. */
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
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let q = p + digits;
    p = q;
    do {
      const d = Math.floor(v / 10);
      buf[--q] = 48 + (v - d * 10);
      v = d;
    } while (v > 0);
    buf[p++] = NL;
    this.pos = p;
    this.bytes += p - start;
    this.lines++;
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

function writeAll(sink: Sink, data: Buffer): void {
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
  /** Current line, without its newline. */
  ls = 0;
  le = 0;
  private pos = 0;
  private end = 0;
  private eof = false;
  private readonly fd: number;
  private readonly compressed: boolean;
  private readonly head = Buffer.alloc(8);
  readonly path: string;

  constructor(path: string, buffer: Buffer, compressed: boolean) {
    this.path = path;
    this.fd = openSync(path, 'r');
    this.buf = buffer;
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

  private refill(): void {
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
  }

  close(): void {
    closeSync(this.fd);
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
