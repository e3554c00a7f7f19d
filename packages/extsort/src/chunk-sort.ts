import type { LineComparator } from './compare.js';

/**
 * A sorted piece holds at most this many bytes: a line's start offset lives in the low
 * 24 bits of its sort key. Keeping offsets (not line numbers) in the key means writing
 * the sorted piece touches only the line bytes, one random access per line.
 */
export const MAX_PIECE_BYTES = 1 << 24;

const SMALL_GROUP = 16;
const NL = 10;

/** End (newline position) of the line starting at `s`; data is newline-terminated. */
export function lineEnd(data: Buffer, s: number): number {
  for (let i = s, stop = s + 32; i < stop; i++) if (data[i] === NL) return i;
  return data.indexOf(NL, s + 32);
}

/**
 * Sorts the `n` keys in `packed[0..n)`. Each key is (40-bit prefix << 24 | offset of
 * the line from `base`), so one native typed-array sort orders lines by prefix and,
 * on equal prefixes, by input position. Groups that tie on the prefix are refined
 * with the next 5 key bytes (byte keys) or settled with the full GNU comparison;
 * lines that compare equal keep input order, which makes the sort stable.
 */
export function sortPacked(
  data: Buffer,
  base: number,
  n: number,
  cmp: LineComparator,
  packed: BigUint64Array,
  exactKeys = false,
): void {
  packed.subarray(0, n).sort();
  // Exact keys (canonical integers): equal keys mean identical lines, nothing to settle.
  if (exactKeys) return;
  const u = new Uint32Array(packed.buffer, packed.byteOffset, n * 2);
  resolveTies(data, base, cmp, packed, u, 0, n, 0);
}

function resolveTies(
  data: Buffer,
  base: number,
  cmp: LineComparator,
  packed: BigUint64Array,
  u: Uint32Array,
  from: number,
  to: number,
  depth: number,
): void {
  let i = from;
  while (i < to) {
    const h = u[2 * i + 1]!;
    const l = u[2 * i]! >>> 24;
    let j = i + 1;
    while (j < to && u[2 * j + 1] === h && u[2 * j]! >>> 24 === l) j++;
    if (j - i > 1) settleGroup(data, base, cmp, packed, u, i, j, depth);
    i = j;
  }
}

function settleGroup(
  data: Buffer,
  base: number,
  cmp: LineComparator,
  packed: BigUint64Array,
  u: Uint32Array,
  from: number,
  to: number,
  depth: number,
): void {
  const size = to - from;
  if (cmp.byteRefinable && size > SMALL_GROUP) {
    const covered = (depth + 1) * 5;
    let longer = false;
    for (let k = from; k < to; k++) {
      const s = base + (u[2 * k]! & 0xffffff);
      if (cmp.firstKeyLength(data, s, lineEnd(data, s)) > covered) {
        longer = true;
        break;
      }
    }
    if (longer) {
      for (let k = from; k < to; k++) {
        const off = u[2 * k]! & 0xffffff;
        const s = base + off;
        cmp.prefix(data, s, lineEnd(data, s), depth + 1);
        u[2 * k] = ((cmp.pL << 24) | off) >>> 0;
        u[2 * k + 1] = cmp.pH;
      }
      packed.subarray(from, to).sort();
      resolveTies(data, base, cmp, packed, u, from, to, depth + 1);
      return;
    }
  }
  const offs: number[] = new Array<number>(size);
  const ends = new Map<number, number>();
  for (let k = 0; k < size; k++) {
    const off = u[2 * (from + k)]! & 0xffffff;
    offs[k] = off;
    ends.set(off, lineEnd(data, base + off));
  }
  // Array#sort is stable and offs is in input order, so equal lines keep it.
  offs.sort((x, y) => cmp.compare(data, base + x, ends.get(x)!, data, base + y, ends.get(y)!));
  for (let k = 0; k < size; k++) u[2 * (from + k)] = offs[k]!;
}
