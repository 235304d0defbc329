import { webcrypto } from 'node:crypto';

/**
 * The source of randomness for ids and shuffles. Injected so tests can run on
 * a seeded sequence and replay a failure exactly.
 */
export interface RandomSource {
  /** Fill `buf` with uniformly random unsigned 32-bit values. */
  fillU32(buf: Uint32Array): void;
  /** A uniformly random number in [0, 1). */
  float(): number;
}

/** Web Crypto refuses more than 65,536 bytes per getRandomValues call. */
const CRYPTO_CHUNK_U32 = 65536 / 4;

export const cryptoRandom: RandomSource = {
  fillU32(buf: Uint32Array): void {
    for (let off = 0; off < buf.length; off += CRYPTO_CHUNK_U32) {
      webcrypto.getRandomValues(buf.subarray(off, Math.min(buf.length, off + CRYPTO_CHUNK_U32)));
    }
  },
  float(): number {
    return Math.random();
  },
};

/**
 * A seeded generator (sfc32, a small fast counter-based PRNG with a 128-bit
 * state) for tests and simulations: the same seed gives the same sequence.
 */
export class SeededRandom implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  fillU32(buf: Uint32Array): void {
    for (let i = 0; i < buf.length; i++) buf[i] = this.u32();
  }

  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}
