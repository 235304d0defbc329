/**
 * Micro-benchmark of the batch codec (src/runtime/transfer): encode + decode
 * throughput of word-count tuples against structuredClone of the same batch
 * as arrays of arrays, which is what postMessage would do without the codec
 * (it serializes on the sender and deserializes on the receiver; here both
 * halves run on one thread, and the transfer of the buffer, which costs the
 * same for any size, is left out).
 *
 *   node --import tsx bench/codec.ts [secondsPerCase]
 *
 * Each case repeats whole batches for a window; codec and structuredClone
 * windows alternate, 5 of each, and the table shows medians. The receiving
 * side touches every field (hashes the word, sums the numbers) as a host
 * would, so lazily built strings are paid for and nothing is optimized away.
 * Compare the speedup, not absolute figures across runs.
 */
import { SeededRandom } from '../src/runtime/random.ts';
import { BatchEncoder, decodeBatch } from '../src/runtime/transfer/index.ts';
import type { BatchSink, EncodedBatch } from '../src/runtime/transfer/index.ts';

const WORDS =
  'the cow jumped over moon an apple a day keeps doctor away four score and seven years ago snow white dwarfs i am at two with nature quick brown fox jumps lazy dog stitch in time saves nine all that glitters is not gold'.split(
    ' ',
  );
const BATCH_SIZES = [64, 256, 1024];
const WINDOWS = 5;
const seconds = Number(process.argv[2] ?? 0.5);

interface InputTuple {
  target: number;
  sourceTask: number;
  streamIndex: number;
  values: unknown[];
  ids: number[];
}

/** 4096 distinct tuples, cycled through: [word, count] with one root (4 u32 ids). */
function makeInputs(): InputTuple[] {
  const rnd = new SeededRandom(1);
  const out: InputTuple[] = [];
  for (let i = 0; i < 4096; i++) {
    out.push({
      target: rnd.int(16),
      sourceTask: rnd.int(16),
      streamIndex: 0,
      values: [WORDS[rnd.int(WORDS.length)], 1 + rnd.int(100_000)],
      ids: [rnd.u32(), rnd.u32(), rnd.u32(), rnd.u32()],
    });
  }
  return out;
}

/** What a receiving host does with a tuple, reduced to a checksum. */
function touch(target: number, sourceTask: number, values: unknown[], ids: number[] | null): number {
  const w = values[0] as string;
  let h = 0;
  for (let i = 0; i < w.length; i++) h = (Math.imul(h, 31) + w.charCodeAt(i)) | 0;
  const i0 = ids === null ? 0 : ids[0]! ^ ids[1]! ^ ids[2]! ^ ids[3]!;
  return (target ^ sourceTask ^ h ^ i0) + ((values[1] as number) & 0xff);
}

class TouchSink implements BatchSink {
  sum = 0;
  tuple(target: number, sourceTask: number, _streamIndex: number, values: unknown[], rootLo: number, rootHi: number, idLo: number, idHi: number): void {
    this.sum += touch(target, sourceTask, values, (rootLo | rootHi) === 0 ? null : [rootLo, rootHi, idLo, idHi]);
  }
  track(): void {}
}

const inputs = makeInputs();
const sink = new TouchSink();

function encodeBatch(enc: BatchEncoder, start: number, size: number): EncodedBatch {
  for (let i = 0; i < size; i++) {
    const t = inputs[(start + i) & 4095]!;
    enc.addTuple(t.target, t.sourceTask, t.streamIndex, t.values, t.ids);
  }
  return enc.finish();
}

function codecRound(enc: BatchEncoder, start: number, size: number): void {
  const batch = encodeBatch(enc, start, size);
  decodeBatch({ buf: batch.buf, extra: batch.extra === null ? null : structuredClone(batch.extra), count: batch.count }, sink);
}

function cloneRound(start: number, size: number): void {
  const batch: unknown[][] = [];
  for (let i = 0; i < size; i++) {
    const t = inputs[(start + i) & 4095]!;
    batch.push([t.target, t.sourceTask, t.streamIndex, t.values, t.ids]);
  }
  const copy = structuredClone(batch);
  for (let i = 0; i < copy.length; i++) {
    const r = copy[i]!;
    sink.sum += touch(r[0] as number, r[1] as number, r[3] as unknown[], r[4] as number[]);
  }
}

/** Tuples per second over one window of `seconds`, running whole batches. */
function rate(size: number, round: (start: number, size: number) => void): number {
  let tuples = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 16; k++) {
      round(tuples, size);
      tuples += size;
    }
    now = performance.now();
  }
  return tuples / ((now - t0) / 1000);
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}

/**
 * Codec and clone windows alternate, so a noisy neighbour slows both alike;
 * the speedup is the median of the per-pair ratios.
 */
function measure(size: number, enc: BatchEncoder): { codec: number; clone: number; speedup: number } {
  const codecRound1 = (start: number, n: number): void => codecRound(enc, start, n);
  rate(size, codecRound1); // warm-up windows, not counted
  rate(size, cloneRound);
  const codec: number[] = [];
  const clone: number[] = [];
  const ratios: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    codec.push(rate(size, codecRound1));
    clone.push(rate(size, cloneRound));
    ratios.push(codec[w]! / clone[w]!);
  }
  return { codec: median(codec), clone: median(clone), speedup: median(ratios) };
}

/** Nanoseconds per tuple for encode alone and decode alone (the split of the codec's time), median of 5 passes. */
function split(enc: BatchEncoder, size: number): { encodeNs: number; decodeNs: number; bytes: number } {
  const reps = Math.max(1, Math.round(100_000 / size));
  const n = reps * size;
  const encodeNs: number[] = [];
  const decodeNs: number[] = [];
  let bytes = 0;
  for (let pass = 0; pass < 5; pass++) {
    const batches: EncodedBatch[] = [];
    let t = performance.now();
    for (let r = 0; r < reps; r++) batches.push(encodeBatch(enc, r * size, size));
    encodeNs.push(((performance.now() - t) * 1e6) / n);
    t = performance.now();
    for (const b of batches) decodeBatch(b, sink);
    decodeNs.push(((performance.now() - t) * 1e6) / n);
    bytes = batches[0]!.buf.byteLength / size;
  }
  return { encodeNs: median(encodeNs), decodeNs: median(decodeNs), bytes };
}

const rows: string[][] = [['batch', 'codec M/s', 'structuredClone M/s', 'speedup', 'encode ns/t', 'decode ns/t', 'bytes/t']];
for (const size of BATCH_SIZES) {
  const enc = new BatchEncoder();
  const m = measure(size, enc);
  const s = split(enc, size);
  rows.push([
    String(size),
    (m.codec / 1e6).toFixed(2),
    (m.clone / 1e6).toFixed(2),
    m.speedup.toFixed(1) + 'x',
    s.encodeNs.toFixed(0),
    s.decodeNs.toFixed(0),
    s.bytes.toFixed(1),
  ]);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c]!)).join('  '));
console.log(`word-count tuples ([word, count], one root of ids), ${seconds}s windows, median of ${WINDOWS}; checksum ${sink.sum & 0xffff}`);
