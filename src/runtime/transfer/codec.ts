/**
 * The batch codec: tuples and control records packed into one ArrayBuffer
 * that is transferred (not copied) to another thread. The threads spike
 * (scratch/threads-spike, experiment 04) measured a packed buffer at 4-6x the
 * throughput of structured-cloning arrays of arrays.
 *
 * Wire format: records back to back, in the order they were added,
 * little-endian, unaligned. No header: the record count travels beside the
 * buffer in EncodedBatch, and the decoder checks that it used every byte.
 *
 * | record   | bytes                                                            |
 * | -------- | ---------------------------------------------------------------- |
 * | tuple    | u8 REC_TUPLE, u32 target, u32 sourceTask, u32 streamIndex,       |
 * |          | u32 valueCount, values                                           |
 * | tracked  | u8 REC_TRACKED, the same four u32, u32 idCount, idCount × u32,   |
 * |  tuple   | values                                                           |
 * | track    | u8 REC_TRACK, u32 target, u32 count, count × 5 u32 (tracking   |
 * |          | records, as in a TrackBatch: head, lo, hi, vlo, vhi)             |
 *
 * | value                                   | bytes after the u8 tag         |
 * | --------------------------------------- | ------------------------------ |
 * | V_UNDEFINED, V_NULL, V_FALSE, V_TRUE    | none                           |
 * | V_INT: an integer in i32 range, not -0  | i32                            |
 * | V_FLOAT: any other number               | f64 (-0, NaN, ±Infinity exact) |
 * | V_ASCII: a string of chars < 0x80       | u32 byte length, the bytes     |
 * | V_UTF8: any other well-formed string    | u32 byte length, UTF-8         |
 * | V_EXTRA: anything else                  | u32 index into `extra`         |
 *
 * Why this shape:
 * - One row stream, not the spike's columns: records differ in shape (any
 *   arity, tracking batches between tuples) and their order is part of the
 *   contract, so they are written in order as they come.
 * - Unaligned fields through one DataView: TurboFan inlines DataView access
 *   and unaligned loads cost nothing on x64 and arm64, so padding would only
 *   add bookkeeping.
 * - Two string tags: an ASCII string decodes one byte to one char with no
 *   TextDecoder call (see utf8.ts). Lone surrogates do not survive UTF-8
 *   (TextEncoder replaces them with U+FFFD), so such strings go to `extra`.
 * - V_INT: counts and indexes are small integers; 5 bytes instead of 9, and
 *   the decoder hands back a small integer.
 * - V_EXTRA: tuples hold anything structuredClone accepts (tuples are
 *   values). Only the common primitives are packed; everything else is
 *   structured-cloned by postMessage in one `extra` array, in value order,
 *   and referenced by index, so it needs no codec of its own. A value that
 *   cannot be cloned fails at postMessage, not here.
 */
import { SquallError } from '../../errors/index.ts';
import { decodeAscii, decodeUtf8, encodeUtf8, isWellFormed } from './utf8.ts';

const REC_TUPLE = 1;
const REC_TRACKED = 2;
const REC_TRACK = 3;

const V_UNDEFINED = 0;
const V_NULL = 1;
const V_FALSE = 2;
const V_TRUE = 3;
const V_INT = 4;
const V_FLOAT = 5;
const V_ASCII = 6;
const V_UTF8 = 7;
const V_EXTRA = 8;

const TUPLE_HEADER_BYTES = 1 + 4 * 5; // tag, four u32, idCount (written or not)
const TRACK_HEADER_BYTES = 1 + 4 * 2;
/** u32 words per tracking record. */
const TRACK_WORDS = 5;
const VALUE_MAX_FIXED_BYTES = 9; // tag + f64, the largest value other than a string's bytes
/**
 * Up to this many UTF-16 units, a charCodeAt loop writes ASCII faster than a
 * TextEncoder.encodeInto call: about 150 ns each at 32 units, the loop 4x
 * faster at 4, encodeInto 2x faster at 64 (Node 20, x64).
 */
const SHORT_STRING_UNITS = 32;
/** The default first buffer: a word-count tuple with one root takes 51 bytes, so 1024 of them fit without growing. */
const DEFAULT_INITIAL_BYTES = 64 * 1024;
const MIN_INITIAL_BYTES = 64;
/**
 * The most an encoder keeps between batches (unless initialBytes is larger).
 * A batch that grew it past this (a huge string) gets a buffer of the initial
 * size after finish, so one big tuple does not pin megabytes for the life of
 * a channel.
 */
const RETAIN_MAX_BYTES = 1024 * 1024;

/** Receives decoded records, in the order they were added. */
export interface BatchSink {
  /**
   * One tuple. Untracked: the four ids are 0 and `more` null. Tracked: the
   * first root and the tuple's id for it, and further roots in `more` as
   * groups of four u32s (rootLo, rootHi, idLo, idHi), or null.
   */
  tuple(target: number, sourceTask: number, streamIndex: number, values: unknown[], rootLo: number, rootHi: number, idLo: number, idHi: number, more: number[] | null): void;
  /** A batch of tracking records: `count` records of 5 words at words[0..count*5), valid only during the call. */
  track(target: number, words: Int32Array, count: number): void;
}

/** What goes in one postMessage: `buf` is transferred, `extra` (if not null) is structured-cloned. */
export interface EncodedBatch {
  buf: ArrayBuffer;
  extra: unknown[] | null;
  count: number;
}

/**
 * Packs records into a growing buffer until `finish` hands them over as one
 * batch; then it starts again on the same buffer. Not shared between threads:
 * one encoder per outgoing channel.
 *
 * @example
 * const enc = new BatchEncoder();
 * enc.addTuple(7, 3, 0, ['cow', 1], [rootLo, rootHi, idLo, idHi]);
 * enc.addTrack(2, trackBatch.data, trackBatch.count);
 * const batch = enc.finish();
 * port.postMessage(batch, [batch.buf]);
 */
export class BatchEncoder {
  private readonly initialBytes: number;
  private readonly retainBytes: number;
  private buf: ArrayBuffer;
  private u8: Uint8Array;
  private dv: DataView;
  private pos = 0;
  private records = 0;
  private extra: unknown[] | null = null;

  constructor(initialBytes: number = DEFAULT_INITIAL_BYTES) {
    if (!Number.isInteger(initialBytes) || initialBytes < MIN_INITIAL_BYTES) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        message: `initialBytes must be an integer of at least ${MIN_INITIAL_BYTES}, got ${String(initialBytes)}`,
      });
    }
    this.initialBytes = initialBytes;
    this.retainBytes = Math.max(initialBytes, RETAIN_MAX_BYTES);
    this.buf = new ArrayBuffer(initialBytes);
    this.u8 = new Uint8Array(this.buf);
    this.dv = new DataView(this.buf);
  }

  /** Records added since the last finish. */
  get count(): number {
    return this.records;
  }

  /** Bytes used so far, for flush-on-size decisions. */
  get byteLength(): number {
    return this.pos;
  }

  /** ids: null (untracked) or groups of 4 u32: rootLo, rootHi, idLo, idHi (length a multiple of 4). */
  addTuple(target: number, sourceTask: number, streamIndex: number, values: readonly unknown[], ids: readonly number[] | null): void {
    const idCount = ids === null ? 0 : ids.length;
    if ((idCount & 3) !== 0) throw badIds(idCount);
    if (ids === null || idCount === 0) {
      this.addTracked(target, sourceTask, streamIndex, values, 0, 0, 0, 0, null);
      return;
    }
    this.addTracked(target, sourceTask, streamIndex, values, ids[0]!, ids[1]!, ids[2]!, ids[3]!, idCount > 4 ? ids.slice(4) : null);
  }

  /**
   * A tuple as the runtime holds it: the first root's ids in four numbers,
   * further roots in `more`; tracked when the root is not zero.
   */
  addTracked(
    target: number,
    sourceTask: number,
    streamIndex: number,
    values: readonly unknown[],
    rootLo: number,
    rootHi: number,
    idLo: number,
    idHi: number,
    more: readonly number[] | null,
  ): void {
    if (target >>> 0 !== target) throw notU32('target', target);
    if (sourceTask >>> 0 !== sourceTask) throw notU32('sourceTask', sourceTask);
    if (streamIndex >>> 0 !== streamIndex) throw notU32('streamIndex', streamIndex);
    const tracked = (rootLo | rootHi) !== 0;
    const moreCount = more === null ? 0 : more.length;
    if ((moreCount & 3) !== 0) throw badIds(moreCount + 4);
    const valueCount = values.length;

    // Room for the worst case, so nothing below checks or grows mid-record.
    let bound = TUPLE_HEADER_BYTES + 16 + 4 * moreCount + VALUE_MAX_FIXED_BYTES * valueCount;
    for (let i = 0; i < valueCount; i++) {
      const v = values[i];
      if (typeof v === 'string') bound += 3 * v.length;
    }
    if (this.pos + bound > this.u8.length) this.grow(this.pos + bound);

    const dv = this.dv;
    let p = this.pos;
    dv.setUint8(p, tracked ? REC_TRACKED : REC_TUPLE);
    dv.setUint32(p + 1, target, true);
    dv.setUint32(p + 5, sourceTask, true);
    dv.setUint32(p + 9, streamIndex, true);
    dv.setUint32(p + 13, valueCount, true);
    p += 17;
    if (tracked) {
      dv.setUint32(p, 4 + moreCount, true);
      p += 4;
      p = writeId(dv, p, rootLo, 0);
      p = writeId(dv, p, rootHi, 1);
      p = writeId(dv, p, idLo, 2);
      p = writeId(dv, p, idHi, 3);
      for (let i = 0; i < moreCount; i++) p = writeId(dv, p, more![i]!, 4 + i);
    }
    for (let i = 0; i < valueCount; i++) p = this.writeValue(p, values[i]);
    this.pos = p;
    this.records++;
  }

  /** A batch of tracking records for `target`: `count` records of 5 words from `words`. */
  addTrack(target: number, words: Int32Array | Uint32Array, count: number): void {
    if (target >>> 0 !== target) throw notU32('target', target);
    if (count >>> 0 !== count || count * TRACK_WORDS > words.length) throw invariantError(`track batch of ${String(count)} records in ${words.length} words`);
    const bytes = TRACK_HEADER_BYTES + 4 * TRACK_WORDS * count;
    if (this.pos + bytes > this.u8.length) this.grow(this.pos + bytes);
    const dv = this.dv;
    let p = this.pos;
    dv.setUint8(p, REC_TRACK);
    dv.setUint32(p + 1, target, true);
    dv.setUint32(p + 5, count, true);
    p += TRACK_HEADER_BYTES;
    const n = count * TRACK_WORDS;
    for (let i = 0; i < n; i++, p += 4) dv.setInt32(p, words[i]! | 0, true);
    this.pos = p;
    this.records++;
  }

  /** Hand over the batch: returns a fresh ArrayBuffer sized to the data (slice or own), and resets the encoder for reuse. */
  finish(): EncodedBatch {
    // A copy of the used bytes, not the encoder's own buffer: handing that
    // over means allocating (and zeroing) a full-size one for the next batch.
    // Slicing the 13 KB of 256 word-count tuples took about 3 us, a new
    // 64 KiB buffer about 5 us (Node 20, x64).
    const batch: EncodedBatch = { buf: this.buf.slice(0, this.pos), extra: this.extra, count: this.records };
    this.pos = 0;
    this.records = 0;
    this.extra = null;
    if (this.buf.byteLength > this.retainBytes) this.replaceBuffer(new ArrayBuffer(this.initialBytes));
    return batch;
  }

  /** Writes one value at `p` (room already made) and returns the position after it. */
  private writeValue(p: number, v: unknown): number {
    const dv = this.dv;
    switch (typeof v) {
      case 'string':
        return this.writeString(p, v);
      case 'number':
        // (v | 0) === v admits -0, which must stay -0: 1 / -0 is -Infinity.
        if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
          dv.setUint8(p, V_INT);
          dv.setInt32(p + 1, v, true);
          return p + 5;
        }
        dv.setUint8(p, V_FLOAT);
        dv.setFloat64(p + 1, v, true);
        return p + 9;
      case 'boolean':
        dv.setUint8(p, v ? V_TRUE : V_FALSE);
        return p + 1;
      case 'undefined':
        dv.setUint8(p, V_UNDEFINED);
        return p + 1;
      default:
        if (v === null) {
          dv.setUint8(p, V_NULL);
          return p + 1;
        }
        return this.writeExtra(p, v);
    }
  }

  private writeString(p: number, s: string): number {
    const u8 = this.u8;
    const n = s.length;
    const start = p + 5;
    if (n <= SHORT_STRING_UNITS) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        u8[start + i] = c;
      }
      if (i === n) return this.stringHeader(p, V_ASCII, n);
    }
    // Long or not ASCII. UTF-8 takes at least 2 bytes for a char >= 0x80,
    // so the string was ASCII exactly when the byte count equals its length.
    const written = encodeUtf8(s, u8, start);
    if (written === n) return this.stringHeader(p, V_ASCII, n);
    if (!isWellFormed(s)) return this.writeExtra(p, s);
    return this.stringHeader(p, V_UTF8, written);
  }

  private stringHeader(p: number, tag: number, byteLength: number): number {
    this.dv.setUint8(p, tag);
    this.dv.setUint32(p + 1, byteLength, true);
    return p + 5 + byteLength;
  }

  private writeExtra(p: number, v: unknown): number {
    const extra = this.extra ?? (this.extra = []);
    this.dv.setUint8(p, V_EXTRA);
    this.dv.setUint32(p + 1, extra.length, true);
    extra.push(v);
    return p + 5;
  }

  /** Out of line: the hot path only compares. Doubles, so a batch grows O(log n) times. */
  private grow(minBytes: number): void {
    const next = new ArrayBuffer(Math.max(minBytes, 2 * this.buf.byteLength));
    new Uint8Array(next).set(this.u8.subarray(0, this.pos));
    this.replaceBuffer(next);
  }

  private replaceBuffer(buf: ArrayBuffer): void {
    this.buf = buf;
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
  }
}

/** Decoded tracking records, handed to the sink during its call only. */
let trackScratch = new Int32Array(1024 * TRACK_WORDS);

/**
 * Calls `sink` once per record, in order. Every tuple gets a fresh `values`
 * array and a fresh `more` array (or null) that the receiver may keep.
 * `batch.extra` must be the structured clone of the encoder's `extra`
 * (postMessage makes it); `buf` is only read.
 */
export function decodeBatch(batch: EncodedBatch, sink: BatchSink): void {
  const buf = batch.buf;
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  const extra = batch.extra;
  const count = batch.count;
  let p = 0;
  for (let r = 0; r < count; r++) {
    const rec = u8[p];
    if (rec === REC_TRACK) {
      const target = dv.getUint32(p + 1, true);
      const n = dv.getUint32(p + 5, true);
      p += TRACK_HEADER_BYTES;
      const words = n * TRACK_WORDS;
      if (trackScratch.length < words) trackScratch = new Int32Array(words);
      for (let i = 0; i < words; i++, p += 4) trackScratch[i] = dv.getInt32(p, true);
      sink.track(target, trackScratch, n);
      continue;
    }
    if (rec !== REC_TUPLE && rec !== REC_TRACKED) throw corrupt(`record ${r} has tag ${rec} at byte ${p}`);
    const target = dv.getUint32(p + 1, true);
    const sourceTask = dv.getUint32(p + 5, true);
    const streamIndex = dv.getUint32(p + 9, true);
    const valueCount = dv.getUint32(p + 13, true);
    p += 17;
    let rootLo = 0;
    let rootHi = 0;
    let idLo = 0;
    let idHi = 0;
    let more: number[] | null = null;
    if (rec === REC_TRACKED) {
      const idCount = dv.getUint32(p, true);
      p += 4;
      if (idCount >= 4) {
        // Signed, as IdSource draws them (see there).
        rootLo = dv.getInt32(p, true);
        rootHi = dv.getInt32(p + 4, true);
        idLo = dv.getInt32(p + 8, true);
        idHi = dv.getInt32(p + 12, true);
        p += 16;
        if (idCount > 4) {
          more = new Array<number>(idCount - 4);
          for (let i = 0; i < idCount - 4; i++, p += 4) more[i] = dv.getInt32(p, true);
        }
      }
    }
    // Exact-size arrays: push onto [] reserves 16 slots at the first push,
    // and decoding word-count tuples took 45 ns a tuple this way against
    // 65-70 with push. V8 marks them holey, which costs a reader next to
    // nothing once every slot is filled.
    const values: unknown[] = new Array(valueCount);
    for (let i = 0; i < valueCount; i++) {
      const tag = u8[p];
      switch (tag) {
        case V_ASCII: {
          const n = dv.getUint32(p + 1, true);
          values[i] = decodeAscii(u8, p + 5, n);
          p += 5 + n;
          break;
        }
        case V_INT:
          values[i] = dv.getInt32(p + 1, true);
          p += 5;
          break;
        case V_FLOAT:
          values[i] = dv.getFloat64(p + 1, true);
          p += 9;
          break;
        case V_UTF8: {
          const n = dv.getUint32(p + 1, true);
          values[i] = decodeUtf8(u8, p + 5, n);
          p += 5 + n;
          break;
        }
        case V_TRUE:
          values[i] = true;
          p += 1;
          break;
        case V_FALSE:
          values[i] = false;
          p += 1;
          break;
        case V_NULL:
          values[i] = null;
          p += 1;
          break;
        case V_UNDEFINED:
          values[i] = undefined;
          p += 1;
          break;
        case V_EXTRA: {
          const index = dv.getUint32(p + 1, true);
          if (extra === null || index >= extra.length) throw corrupt(`record ${r} refers to extra[${index}], which the batch does not have`);
          values[i] = extra[index];
          p += 5;
          break;
        }
        default:
          throw corrupt(`record ${r} value ${i} has tag ${tag} at byte ${p}`);
      }
    }
    sink.tuple(target, sourceTask, streamIndex, values, rootLo, rootHi, idLo, idHi, more);
  }
  if (p !== buf.byteLength) throw corrupt(`${count} records ended at byte ${p} of ${buf.byteLength}`);
}

// The encoder's inputs come from the runtime, not from users: a bad one is a
// bug in squall. Out of line, so the checks on the hot path stay small.
function notU32(field: string, value: unknown): SquallError {
  return invariantError(`batch ${field} must be an unsigned 32-bit integer, got ${String(value)}`);
}

/** An id half, signed or unsigned (the same 32 bits either way). */
function writeId(dv: DataView, p: number, id: number, index: number): number {
  if (id >>> 0 !== id && (id | 0) !== id) throw notU32('ids[' + index + ']', id);
  dv.setInt32(p, id | 0, true);
  return p + 4;
}

function badIds(length: number): SquallError {
  return invariantError(`tuple ids must come in groups of 4 (rootLo, rootHi, idLo, idHi), got ${length} numbers`);
}

function corrupt(what: string): SquallError {
  return invariantError(`corrupt batch: ${what}`);
}

function invariantError(message: string): SquallError {
  return new SquallError({ code: 'E_INVARIANT', message: `squall bug: ${message}` });
}
