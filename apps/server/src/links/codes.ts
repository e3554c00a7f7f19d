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
}

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
      this.#tiers.push({ length, offset, size, halfBits, halfMask: (1n << halfBits) - 1n });
      offset += size;
    }
  }

  /** The code of database id `id` (a positive safe integer). */
  encode(id: number): string {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`invalid id ${id}`);
    const n = BigInt(id);
    const tier = this.#tiers.find((t) => n < t.offset + t.size);
    if (tier === undefined) throw new RangeError(`id ${id} is beyond the code space`);
    let v = n - tier.offset;
    // Cycle-walking: the Feistel domain is a power of two ≥ 62^L; re-apply until inside.
    do v = this.#feistel(v, tier);
    while (v >= tier.size);
    return base62(v, tier.length);
  }

  #feistel(x: bigint, tier: Tier): bigint {
    let left = x >> tier.halfBits;
    let right = x & tier.halfMask;
    for (let round = 0; round < CodeGenerator.ROUNDS; round++) {
      const f = this.#round(tier.length, round, right) & tier.halfMask;
      [left, right] = [right, left ^ f];
    }
    return (left << tier.halfBits) | right;
  }

  #round(length: number, round: number, value: bigint): bigint {
    const h = createHmac('sha256', this.#key)
      .update(`${length}:${round}:${value.toString(16)}`)
      .digest();
    return h.readBigUInt64BE(0);
  }
}
