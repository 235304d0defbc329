/**
 * How keyed state values become bytes in a checkpoint, and back. Part of
 * the stored format (docs/state.md):
 *
 *   0x01 + 8 bytes   a number (float64, little-endian)
 *   0x02 + UTF-8     a string
 *   0x03 + UTF-8     JSON of a plain value: null, booleans, finite numbers,
 *                    strings, arrays and plain objects of those
 *   0x04 + UTF-8     JSON of the entries of a Map whose keys and values are
 *                    plain values
 *   0xFF ...         anything else: node:v8's serialization (structured
 *                    clone: Dates, Sets, typed arrays, bigints, NaN, ...),
 *                    whose own header byte is 0xFF
 *
 * node:v8's serialize costs about 3.5 µs a value and JSON about 0.7 µs, and
 * a checkpoint of a million keys serializes a million values: the common
 * shapes take the short path.
 */
import { deserialize, serialize } from 'node:v8';
import { SquallError } from '../errors/index.ts';

const TAG_NUMBER = 0x01;
const TAG_STRING = 0x02;
const TAG_JSON = 0x03;
const TAG_MAP = 0x04;
const V8_HEADER = 0xff;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Plain values nested deeper than this go to v8 (which also copes with cycles). */
const MAX_DEPTH = 16;

function tagged(tag: number, text: string): Uint8Array {
  const body = encoder.encode(text);
  const out = new Uint8Array(body.length + 1);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

/** True for what JSON carries exactly: null, booleans, finite numbers, strings, arrays and plain objects of those. */
function plain(v: unknown, depth: number): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!plain(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || !plain(x, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

export function encodeValue(v: unknown): Uint8Array {
  if (typeof v === 'number') {
    const out = new Uint8Array(9);
    out[0] = TAG_NUMBER;
    new DataView(out.buffer).setFloat64(1, v, true);
    return out;
  }
  if (typeof v === 'string') return tagged(TAG_STRING, v);
  if (v instanceof Map) {
    let ok = v.size < 100_000;
    if (ok) for (const [k, x] of v) if (!plain(k, 1) || !plain(x, 1)) { ok = false; break; }
    if (ok) return tagged(TAG_MAP, JSON.stringify([...v]));
  } else if (plain(v, 0)) {
    return tagged(TAG_JSON, JSON.stringify(v));
  }
  return serialize(v);
}

export function decodeValue(b: Uint8Array): unknown {
  switch (b[0]) {
    case TAG_NUMBER:
      return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(1, true);
    case TAG_STRING:
      return decoder.decode(b.subarray(1));
    case TAG_JSON:
      return JSON.parse(decoder.decode(b.subarray(1))) as unknown;
    case TAG_MAP:
      return new Map(JSON.parse(decoder.decode(b.subarray(1))) as [unknown, unknown][]);
    case V8_HEADER:
      return deserialize(b) as unknown;
    default:
      throw new SquallError({
        code: 'E_STATE_CORRUPT',
        message: `a keyed state value starts with byte ${String(b[0])}, which no version of squall writes; the checkpoint was not written by squall, or is damaged`,
      });
  }
}
