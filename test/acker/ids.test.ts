import { describe, expect, it } from 'vitest';
import type { RandomSource } from '../../src/runtime/random.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { IdSource, idHash, idToHex } from '../../src/acker/index.ts';

/** A random source that counts its fills and can be forced to yield zeros. */
class CountingRandom implements RandomSource {
  fills = 0;
  zerosFirst: number;
  private readonly inner = new SeededRandom(7);

  constructor(zerosFirst = 0) {
    this.zerosFirst = zerosFirst;
  }

  fillU32(buf: Uint32Array): void {
    this.fills++;
    this.inner.fillU32(buf);
    const n = Math.min(this.zerosFirst, buf.length);
    buf.fill(0, 0, n);
    this.zerosFirst -= n;
  }

  float(): number {
    return this.inner.float();
  }
}

describe('IdSource', () => {
  it('never yields the all-zero id, drawing again instead', () => {
    // The first 6 u32 are zero: three all-zero ids in a row must be skipped.
    const ids = new IdSource(new CountingRandom(6));
    ids.next();
    expect(ids.lo !== 0 || ids.hi !== 0).toBe(true);
    let zeros = 0;
    for (let i = 0; i < 50_000; i++) {
      ids.next();
      if (ids.lo === 0 && ids.hi === 0) zeros++;
    }
    expect(zeros).toBe(0);
  });

  it('holds each half as a signed 32-bit integer (a small integer in V8, so ids allocate nothing)', () => {
    const ids = new IdSource(new SeededRandom(1));
    let bad = 0;
    let sawHighBit = false;
    const isI32 = (x: number) => (x | 0) === x;
    for (let i = 0; i < 10_000; i++) {
      ids.next();
      if (!isI32(ids.lo) || !isI32(ids.hi)) bad++;
      if (ids.lo < 0 || ids.hi < 0) sawHighBit = true;
    }
    expect(bad).toBe(0);
    expect(sawHighBit).toBe(true);
  });

  it('reproduces the same ids from the same seed', () => {
    const a = new IdSource(new SeededRandom(42));
    const b = new IdSource(new SeededRandom(42));
    const c = new IdSource(new SeededRandom(43));
    let same = 0;
    let differs = false;
    for (let i = 0; i < 20_000; i++) {
      a.next();
      b.next();
      c.next();
      if (a.lo === b.lo && a.hi === b.hi) same++;
      if (a.lo !== c.lo || a.hi !== c.hi) differs = true;
    }
    expect(same).toBe(20_000);
    expect(differs).toBe(true);
  });

  it('refills its 16384-value pool only when it runs out', () => {
    const random = new CountingRandom();
    const ids = new IdSource(random);
    expect(random.fills).toBe(0);
    ids.next();
    expect(random.fills).toBe(1);
    // 16384 u32 make 8192 ids: the 8193rd draw needs a second fill.
    for (let i = 1; i < 8192; i++) ids.next();
    expect(random.fills).toBe(1);
    ids.next();
    expect(random.fills).toBe(2);
    for (let i = 0; i < 8192 * 3; i++) ids.next();
    expect(random.fills).toBe(5);
  });
});

describe('idHash and idToHex', () => {
  it('hashes to an unsigned 32-bit value that depends on both halves', () => {
    const h = idHash(5, 7);
    expect(h).toBe(h >>> 0);
    expect(idHash(5, 7)).toBe(h);
    expect(idHash(5, 8)).not.toBe(h);
    expect(idHash(6, 7)).not.toBe(h);
    expect(idHash(-1, -1)).toBe(idHash(0xffffffff, 0xffffffff));
  });

  it('prints ids as 16 hex digits, high half first', () => {
    expect(idToHex(1, 0)).toBe('0000000000000001');
    expect(idToHex(0xdeadbeef, 0x80000000)).toBe('80000000deadbeef');
    expect(idToHex(-1, -1)).toBe('ffffffffffffffff');
  });
});
