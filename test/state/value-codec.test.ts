/** Keyed state values to bytes and back: plain values take the JSON path, the rest node:v8's, and each comes back equal. */
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../src/state/index.ts';

describe('keyed state value codec', () => {
  const cases: [string, unknown, number][] = [
    ['a number', 42.5, 0x01],
    ['NaN', Number.NaN, 0x01],
    ['-0', -0, 0x01],
    ['a string', 'héllo\u0000wörld', 0x02],
    ['null', null, 0x03],
    ['a plain object', { n: 3, total: 7.25, tags: ['a', 'b'], nested: { ok: true } }, 0x03],
    ['an array', [1, 'two', [3], { four: 4 }], 0x03],
    ['a Map of plain values', new Map<string, unknown>([['x', 1], ['y', { z: [2] }]]), 0x04],
    ['a Date', new Date(1_700_000_000_000), 0xff],
    ['a Set', new Set([1, 2, 3]), 0xff],
    ['an object holding a Date', { at: new Date(5) }, 0xff],
    ['an object with an undefined field', { a: 1, b: undefined }, 0xff],
    ['a bigint', 12345678901234567890n, 0xff],
    ['an array with -0', [-0], 0xff],
    ['a Map with a Date', new Map([['d', new Date(7)]]), 0xff],
    ['a Uint8Array', new Uint8Array([1, 2, 3]), 0xff],
  ];
  for (const [what, value, tag] of cases) {
    it(`${what} round-trips (tag 0x${tag.toString(16)})`, () => {
      const b = encodeValue(value);
      expect(b[0]).toBe(tag);
      expect(decodeValue(b)).toEqual(value);
      if (typeof value === 'number') expect(Object.is(decodeValue(b), value)).toBe(true);
    });
  }

  it('reads values node:v8 wrote (the format before the short paths)', () => {
    expect(decodeValue(serialize({ n: 1 }))).toEqual({ n: 1 });
    expect(decodeValue(serialize(7))).toBe(7);
  });

  it('a value that starts with a byte no version writes is E_STATE_CORRUPT', () => {
    expect(() => decodeValue(new Uint8Array([0x09, 1, 2]))).toThrow(expect.objectContaining({ code: 'E_STATE_CORRUPT' }));
  });
});
