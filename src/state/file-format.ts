/**
 * The embedded store's checkpoint file: a checkpoint's delta, or a base
 * (the state as of a checkpoint, folded by compaction). Immutable once
 * written. Little-endian:
 *
 *   header   "SQSTATE\0" | u32 format (1) | u32 kind (1 delta, 2 base)
 *   blocks   one per (component, key group) of keyed entries, then one per
 *            component of operator state; each checksummed on its own
 *   footer   JSON: the checkpoint id, and where every block is, with its CRC-32
 *   trailer  f64 footer offset | u32 footer length | u32 footer CRC-32 | "SQSTEND\0"
 *
 * A keyed entry: u8 tag (1 put, 0 delete) | u32 key bytes | key (UTF-8) |
 * for a put, u32 value bytes | value. An operator entry: u32 task index |
 * u32 value bytes | value. A truncated file has no valid trailer; a flipped
 * bit fails the footer's or a block's CRC.
 */
import { crc32 } from './crc32.ts';
import type { KeyGroupDelta } from './base.ts';

export const HEADER = Buffer.from('SQSTATE\0', 'latin1');
export const TRAILER_MAGIC = Buffer.from('SQSTEND\0', 'latin1');
export const HEADER_BYTES = 16;
export const TRAILER_BYTES = 24;
export const FORMAT = 1;

export type FileKind = 'delta' | 'base';

/** Where a block is in its file. */
export interface BlockRef {
  readonly offset: number;
  readonly length: number;
  readonly crc: number;
  readonly count: number;
}

/** A file's footer, parsed: its blocks by component (and key group). */
export interface FileIndex {
  readonly id: number;
  readonly kind: FileKind;
  /** The file's size in bytes. */
  readonly bytes: number;
  readonly keyed: Map<string, Map<number, BlockRef>>;
  readonly operator: Map<string, BlockRef>;
}

interface FooterJson {
  id: number;
  kind: FileKind;
  /** [component, keyGroup, offset, length, crc, count] */
  keyed: Array<[string, number, number, number, number, number]>;
  /** [component, offset, length, crc, count] */
  operator: Array<[string, number, number, number, number]>;
}

export function encodeHeader(kind: FileKind): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  HEADER.copy(b, 0);
  b.writeUInt32LE(FORMAT, 8);
  b.writeUInt32LE(kind === 'delta' ? 1 : 2, 12);
  return b;
}

/**
 * Write a key as UTF-8 at `off`; returns its byte length. Short ASCII keys
 * (most keys) are copied byte by byte: cheaper than a call into the UTF-8
 * encoder per key.
 */
function writeKey(buf: Buffer, key: string, off: number): number {
  const n = key.length;
  if (n <= 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) break;
      buf[off + i] = c;
    }
    if (i === n) return n;
  }
  return buf.write(key, off, 'utf8');
}

/** A u32, little-endian, without Buffer's checked writer (kept monomorphic on the hot path). */
function u32(buf: Buffer, n: number, off: number): void {
  buf[off] = n & 0xff;
  buf[off + 1] = (n >>> 8) & 0xff;
  buf[off + 2] = (n >>> 16) & 0xff;
  buf[off + 3] = n >>> 24;
}

function writeValue(buf: Buffer, value: Uint8Array, off: number): void {
  buf.set(value, off);
}

/**
 * Encode keyed entries (null: a delete). Returns the block's bytes. One
 * pass over the entries (each touches a key and a value somewhere in the
 * heap: the cost is memory latency more than arithmetic), into a buffer
 * that grows when an estimate falls short.
 */
export function encodeKeyedBlock(entries: KeyGroupDelta): Buffer {
  let buf = Buffer.allocUnsafe(Math.max(64, entries.size * 32));
  let off = 0;
  for (const entry of entries) {
    const key = entry[0];
    const value = entry[1];
    const need = 9 + key.length * 3 + (value === null ? 0 : value.length);
    if (off + need > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, off + need));
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    }
    const n = writeKey(buf, key, off + 5);
    u32(buf, n, off + 1);
    if (value === null) {
      buf[off] = 0;
      off += 5 + n;
    } else {
      buf[off] = 1;
      off += 5 + n;
      u32(buf, value.length, off);
      writeValue(buf, value, off + 4);
      off += 4 + value.length;
    }
  }
  return buf.subarray(0, off);
}

/** Encode puts given as columns (compaction's output). */
export function encodeKeyedColumns(keys: readonly string[], values: readonly Uint8Array[]): Buffer {
  let bound = 0;
  for (let i = 0; i < keys.length; i++) bound += 9 + keys[i]!.length * 3 + values[i]!.length;
  const buf = Buffer.allocUnsafe(bound);
  let off = 0;
  for (let i = 0; i < keys.length; i++) {
    const value = values[i]!;
    buf[off] = 1;
    const n = writeKey(buf, keys[i]!, off + 5);
    u32(buf, n, off + 1);
    off += 5 + n;
    u32(buf, value.length, off);
    writeValue(buf, value, off + 4);
    off += 4 + value.length;
  }
  return buf.subarray(0, off);
}

export function encodeOperatorBlock(tasks: Map<number, Uint8Array>): Buffer {
  let bound = 0;
  for (const v of tasks.values()) bound += 8 + v.length;
  const buf = Buffer.allocUnsafe(bound);
  let off = 0;
  for (const [task, value] of [...tasks].sort((a, b) => a[0] - b[0])) {
    buf.writeUInt32LE(task, off);
    buf.writeUInt32LE(value.length, off + 4);
    buf.set(value, off + 8);
    off += 8 + value.length;
  }
  return buf.subarray(0, off);
}

/** Collects blocks into a file's bytes and its footer. */
export class FileBuilder {
  private offset = HEADER_BYTES;
  private readonly footer: FooterJson;

  constructor(id: number, kind: FileKind) {
    this.footer = { id, kind, keyed: [], operator: [] };
  }

  get kind(): FileKind {
    return this.footer.kind;
  }

  header(): Buffer {
    return encodeHeader(this.footer.kind);
  }

  /** Record a keyed block about to be written; `crc` may be given when copying a verified block. */
  keyed(component: string, keyGroup: number, block: Uint8Array, count: number, crc = crc32(block)): void {
    this.footer.keyed.push([component, keyGroup, this.offset, block.length, crc, count]);
    this.offset += block.length;
  }

  operator(component: string, block: Uint8Array, count: number): void {
    this.footer.operator.push([component, this.offset, block.length, crc32(block), count]);
    this.offset += block.length;
  }

  /** The footer and trailer, after the last block. */
  end(): Buffer {
    const json = Buffer.from(JSON.stringify(this.footer), 'utf8');
    const t = Buffer.alloc(TRAILER_BYTES);
    t.writeDoubleLE(this.offset, 0);
    t.writeUInt32LE(json.length, 8);
    t.writeUInt32LE(crc32(json), 12);
    TRAILER_MAGIC.copy(t, 16);
    this.offset += json.length + TRAILER_BYTES;
    return Buffer.concat([json, t]);
  }

  get bytes(): number {
    return this.offset;
  }
}

/** Why a file does not parse; the caller turns it into E_STATE_CORRUPT with the path. */
export class FormatError extends Error {}

/** Parse a file's trailer and footer. `read(offset, length)` reads bytes of the file. */
export async function readIndex(size: number, read: (offset: number, length: number) => Promise<Buffer>): Promise<FileIndex> {
  if (size < HEADER_BYTES + TRAILER_BYTES) throw new FormatError(`truncated: ${size} bytes, shorter than a header and trailer`);
  const head = await read(0, HEADER_BYTES);
  if (!head.subarray(0, 8).equals(HEADER)) throw new FormatError('not a squall state file (bad header)');
  const format = head.readUInt32LE(8);
  if (format !== FORMAT) throw new FormatError(`unknown format ${format}`);
  const t = await read(size - TRAILER_BYTES, TRAILER_BYTES);
  if (!t.subarray(16).equals(TRAILER_MAGIC)) throw new FormatError(`truncated or damaged: no trailer at the end of its ${size} bytes`);
  const footerOffset = t.readDoubleLE(0);
  const footerLength = t.readUInt32LE(8);
  const footerCrc = t.readUInt32LE(12);
  if (footerOffset + footerLength + TRAILER_BYTES !== size) {
    throw new FormatError(`damaged: the trailer says ${footerOffset + footerLength + TRAILER_BYTES} bytes, the file has ${size}`);
  }
  const json = await read(footerOffset, footerLength);
  if (crc32(json) !== footerCrc) throw new FormatError('damaged: the footer fails its CRC-32');
  let footer: FooterJson;
  try {
    footer = JSON.parse(json.toString('utf8')) as FooterJson;
  } catch {
    throw new FormatError('damaged: the footer is not JSON');
  }
  const keyed = new Map<string, Map<number, BlockRef>>();
  for (const [component, kg, offset, length, crc, count] of footer.keyed) {
    let groups = keyed.get(component);
    if (groups === undefined) keyed.set(component, (groups = new Map()));
    if (offset < HEADER_BYTES || offset + length > footerOffset) throw new FormatError('damaged: a block lies outside the file');
    groups.set(kg, { offset, length, crc, count });
  }
  const operator = new Map<string, BlockRef>();
  for (const [component, offset, length, crc, count] of footer.operator) {
    if (offset < HEADER_BYTES || offset + length > footerOffset) throw new FormatError('damaged: a block lies outside the file');
    operator.set(component, { offset, length, crc, count });
  }
  return { id: footer.id, kind: footer.kind, bytes: size, keyed, operator };
}

/** Check a block read from disk against its CRC. */
export function verifyBlock(block: Uint8Array, ref: BlockRef): void {
  if (block.length !== ref.length) throw new FormatError(`truncated: a block at offset ${ref.offset} is short`);
  if (crc32(block) !== ref.crc) throw new FormatError(`damaged: the block at offset ${ref.offset} fails its CRC-32`);
}

/** Apply a keyed block to a map (later entries win; deletes set null). */
export function applyKeyedBlock(block: Buffer, into: Map<string, Uint8Array | null>): void {
  let off = 0;
  const end = block.length;
  while (off < end) {
    const tag = block[off]!;
    const kn = block.readUInt32LE(off + 1);
    const key = block.toString('utf8', off + 5, off + 5 + kn);
    off += 5 + kn;
    if (tag === 1) {
      const vn = block.readUInt32LE(off);
      into.set(key, block.subarray(off + 4, off + 4 + vn));
      off += 4 + vn;
    } else {
      into.set(key, null);
    }
  }
  if (off !== end) throw new FormatError('damaged: a block does not end on an entry');
}

/** Read a block of puts only (a base file's) into columns. */
export function readKeyedColumns(block: Buffer, keys: string[], values: Uint8Array[]): void {
  let off = 0;
  const end = block.length;
  while (off < end) {
    const tag = block[off]!;
    const kn = block.readUInt32LE(off + 1);
    const key = block.toString('utf8', off + 5, off + 5 + kn);
    off += 5 + kn;
    if (tag !== 1) throw new FormatError('damaged: a delete in a base file');
    const vn = block.readUInt32LE(off);
    keys.push(key);
    values.push(block.subarray(off + 4, off + 4 + vn));
    off += 4 + vn;
  }
  if (off !== end) throw new FormatError('damaged: a block does not end on an entry');
}

export function decodeOperatorBlock(block: Buffer): Array<{ taskIndex: number; value: Uint8Array }> {
  const out: Array<{ taskIndex: number; value: Uint8Array }> = [];
  let off = 0;
  while (off < block.length) {
    const taskIndex = block.readUInt32LE(off);
    const n = block.readUInt32LE(off + 4);
    out.push({ taskIndex, value: block.subarray(off + 8, off + 8 + n) });
    off += 8 + n;
  }
  if (off !== block.length) throw new FormatError('damaged: a block does not end on an entry');
  return out;
}
