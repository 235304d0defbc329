import { describe, expect, it } from 'vitest';
import { crc32, crc32Js } from '../../src/state/index.ts';

describe('crc32', () => {
  it('is the IEEE CRC-32 (check value of "123456789" is 0xCBF43926), native or not', () => {
    const data = new TextEncoder().encode('123456789');
    expect(crc32(data)).toBe(0xcbf43926);
    expect(crc32Js(data)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('the table version agrees with the one in use on random data, and continues from a prefix', () => {
    const data = new Uint8Array(10_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + (i >> 3)) & 0xff;
    expect(crc32Js(data)).toBe(crc32(data));
    expect(crc32Js(data.subarray(4000), crc32Js(data.subarray(0, 4000)))).toBe(crc32(data));
    expect(crc32(data.subarray(4000), crc32(data.subarray(0, 4000)))).toBe(crc32(data));
  });
});
