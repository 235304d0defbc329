import type { RandomSource } from '../runtime/index.ts';

/**
 * How many u32 values the pool holds: 16384 × 4 bytes = 64 KiB, the most Web
 * Crypto fills in one getRandomValues call, so a refill is a single call for
 * cryptoRandom and covers 8192 ids before the next one.
 */
const POOL_U32 = 16384;

/**
 * Random 64-bit ids (root ids and edge ids) held as two signed 32-bit
 * halves, because JavaScript's `^` works on 32 bits and BigInt is too slow
 * for the per-tuple path. Signed, not unsigned: V8 (64-bit, no pointer
 * compression, as Node ships) keeps an int32 as a small integer in an
 * object's field, while an unsigned half of 2^31 or more is a heap number,
 * so four of them made every tracked tuple four allocations heavier.
 * Compare and hash halves as they come; `>>> 0` makes one unsigned for
 * display.
 *
 * `next()` returns nothing and writes `lo` and `hi` instead, so drawing an id
 * allocates nothing: read both fields before the next call.
 *
 * @example
 * const ids = new IdSource(cryptoRandom);
 * ids.next();
 * const rootLo = ids.lo, rootHi = ids.hi;
 */
export class IdSource {
  /** Low 32 bits of the last id drawn, as a signed int32. */
  lo = 0;
  /** High 32 bits of the last id drawn, as a signed int32. */
  hi = 0;

  private readonly random: RandomSource;
  private readonly raw = new Uint32Array(POOL_U32);
  /** The same bits, read signed. */
  private readonly pool = new Int32Array(this.raw.buffer);
  // Starts past the end so the first next() fills the pool.
  private pos = POOL_U32;

  constructor(random: RandomSource) {
    this.random = random;
  }

  /** Draw a new non-zero id into `lo` and `hi`. */
  next(): void {
    // Zero is never an id: the acker reads an XOR value of zero as "tree
    // complete", so an all-zero edge id would complete a tree early. One draw
    // in 2^64 is zero; drawing again costs nothing in practice.
    do {
      if (this.pos >= POOL_U32) {
        this.random.fillU32(this.raw);
        this.pos = 0;
      }
      this.lo = this.pool[this.pos]!;
      this.hi = this.pool[this.pos + 1]!;
      this.pos += 2;
    } while (this.lo === 0 && this.hi === 0);
  }
}

/**
 * A 32-bit hash of an id, for open-addressing tables: a multiply-xorshift
 * mix of both halves, so ids that share one half still spread. Take the TOP
 * bits (`>>> (32 - bits)`): a multiplicative hash puts its entropy there.
 */
export function idHash(lo: number, hi: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) >>> 0;
}

/** The id as 16 hex digits, high half first, for logs and error messages. */
export function idToHex(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}
