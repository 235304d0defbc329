import { SquallError } from '../errors/index.ts';

/*
 * The fields hash. Its exact definition is written in docs/groupings.md and
 * pinned by golden values in test/grouping/hash.test.ts: every host, thread and
 * process must send equal keys to the same task, so changing a single byte
 * here is a breaking change that reroutes every key.
 *
 * State is an int32 held in a local and threaded through plain functions: no
 * closures and, except for non-integer numbers and bigints, no allocation.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// FNV-1a steps over zero bytes fold together: XOR with 0 changes nothing, and
// multiplications mod 2^32 compose, so a byte followed by k zero bytes is one
// multiplication by FNV_PRIME^(k+1). The hash stays byte for byte the same
// (golden values in test/grouping/hash.test.ts); a Latin-1 code unit costs
// one multiplication instead of two.
const FNV_PRIME_2 = Math.imul(FNV_PRIME, FNV_PRIME);
const FNV_PRIME_4 = Math.imul(FNV_PRIME_2, FNV_PRIME_2);

/** Type tags: one byte before every value so that "1" and 1 differ. */
const TAG_UNDEFINED = 0x00;
const TAG_NULL = 0x01;
const TAG_FALSE = 0x02;
const TAG_TRUE = 0x03;
const TAG_INT = 0x04;
const TAG_FLOAT = 0x05;
const TAG_STRING = 0x06;
const TAG_BIGINT = 0x07;
const TAG_BYTES = 0x08;
const TAG_ARRAY = 0x09;
const TAG_OBJECT = 0x0a;
const TAG_DATE = 0x0b;
/** Written after each grouping field so ["ab","c"] and ["a","bc"] differ. */
const FIELD_SEPARATOR = 0xff;

/** Deeper nesting is almost surely a cycle; a grouping key should be flat. */
const MAX_DEPTH = 32;

const TWO_POW_32 = 4294967296;

/**
 * Hash the values at `fieldIndexes` with the documented squall fields hash
 * (FNV-1a 32-bit over a canonical, type-tagged encoding, then the murmur3
 * finalizer). Deterministic across processes, threads and platforms.
 * Returns an unsigned 32-bit integer.
 */
export function fieldsHash(values: readonly unknown[], fieldIndexes: readonly number[], seed = 0): number {
  return fieldsHashBits(values, fieldIndexes, seed) >>> 0;
}

/**
 * The same hash as a signed 32-bit integer (the same bits). The routers use
 * it: a result of 2^31 or more, returned as an unsigned number from a call
 * that is not inlined, is a heap number, an allocation and a floating-point
 * remainder per tuple; an int32 is a small integer, and `(h >>> 0) % n` on
 * it compiles to an integer remainder.
 */
export function fieldsHashBits(values: readonly unknown[], fieldIndexes: readonly number[], seed = 0): number {
  let h = FNV_OFFSET_BASIS ^ seed;
  for (let i = 0; i < fieldIndexes.length; i++) {
    h = value(h, values[fieldIndexes[i]], 0);
    h = byte(h, FIELD_SEPARATOR);
  }
  return fmix32(h);
}

/**
 * fieldsHashBits of a key that is one string, in one loop: the same bytes
 * as the general path (tag, length, code units, separator), without its
 * per-value dispatch. Routing a word is most of what a fields grouping does.
 */
export function stringKeyHashBits(s: string, seed = 0): number {
  const h = str(Math.imul((FNV_OFFSET_BASIS ^ seed) ^ TAG_STRING, FNV_PRIME), s);
  return fmix32(Math.imul(h ^ FIELD_SEPARATOR, FNV_PRIME));
}

function byte(h: number, b: number): number {
  return Math.imul(h ^ b, FNV_PRIME);
}

/** Four bytes, least significant first. */
function u32(h: number, x: number): number {
  if (x >>> 8 === 0) return Math.imul(h ^ x, FNV_PRIME_4);
  h = Math.imul(h ^ (x & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((x >>> 8) & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((x >>> 16) & 0xff), FNV_PRIME);
  return Math.imul(h ^ (x >>> 24), FNV_PRIME);
}

/** Length in code units, then each UTF-16 code unit low byte first. */
function str(h: number, s: string): number {
  const n = s.length;
  h = u32(h, n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x100) {
      h = Math.imul(h ^ c, FNV_PRIME_2);
    } else {
      h = Math.imul(h ^ (c & 0xff), FNV_PRIME);
      h = Math.imul(h ^ (c >>> 8), FNV_PRIME);
    }
  }
  return h;
}

function num(h: number, n: number): number {
  if (Number.isSafeInteger(n)) {
    // The value as a 64-bit two's complement integer, low half first. -0 is 0.
    h = byte(h, TAG_INT);
    h = u32(h, n >>> 0);
    return u32(h, Math.floor(n / TWO_POW_32) | 0);
  }
  // ECMAScript fixes String(n) (shortest round-trip form; NaN, Infinity, -Infinity).
  return str(byte(h, TAG_FLOAT), String(n));
}

function bytes(h: number, b: Uint8Array): number {
  const n = b.length;
  h = u32(byte(h, TAG_BYTES), n);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i], FNV_PRIME);
  return h;
}

function value(h: number, v: unknown, depth: number): number {
  switch (typeof v) {
    case 'string':
      return str(byte(h, TAG_STRING), v);
    case 'number':
      return num(h, v);
    case 'boolean':
      return byte(h, v ? TAG_TRUE : TAG_FALSE);
    case 'undefined':
      return byte(h, TAG_UNDEFINED);
    case 'bigint':
      return str(byte(h, TAG_BIGINT), v.toString(10));
    case 'object':
      if (v === null) return byte(h, TAG_NULL);
      return object(h, v, depth);
    default:
      throw new SquallError({
        code: 'E_BAD_GROUPING',
        message: `cannot hash a ${typeof v} as a grouping key; group on strings, numbers, booleans, bigints, bytes, arrays or plain objects`,
      });
  }
}

function object(h: number, v: object, depth: number): number {
  if (depth >= MAX_DEPTH) {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      message: `grouping key is nested deeper than ${MAX_DEPTH} levels (a cycle?); group on a flat key`,
    });
  }
  if (Array.isArray(v)) {
    const n = v.length;
    h = u32(byte(h, TAG_ARRAY), n);
    for (let i = 0; i < n; i++) h = value(h, v[i], depth + 1);
    return h;
  }
  if (v instanceof Uint8Array) return bytes(h, v);
  if (ArrayBuffer.isView(v)) return bytes(h, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (v instanceof ArrayBuffer) return bytes(h, new Uint8Array(v));
  if (v instanceof Date) return num(byte(h, TAG_DATE), v.getTime());
  if (v instanceof Map || v instanceof Set) {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      message: `cannot hash a ${v instanceof Map ? 'Map' : 'Set'} as a grouping key; use an array or a plain object`,
    });
  }
  // Any other object by its own enumerable string keys, sorted by UTF-16 code
  // units: what structuredClone keeps of it on the way to another thread.
  const keys = Object.keys(v).sort();
  const rec = v as Record<string, unknown>;
  h = u32(byte(h, TAG_OBJECT), keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    h = str(h, k);
    h = value(h, rec[k], depth + 1);
  }
  return h;
}

/**
 * murmur3's 32-bit finalizer. FNV-1a's low bits depend only on the low bits
 * of the input bytes, and `% n` reads mostly low bits: without this, 2 or 4
 * tasks would see visibly skewed spreads and partialKey's two seeds would
 * often pick the same pair of tasks.
 */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
