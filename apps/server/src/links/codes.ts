import { createHmac } from 'node:crypto';

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const B62 = 62n;

/** Fixed-width base62 of `n`, left-padded with '0'. */
export function base62(n: bigint, width: number): string {
  let out = '';
  let v = n;
  for (let i = 0; i < width; i++) {
    out = BASE62_ALPHABET[Number(v % B62)] + out;
    v /= B62;
  }
  if (v !== 0n) throw new RangeError(`${n} does not fit in ${width} base62 characters`);
  return out;
}

interface Tier {
  readonly length: number;
  /** First id of this tier. */
  readonly offset: bigint;
  /** Number of codes of this length: 62^length. */
  readonly size: bigint;
  readonly halfBits: bigint;
  readonly halfMask: bigint;
  /** The same figures as numbers, for tiers small enough for exact double arithmetic. */
  readonly small?: {
    readonly offset: number;
    readonly size: number;
    readonly half: number; // 2^halfBits
    readonly mask: number;
    /** Memoised round function, one table per round: entry = f(value) + 1, 0 = not yet known. */
    tables?: Uint32Array[];
  };
}

/** Tiers whose Feistel domain fits in 2^52 use number arithmetic; tables up to 2^20 entries. */
const SMALL_TIER_BITS = 52n;
const MAX_TABLE_BITS = 20n;

/**
 * Turns database ids into short codes: base62 of the id after a keyed permutation, as the
 * seed's "Base62 + ID" but not guessable.
 *
 * Ids are split into tiers: the first 62^L ids get codes of exactly L characters (L = the
 * minimum length), the next 62^(L+1) ids codes of L+1 characters, and so on. Inside a tier
 * the id is permuted by a balanced Feistel network keyed with HMAC-SHA256 (a pseudo-random
 * permutation, Luby–Rackoff), using cycle-walking to stay inside [0, 62^L). A permutation is
 * a bijection, so two ids never share a code — collision-free by construction — while
 * consecutive ids land far apart.
 *
 * The round function's input is one half of the block (18 bits for 6-character codes), so its
 * values are memoised per round in a table filled as ids are encoded: a code costs a few
 * table lookups instead of five HMACs once the table is warm (at most 4 × 2^20 entries).
 */
export class CodeGenerator {
  readonly #key: Buffer;
  readonly #tiers: Tier[] = [];
  // Four rounds make a strong pseudo-random permutation when the round function is a PRF.
  static readonly ROUNDS = 4;

  constructor(key: Buffer, minLength: number) {
    if (key.length < 16) throw new RangeError('code key must be at least 16 bytes');
    this.#key = key;
    let offset = 0n;
    for (let length = minLength; length <= 12; length++) {
      const size = B62 ** BigInt(length);
      let bits = BigInt(size.toString(2).length);
      if (bits % 2n === 1n) bits += 1n;
      const halfBits = bits / 2n;
      const halfMask = (1n << halfBits) - 1n;
      const small =
        bits <= SMALL_TIER_BITS && offset + size <= BigInt(Number.MAX_SAFE_INTEGER)
          ? {
              offset: Number(offset),
              size: Number(size),
              half: 2 ** Number(halfBits),
              mask: Number(halfMask),
            }
          : undefined;
      this.#tiers.push({
        length,
        offset,
        size,
        halfBits,
        halfMask,
        ...(small !== undefined ? { small } : {}),
      });
      offset += size;
    }
  }

  /** The code of database id `id` (a positive safe integer). */
  encode(id: number): string {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`invalid id ${id}`);
    const n = BigInt(id);
    const tier = this.#tiers.find((t) => n < t.offset + t.size);
    if (tier === undefined) throw new RangeError(`id ${id} is beyond the code space`);
    if (tier.small !== undefined) return this.#encodeSmall(id, tier);
    let v = n - tier.offset;
    // Cycle-walking: the Feistel domain is a power of two ≥ 62^L; re-apply until inside.
    do v = this.#feistel(v, tier);
    while (v >= tier.size);
    return base62(v, tier.length);
  }

  /** {@link encode} in number arithmetic, with the round function memoised. */
  #encodeSmall(id: number, tier: Tier): string {
    const small = tier.small!;
    const { half, mask } = small;
    const tables =
      tier.halfBits <= MAX_TABLE_BITS
        ? (small.tables ??= Array.from(
            { length: CodeGenerator.ROUNDS },
            () => new Uint32Array(half),
          ))
        : undefined;
    let v = id - small.offset;
    do {
      let left = Math.floor(v / half);
      let right = v % half;
      for (let round = 0; round < CodeGenerator.ROUNDS; round++) {
        const table = tables?.[round];
        let f = table !== undefined ? table[right]! - 1 : -1;
        if (f < 0) {
          f = this.#roundDigest(tier.length, round, right.toString(16)).readUInt32BE(4) & mask;
          if (table !== undefined) table[right] = f + 1;
        }
        const next = (left ^ f) >>> 0;
        left = right;
        right = next;
      }
      v = left * half + right;
    } while (v >= small.size);
    let out = '';
    for (let i = 0; i < tier.length; i++) {
      out = BASE62_ALPHABET[v % 62] + out;
      v = Math.floor(v / 62);
    }
    return out;
  }

  #feistel(x: bigint, tier: Tier): bigint {
    let left = x >> tier.halfBits;
    let right = x & tier.halfMask;
    for (let round = 0; round < CodeGenerator.ROUNDS; round++) {
      const h = this.#roundDigest(tier.length, round, right.toString(16));
      const f = h.readBigUInt64BE(0) & tier.halfMask;
      [left, right] = [right, left ^ f];
    }
    return (left << tier.halfBits) | right;
  }

  /** The round function: HMAC-SHA256 of "length:round:hex(value)". */
  #roundDigest(length: number, round: number, hex: string): Buffer {
    return createHmac('sha256', this.#key).update(`${length}:${round}:${hex}`).digest();
  }
}
