/**
 * String helpers for the batch codec. Encoding of short ASCII strings is
 * inlined in the encoder; what is here is the slower machinery it falls back
 * to, and the decoder's string builders.
 */

const textEncoder = new TextEncoder();
// ignoreBOM: the default decoder drops a leading U+FEFF, so a string that
// starts with one would not round-trip.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const fromCharCode = String.fromCharCode;

// String.prototype.isWellFormed is in Node 20 (V8 11.3), but TypeScript's lib
// types it from ES2024 and tsconfig targets ES2023.
const isWellFormedMethod = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;

/**
 * True when `s` has no lone surrogate. TextEncoder replaces a lone surrogate
 * with U+FFFD, so such a string cannot go through UTF-8 unchanged.
 */
export function isWellFormed(s: string): boolean {
  return isWellFormedMethod.call(s);
}

/**
 * Writes `s` as UTF-8 at `at` and returns the bytes written. The caller has
 * made room for 3 bytes per UTF-16 unit, the most UTF-8 needs.
 */
export function encodeUtf8(s: string, u8: Uint8Array, at: number): number {
  return textEncoder.encodeInto(s, u8.subarray(at)).written;
}

/** A string from `n` bytes of UTF-8 at `p`. */
export function decodeUtf8(u8: Uint8Array, p: number, n: number): string {
  return textDecoder.decode(u8.subarray(p, p + n));
}

/**
 * A string from `n` ASCII bytes at `p`. Up to 8 bytes (most words), one
 * String.fromCharCode call with the bytes as arguments: about 20 ns against
 * about 100 ns for a TextDecoder call, whose fixed cost dominates short
 * strings; a per-character `+=` loop costs 40-60 ns at 4-8 characters
 * (Node 20, x64). Longer strings go to TextDecoder, which has an ASCII fast
 * path and makes a flat string.
 */
export function decodeAscii(u8: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 0:
      return '';
    case 1:
      return fromCharCode(u8[p]);
    case 2:
      return fromCharCode(u8[p], u8[p + 1]);
    case 3:
      return fromCharCode(u8[p], u8[p + 1], u8[p + 2]);
    case 4:
      return fromCharCode(u8[p], u8[p + 1], u8[p + 2], u8[p + 3]);
    case 5:
      return fromCharCode(u8[p], u8[p + 1], u8[p + 2], u8[p + 3], u8[p + 4]);
    case 6:
      return fromCharCode(u8[p], u8[p + 1], u8[p + 2], u8[p + 3], u8[p + 4], u8[p + 5]);
    case 7:
      return fromCharCode(u8[p], u8[p + 1], u8[p + 2], u8[p + 3], u8[p + 4], u8[p + 5], u8[p + 6]);
    case 8:
      return fromCharCode(u8[p], u8[p + 1], u8[p + 2], u8[p + 3], u8[p + 4], u8[p + 5], u8[p + 6], u8[p + 7]);
    default:
      return textDecoder.decode(u8.subarray(p, p + n));
  }
}
