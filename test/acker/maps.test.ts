import { describe, expect, it } from 'vitest';
import { IdMap, RotatingMap } from '../../src/acker/index.ts';
import { SeededRandom } from '../../src/runtime/random.ts';

// Same lo, and hi equal in its low 21 bits: ids that share most of their bits.
const LO = 0x12345678;
const HI_A = 0x00012345;
const HI_B = 0x80012345;
const HI_C = 0xffe12345;

describe('IdMap', () => {
  it('agrees with a Map model under random set, get and delete of clustered ids (probing and backward shift)', () => {
    for (const seed of [1, 2, 3, 4]) {
      const rnd = new SeededRandom(seed);
      const m = new IdMap<number>();
      const model = new Map<string, number>();
      for (let step = 0; step < 30_000; step++) {
        // Few distinct ids, so tables fill, grow, and probe runs wrap around.
        const lo = rnd.int(300);
        const hi = rnd.int(4) * 0x40000000;
        const key = `${lo}:${hi}`;
        const op = rnd.float();
        if (op < 0.45) {
          m.set(lo, hi, step);
          model.set(key, step);
        } else if (op < 0.8) {
          expect(m.delete(lo, hi)).toBe(model.get(key));
          model.delete(key);
        } else {
          expect(m.get(lo, hi)).toBe(model.get(key));
        }
        expect(m.size).toBe(model.size);
      }
      let seen = 0;
      m.forEach((v, lo, hi) => {
        expect(model.get(`${lo}:${hi}`)).toBe(v);
        seen++;
      });
      expect(seen).toBe(model.size);
    }
  });

  it('keeps ids apart when they share most of their bits', () => {
    const m = new IdMap<string>();
    m.set(LO, HI_A, 'a');
    m.set(LO, HI_B, 'b');
    m.set(LO, HI_C, 'c');
    expect(m.size).toBe(3);
    expect([m.get(LO, HI_A), m.get(LO, HI_B), m.get(LO, HI_C)]).toEqual(['a', 'b', 'c']);
    expect(m.get(LO, 0x40012345)).toBeUndefined();
    expect(m.has(LO, 0x40012345)).toBe(false);

    m.set(LO, HI_B, 'b2');
    expect(m.size).toBe(3);
    expect(m.get(LO, HI_B)).toBe('b2');

    expect(m.delete(LO, HI_B)).toBe('b2');
    expect(m.delete(LO, HI_B)).toBeUndefined();
    expect([m.get(LO, HI_A), m.get(LO, HI_C)]).toEqual(['a', 'c']);
    expect(m.delete(LO, HI_C)).toBe('c');
    expect(m.get(LO, HI_A)).toBe('a');
    expect(m.delete(LO, HI_A)).toBe('a');
    expect(m.size).toBe(0);
    expect(m.has(LO, HI_A)).toBe(false);
  });

  it('visits every id, colliding ones included, and clears', () => {
    const m = new IdMap<number>();
    m.set(LO, HI_A, 1);
    m.set(LO, HI_B, 2);
    m.set(7, 9, 3);
    const seen: [number, number, number][] = [];
    m.forEach((v, lo, hi) => seen.push([v, lo, hi]));
    seen.sort((x, y) => x[0] - y[0]);
    expect(seen).toEqual([
      [1, LO, HI_A],
      [2, LO, HI_B],
      [3, 7, 9],
    ]);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(7, 9)).toBeUndefined();
  });

  it('finds an id whose halves were computed with ^ (signed 32-bit)', () => {
    const m = new IdMap<string>();
    m.set(0xffffffff, 0x80000000, 'x');
    const lo = 0xf0f0f0f0 ^ 0x0f0f0f0f; // -1 as a signed int32
    const hi = 0x80000001 ^ 1; // negative
    expect(lo).toBeLessThan(0);
    expect(m.get(lo, hi)).toBe('x');
    expect(m.delete(lo, hi)).toBe('x');
  });
});

describe('RotatingMap', () => {
  it('expires an entry on the numBuckets-th rotation after it was put', () => {
    for (const n of [2, 3, 5]) {
      const m = new RotatingMap<string>(n);
      const expired: string[] = [];
      const onExpire = (v: string) => expired.push(v);
      m.put(1, 1, 'a');
      for (let i = 0; i < n - 1; i++) m.rotate(onExpire);
      expect(expired).toEqual([]);
      expect(m.get(1, 1)).toBe('a');
      m.rotate(onExpire);
      expect(expired).toEqual(['a']);
      expect(m.containsKey(1, 1)).toBe(false);
      expect(m.size).toBe(0);
    }
  });

  it('restarts the timeout of a touched entry', () => {
    const m = new RotatingMap<string>(3);
    const expired: string[] = [];
    const onExpire = (v: string) => expired.push(v);
    m.put(1, 2, 'a');
    m.put(3, 4, 'b');
    m.rotate(onExpire);
    m.rotate(onExpire);
    expect(m.touch(1, 2)).toBe(true);
    expect(m.touch(9, 9)).toBe(false);
    m.rotate(onExpire);
    expect(expired).toEqual(['b']);
    m.rotate(onExpire);
    expect(expired).toEqual(['b']);
    m.rotate(onExpire);
    expect(expired).toEqual(['b', 'a']);
  });

  it('moves a re-put entry to the newest bucket, holding it once', () => {
    const m = new RotatingMap<string>(2);
    const expired: string[] = [];
    m.put(LO, HI_A, 'old');
    m.rotate((v) => expired.push(v));
    m.put(LO, HI_A, 'new');
    m.put(LO, HI_B, 'other');
    expect(m.size).toBe(2);
    m.rotate((v) => expired.push(v));
    expect(expired).toEqual([]);
    expect(m.remove(LO, HI_A)).toBe('new');
    expect(m.remove(LO, HI_A)).toBeUndefined();
    expect(m.size).toBe(1);
  });

  it('passes each expired id to onExpire', () => {
    const m = new RotatingMap<number>(2);
    m.put(LO, HI_A, 1);
    m.put(LO, HI_C, 2);
    const seen: [number, number, number][] = [];
    m.rotate(() => {});
    m.rotate((v, lo, hi) => seen.push([v, lo, hi]));
    seen.sort((x, y) => x[0] - y[0]);
    expect(seen).toEqual([
      [1, LO, HI_A],
      [2, LO, HI_C],
    ]);
  });

  it('refuses fewer than two buckets', () => {
    expect(() => new RotatingMap(1)).toThrow(expect.objectContaining({ code: 'E_INVARIANT' }));
    expect(() => new RotatingMap(2.5)).toThrow(/at least 2 buckets/);
  });
});
