/**
 * CRC-32 (IEEE 802.3, the one zlib, gzip and PNG use). Node's zlib.crc32 is
 * native and came in Node 20.15 / 22.2; squall supports Node 20.12 on, so a
 * table-driven fallback stands in where it is missing. Both give the same
 * value (test/state/crc32.test.ts).
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** The portable CRC-32: a byte at a time from a 256-entry table. */
export function crc32Js(data: Uint8Array, initial = 0): number {
  const t = (table ??= makeTable());
  let c = (initial ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

/** CRC-32 of `data`, continuing from `initial` (the CRC of what came before). */
export const crc32: Crc32 = typeof native === 'function' ? (data, initial = 0) => native(data, initial) >>> 0 : crc32Js;

/** Whether crc32 is Node's native one (false before Node 20.15). */
export const nativeCrc32 = typeof native === 'function';
