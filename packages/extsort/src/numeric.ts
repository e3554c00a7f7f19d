/*
 * Numeric keys with GNU `sort -n` semantics in the C locale: optional leading blanks
 * (space, tab), an optional '-', digits, an optional '.' and fraction digits. Anything
 * after that is ignored, and a key with no digits is zero ("abc", "", "+5", "-").
 * There are no thousands separators in the C locale.
 */

const BLANK = new Uint8Array(256);
BLANK[32] = 1;
BLANK[9] = 1;
export { BLANK };

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

// Parsed form: [negative, intStart, intEnd, fracStart, fracEnd] with leading integer
// zeros and trailing fraction zeros already trimmed.
const SA = new Int32Array(5);
const SB = new Int32Array(5);

function parse(buf: Uint8Array, s: number, e: number, out: Int32Array): void {
  while (s < e && BLANK[buf[s]!] === 1) s++;
  let neg = 0;
  if (s < e && buf[s] === 45) {
    neg = 1;
    s++;
  }
  while (s < e && buf[s] === 48) s++;
  const intStart = s;
  while (s < e) {
    const c = buf[s]!;
    if (c < 48 || c > 57) break;
    s++;
  }
  const intEnd = s;
  let fracStart = s;
  let fracEnd = s;
  if (s < e && buf[s] === 46) {
    s++;
    fracStart = s;
    while (s < e) {
      const c = buf[s]!;
      if (c < 48 || c > 57) break;
      s++;
    }
    fracEnd = s;
    while (fracEnd > fracStart && buf[fracEnd - 1] === 48) fracEnd--;
  }
  out[0] = neg;
  out[1] = intStart;
  out[2] = intEnd;
  out[3] = fracStart;
  out[4] = fracEnd;
}

/** Exact three-way comparison of two numeric keys, like GNU strnumcmp. */
export function numCompare(
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number,
): number {
  parse(a, as, ae, SA);
  parse(b, bs, be, SB);
  const aInt = SA[2]! - SA[1]!;
  const aFrac = SA[4]! - SA[3]!;
  const bInt = SB[2]! - SB[1]!;
  const bFrac = SB[4]! - SB[3]!;
  const aSign = aInt === 0 && aFrac === 0 ? 0 : SA[0] === 1 ? -1 : 1;
  const bSign = bInt === 0 && bFrac === 0 ? 0 : SB[0] === 1 ? -1 : 1;
  if (aSign !== bSign) return aSign < bSign ? -1 : 1;
  if (aSign === 0) return 0;
  let m: number;
  if (aInt !== bInt) {
    m = aInt < bInt ? -1 : 1;
  } else {
    m = 0;
    for (let i = 0; i < aInt; i++) {
      const d = a[SA[1]! + i]! - b[SB[1]! + i]!;
      if (d !== 0) {
        m = d < 0 ? -1 : 1;
        break;
      }
    }
    if (m === 0) {
      const n = aFrac < bFrac ? aFrac : bFrac;
      for (let i = 0; i < n; i++) {
        const d = a[SA[3]! + i]! - b[SB[3]! + i]!;
        if (d !== 0) {
          m = d < 0 ? -1 : 1;
          break;
        }
      }
      if (m === 0 && aFrac !== bFrac) m = aFrac < bFrac ? -1 : 1;
    }
  }
  if (m === 0) return 0;
  return aSign > 0 ? m : -m;
}

/**
 * The key's value as a double, correctly rounded so that it is monotone in the exact
 * value: `numValue(a) < numValue(b)` implies `numCompare(a, b) < 0`. Equal doubles say
 * nothing, so callers fall back to `numCompare` on ties.
 */
export function numValue(buf: Uint8Array, s: number, e: number): number {
  parse(buf, s, e, SA);
  const intStart = SA[1]!;
  const intEnd = SA[2]!;
  const fracStart = SA[3]!;
  const fracEnd = SA[4]!;
  const intLen = intEnd - intStart;
  const fracLen = fracEnd - fracStart;
  let v: number;
  if (intLen + fracLen <= 15) {
    // Up to 15 digits fit a double exactly, and 10^k is exact for k <= 22, so one
    // IEEE division gives the correctly rounded value.
    let m = 0;
    for (let i = intStart; i < intEnd; i++) m = m * 10 + (buf[i]! - 48);
    for (let i = fracStart; i < fracEnd; i++) m = m * 10 + (buf[i]! - 48);
    v = fracLen === 0 ? m : m / POW10[fracLen]!;
  } else {
    let text = intLen === 0 ? '0' : latin1(buf, intStart, intEnd);
    if (fracLen > 0) text += '.' + latin1(buf, fracStart, fracEnd);
    v = Number.parseFloat(text);
  }
  if (v === 0) return 0;
  return SA[0] === 1 ? -v : v;
}

function latin1(buf: Uint8Array, s: number, e: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1');
}

/**
 * Whether the key is exactly one number (what `--strict` demands): blanks, optional
 * '-', digits with an optional fraction, then only blanks or a final CR.
 */
export function isStrictNumber(buf: Uint8Array, s: number, e: number): boolean {
  while (s < e && BLANK[buf[s]!] === 1) s++;
  if (s < e && buf[s] === 45) s++;
  let digits = 0;
  while (s < e && buf[s]! >= 48 && buf[s]! <= 57) {
    s++;
    digits++;
  }
  if (s < e && buf[s] === 46) {
    s++;
    while (s < e && buf[s]! >= 48 && buf[s]! <= 57) {
      s++;
      digits++;
    }
  }
  if (digits === 0) return false;
  while (s < e && BLANK[buf[s]!] === 1) s++;
  if (s === e - 1 && buf[s] === 13) s++;
  return s === e;
}
