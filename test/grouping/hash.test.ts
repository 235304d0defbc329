import { describe, expect, it } from 'vitest';
import { fieldsHash } from '../../src/grouping/index.ts';
import { stringKeyHashBits } from '../../src/grouping/hash.ts';

const all = (values: readonly unknown[]) => fieldsHash(values, values.map((_, i) => i));

describe('fieldsHash', () => {
  it('matches the documented definition byte for byte (docs/groupings.md)', () => {
    // ["a"]: tag 0x06, u32 length 1, code unit 0x0061 low byte first, field separator 0xFF.
    const bytes = [0x06, 0x01, 0x00, 0x00, 0x00, 0x61, 0x00, 0xff];
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    expect(all(['a'])).toBe(h >>> 0);
  });

  it('keeps its golden values, so keys never silently move to other tasks', () => {
    const golden: [unknown[], number][] = [
      [['hello'], 0xa3490f4d],
      [[42], 0x679a10fe],
      [['42'], 0xd4029350],
      [[0], 0x20f205b3],
      [[0.5], 0x6f17e7ed],
      [[true], 0xdf79de26],
      [[null], 0x20b50e67],
      [[undefined], 0x4957cfb0],
      [[123n], 0xc135477f],
      [[new Uint8Array([1, 2, 3])], 0x0f52df86],
      [[[1, 'a']], 0x1008b213],
      [[{ b: 1, a: 'x' }], 0x98cb069f],
      [['ab', 'c'], 0xcc1a1c00],
      [['a', 'bc'], 0x710a74c6],
      [['héllo 😀'], 0x6ec38da0],
    ];
    for (const [values, expected] of golden) expect(all(values), JSON.stringify(values, bigints)).toBe(expected);
  });

  it('routes a one-string key by the same hash on its fast path, seeds included', () => {
    const keys = ['', 'a', 'hello', 'ab', 'héllo 😀', '\u0100\uffff', 'x'.repeat(300), 'the quick brown fox'];
    for (const k of keys) {
      for (const seed of [0, 1, 0x9e3779b9 | 0]) expect(stringKeyHashBits(k, seed) >>> 0, JSON.stringify(k)).toBe(fieldsHash([k], [0], seed));
    }
  });

  it('tells types apart: "1" and 1, null and undefined, 1 and 1n and true', () => {
    const hashes = [all(['1']), all([1]), all([null]), all([undefined]), all([1n]), all([true])];
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('keeps field boundaries: ["ab","c"] differs from ["a","bc"] and ["abc"]', () => {
    expect(all(['ab', 'c'])).not.toBe(all(['a', 'bc']));
    expect(all(['ab', 'c'])).not.toBe(all(['abc']));
    expect(all([['a'], 'b'])).not.toBe(all([['a', 'b']]));
  });

  it('hashes equal values equally: -0 and 0, 5.0 and 5, key order, Buffer and Uint8Array', () => {
    expect(all([-0])).toBe(all([0]));
    expect(all([5.0])).toBe(all([5]));
    expect(all([NaN])).toBe(all([Number.NaN]));
    expect(all([{ a: 1, b: [2, 'x'] }])).toBe(all([{ b: [2, 'x'], a: 1 }]));
    expect(all([Buffer.from([7, 8, 9])])).toBe(all([new Uint8Array([7, 8, 9])]));
    expect(all([new Date(1000)])).toBe(all([new Date(1000)]));
  });

  it('hashes integers by value across the 32-bit boundary and sign', () => {
    const ints = [0, 1, -1, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1)];
    expect(new Set(ints.map((n) => all([n]))).size).toBe(ints.length);
  });

  it('reads only the grouping fields, in the given order', () => {
    expect(fieldsHash(['w', 1], [0])).toBe(fieldsHash(['w', 2], [0]));
    expect(fieldsHash(['w', 1], [0, 1])).not.toBe(fieldsHash(['w', 1], [1, 0]));
  });

  it('gives independent hashes for different seeds', () => {
    expect(fieldsHash(['k'], [0], 1)).not.toBe(fieldsHash(['k'], [0], 2));
    expect(fieldsHash(['k'], [0], 0)).toBe(fieldsHash(['k'], [0]));
  });

  it('spreads keys evenly over a small number of tasks', () => {
    for (const n of [2, 3, 4, 8]) {
      const counts = new Array<number>(n).fill(0);
      for (let i = 0; i < 8000; i++) counts[fieldsHash([`key-${i}`], [0]) % n]++;
      const expected = 8000 / n;
      for (const c of counts) expect(Math.abs(c - expected) / expected).toBeLessThan(0.1);
    }
  });

  it('rejects keys it cannot hash with E_BAD_GROUPING', () => {
    expect(() => all([Symbol('s')])).toThrow(expect.objectContaining({ code: 'E_BAD_GROUPING' }));
    expect(() => all([new Map()])).toThrow(expect.objectContaining({ code: 'E_BAD_GROUPING' }));
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => all([cyclic])).toThrow(expect.objectContaining({ code: 'E_BAD_GROUPING' }));
  });
});

function bigints(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}
