import { ExtsortError } from './errors.js';
import type { CompareConfig, KeyField } from './keyspec.js';
import { BLANK, isStrictNumber, numCompare, numValue } from './numeric.js';

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const EMPTY = Buffer.alloc(0);
/** Integers below this magnitude fit the 40-bit key exactly (offset binary). */
export const INT_KEY_LIMIT = 2 ** 39;

/**
 * GNU sort's line comparison (`compare()` + `keycompare()` in coreutils sort.c) for the
 * C locale, plus a 40-bit order-preserving "prefix" of the first key that lets the hot
 * paths sort and merge on plain integers and only call `compare` on prefix ties.
 */
export class LineComparator {
  readonly cfg: CompareConfig;
  readonly hasKeys: boolean;
  /** First key compares bytes (not numbers), so deeper prefixes refine ties. */
  readonly byteRefinable: boolean;
  private readonly first: KeyField | undefined;
  /** Prefixes (and exact integer keys) are inverted: the first key is reversed. */
  readonly invertPrefix: boolean;
  private readonly json: boolean;
  /** `-n` on the whole line: the hot numeric case gets an inlined parser. */
  readonly wholeLineNumeric: boolean;
  /** Out-parameters of `prefix` (avoids allocating per line). */
  pH = 0;
  pL = 0;
  // Out-parameters of key extraction.
  private kb: Buffer = EMPTY;
  private ks = 0;
  private ke = 0;

  constructor(cfg: CompareConfig) {
    this.cfg = cfg;
    this.hasKeys = cfg.keys.length > 0;
    this.first = cfg.keys[0];
    this.json = cfg.jsonPath !== null;
    this.byteRefinable = this.first === undefined || !this.first.numeric;
    this.invertPrefix = this.first === undefined ? cfg.reverse : this.first.reverse;
    const f = this.first;
    this.wholeLineNumeric =
      f !== undefined &&
      !this.json &&
      f.numeric &&
      f.sword === -1 &&
      f.eword === -1 &&
      !f.skipStartBlanks;
  }

  /** Three-way comparison of two lines (without their newline). */
  compare(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): number {
    const cfg = this.cfg;
    if (this.hasKeys) {
      const d = this.keyCompare(a, as, ae, b, bs, be);
      if (d !== 0 || cfg.unique || cfg.stable) return d;
    }
    const d = a.compare(b, bs, be, as, ae);
    return cfg.reverse ? -d : d;
  }

  private keyCompare(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): number {
    const keys = this.cfg.keys;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.keyRange(key, i === 0, a, as, ae);
      const ab = this.kb;
      const aks = this.ks;
      const ake = this.ke;
      this.keyRange(key, i === 0, b, bs, be);
      let d: number;
      if (key.numeric) d = numCompare(ab, aks, ake, this.kb, this.ks, this.ke);
      else d = ab.compare(this.kb, this.ks, this.ke, aks, ake);
      if (d !== 0) return key.reverse ? -d : d;
    }
    return 0;
  }

  /** Sets kb/ks/ke to the key's bytes within the line (GNU begfield/limfield). */
  private keyRange(key: KeyField, first: boolean, buf: Buffer, s: number, e: number): void {
    if (this.json) {
      this.kb = this.jsonKey(buf, s, e);
      this.ks = 0;
      this.ke = this.kb.length;
      return;
    }
    const lim = key.eword === -1 ? e : this.limField(key, buf, s, e);
    let ptr: number;
    if (key.sword !== -1) {
      ptr = this.begField(key, buf, s, e);
    } else {
      ptr = s;
      if (key.skipStartBlanks) {
        const stop = first ? e : lim;
        while (ptr < stop && BLANK[buf[ptr]!] === 1) ptr++;
      }
    }
    this.kb = buf;
    this.ks = ptr;
    this.ke = lim > ptr ? lim : ptr;
  }

  private begField(key: KeyField, buf: Buffer, s: number, e: number): number {
    let ptr = s;
    let sword = key.sword;
    const tab = this.cfg.tab;
    if (tab !== -1) {
      while (ptr < e && sword-- > 0) {
        while (ptr < e && buf[ptr] !== tab) ptr++;
        if (ptr < e) ptr++;
      }
    } else {
      while (ptr < e && sword-- > 0) {
        while (ptr < e && BLANK[buf[ptr]!] === 1) ptr++;
        while (ptr < e && BLANK[buf[ptr]!] !== 1) ptr++;
      }
    }
    if (key.skipStartBlanks) while (ptr < e && BLANK[buf[ptr]!] === 1) ptr++;
    return Math.min(e, ptr + key.schar);
  }

  private limField(key: KeyField, buf: Buffer, s: number, e: number): number {
    let ptr = s;
    let eword = key.eword;
    const echar = key.echar;
    const tab = this.cfg.tab;
    if (echar === 0) eword++;
    if (tab !== -1) {
      while (ptr < e && eword-- > 0) {
        while (ptr < e && buf[ptr] !== tab) ptr++;
        if (ptr < e && (eword > 0 || echar !== 0)) ptr++;
      }
    } else {
      while (ptr < e && eword-- > 0) {
        while (ptr < e && BLANK[buf[ptr]!] === 1) ptr++;
        while (ptr < e && BLANK[buf[ptr]!] !== 1) ptr++;
      }
    }
    if (echar !== 0) {
      if (key.skipEndBlanks) while (ptr < e && BLANK[buf[ptr]!] === 1) ptr++;
      ptr = Math.min(e, ptr + echar);
    }
    return ptr;
  }

  /**
   * Sets pH (32 bits) and pL (8 bits) to a 40-bit prefix of the first key such that a
   * smaller prefix always means an earlier line. `depth` selects bytes 5*depth.. of a
   * byte key, to refine groups that tie on the earlier bytes.
   */
  prefix(buf: Buffer, s: number, e: number, depth: number): void {
    let kb: Buffer = buf;
    let ks = s;
    let ke = e;
    const first = this.first;
    if (this.wholeLineNumeric) {
      // Plain integers of up to 15 digits (the common case) without the general parser.
      let p = s;
      while (p < e && BLANK[buf[p]!] === 1) p++;
      let neg = false;
      if (p < e && buf[p] === 45) {
        neg = true;
        p++;
      }
      const digitsStart = p;
      let v = 0;
      while (p < e) {
        const c = buf[p]! - 48;
        if (c < 0 || c > 9) break;
        v = v * 10 + c;
        p++;
      }
      if (p - digitsStart <= 15 && (p === e || buf[p] !== 46)) {
        this.setNumericPrefix(neg && v !== 0 ? -v : v);
        return;
      }
    }
    if (first !== undefined) {
      this.keyRange(first, true, buf, s, e);
      kb = this.kb;
      ks = this.ks;
      ke = this.ke;
    }
    let h: number;
    let l: number;
    if (first !== undefined && first.numeric) {
      this.setNumericPrefix(numValue(kb, ks, ke));
      return;
    } else {
      const p = ks + depth * 5;
      const n = ke - p;
      if (n >= 5) {
        h = ((kb[p]! << 24) | (kb[p + 1]! << 16) | (kb[p + 2]! << 8) | kb[p + 3]!) >>> 0;
        l = kb[p + 4]!;
      } else {
        h = 0;
        l = 0;
        if (n > 0) h = kb[p]! << 24;
        if (n > 1) h |= kb[p + 1]! << 16;
        if (n > 2) h |= kb[p + 2]! << 8;
        if (n > 3) h |= kb[p + 3]!;
        h >>>= 0;
      }
    }
    if (this.invertPrefix) {
      h = ~h >>> 0;
      l = 255 - l;
    }
    this.pH = h;
    this.pL = l;
  }

  private setNumericPrefix(v: number): void {
    // IEEE-754 bits made order-preserving as unsigned: flip all bits of negatives,
    // set the sign bit of positives (-0 was normalized to 0 by the callers).
    F64[0] = v;
    let h = U32[1]!;
    let l = U32[0]! >>> 24;
    if ((h & 0x80000000) !== 0) {
      h = ~h >>> 0;
      l = 255 - l;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    if (this.invertPrefix) {
      h = ~h >>> 0;
      l = 255 - l;
    }
    this.pH = h;
    this.pL = l;
  }

  /**
   * For `-n` on whole lines: the line's value when the line is exactly the canonical
   * text of an integer below 2^39 in magnitude (`-12`, `0`, `40`, not `012`, `+1`,
   * `-0`, ` 5`), else NaN. Such a line is fully determined by its value, so a sort
   * can carry the value in its key and rewrite the line from it.
   */
  canonicalInt(buf: Buffer, s: number, e: number): number {
    let p = s;
    let neg = false;
    if (p < e && buf[p] === 45) {
      neg = true;
      p++;
    }
    const n = e - p;
    if (n === 0 || n > 12) return NaN;
    if (buf[p] === 48) return n === 1 && !neg ? 0 : NaN;
    let v = 0;
    for (; p < e; p++) {
      const c = buf[p]! - 48;
      if (c < 0 || c > 9) return NaN;
      v = v * 10 + c;
    }
    if (v >= INT_KEY_LIMIT) return NaN;
    return neg ? -v : v;
  }

  /** Sets pH/pL to an exact 40-bit key for a canonical integer (see canonicalInt). */
  intPrefix(v: number): void {
    let key = v + INT_KEY_LIMIT;
    if (this.invertPrefix) key = INT_KEY_LIMIT * 2 - 1 - key;
    this.pH = Math.floor(key / 256);
    this.pL = key & 255;
  }

  /** The integer whose exact key (`pH * 256 + pL` from intPrefix) is `key`. */
  intFromKey(key: number): number {
    return (this.invertPrefix ? INT_KEY_LIMIT * 2 - 1 - key : key) - INT_KEY_LIMIT;
  }

  /** Inverse of intPrefix. */
  intFromPrefix(h: number, l: number): number {
    let key = h * 256 + l;
    if (this.invertPrefix) key = INT_KEY_LIMIT * 2 - 1 - key;
    return key - INT_KEY_LIMIT;
  }

  /** Byte length of the first key (the whole line when there are no keys). */
  firstKeyLength(buf: Buffer, s: number, e: number): number {
    if (this.first === undefined) return e - s;
    this.keyRange(this.first, true, buf, s, e);
    return this.ke - this.ks;
  }

  /**
   * Under `--strict`, the reason this line is rejected, or null when it is fine.
   * Without `--strict` GNU behaviour applies: bad numbers count as 0.
   */
  problem(
    buf: Buffer,
    s: number,
    e: number,
  ): { code: 'INVALID_NUMBER' | 'INVALID_JSON'; why: string } | null {
    if (this.json) {
      const parsed = this.parseJson(buf, s, e);
      if (parsed === INVALID) return { code: 'INVALID_JSON', why: 'line is not valid JSON' };
      const v = walk(parsed, this.cfg.jsonPath!);
      if (v === undefined)
        return { code: 'INVALID_JSON', why: `key '${this.cfg.jsonPath!.join('.')}' is missing` };
      if (this.cfg.jsonNumeric) {
        const t = jsonKeyText(v, true);
        if (!isStrictNumber(t, 0, t.length))
          return { code: 'INVALID_NUMBER', why: 'key is not a number' };
      }
      return null;
    }
    const keys = this.cfg.keys;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!key.numeric) continue;
      this.keyRange(key, i === 0, buf, s, e);
      if (!isStrictNumber(this.kb, this.ks, this.ke)) {
        return {
          code: 'INVALID_NUMBER',
          why: `invalid number '${printable(this.kb, this.ks, this.ke)}'`,
        };
      }
    }
    return null;
  }

  private parseJson(buf: Buffer, s: number, e: number): unknown {
    try {
      return JSON.parse(buf.toString('utf8', s, e)) as unknown;
    } catch {
      return INVALID;
    }
  }

  private jsonKey(buf: Buffer, s: number, e: number): Buffer {
    const parsed = this.parseJson(buf, s, e);
    if (parsed === INVALID) return EMPTY;
    return jsonKeyText(walk(parsed, this.cfg.jsonPath!), this.cfg.jsonNumeric);
  }
}

const INVALID = Symbol('invalid');

function walk(value: unknown, path: string[]): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/**
 * The bytes a JSON value sorts by: strings by their UTF-8 bytes, numbers by a plain
 * decimal rendering (so `-n` compares them exactly), anything else as an empty key.
 */
function jsonKeyText(v: unknown, numeric: boolean): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'number' && Number.isFinite(v))
    return Buffer.from(plainDecimal(v, numeric), 'latin1');
  if (typeof v === 'boolean') return Buffer.from(String(v), 'latin1');
  return EMPTY;
}

function plainDecimal(v: number, numeric: boolean): string {
  const s = String(v);
  if (!numeric || !s.includes('e')) return s;
  if (Math.abs(v) >= 1) return BigInt(v).toString();
  return v.toFixed(100).replace(/0+$/, '');
}

function printable(buf: Buffer, s: number, e: number): string {
  const text = buf.toString('utf8', s, Math.min(e, s + 40));
  return e - s > 40 ? `${text}...` : text;
}

export function strictError(
  code: 'INVALID_NUMBER' | 'INVALID_JSON',
  why: string,
  file: string,
  line: number,
): ExtsortError {
  return new ExtsortError(code, `${file}:${line}: ${why}`, { path: file, line });
}
