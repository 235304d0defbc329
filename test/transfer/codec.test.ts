import { MessageChannel } from 'node:worker_threads';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/runtime/random.ts';
import { BatchEncoder, decodeBatch } from '../../src/runtime/transfer/index.ts';
import type { BatchSink, EncodedBatch } from '../../src/runtime/transfer/index.ts';

type TupleRecord = { t: 'tuple'; target: number; sourceTask: number; streamIndex: number; values: unknown[]; ids: number[] | null };
/** A batch of tracking records: five words each. */
type TrackRecord = { t: 'track'; target: number; words: number[] };
type AnyRecord = TupleRecord | TrackRecord;

/** Collects what the decoder hands over, in order; a tracked tuple's ids as one flat list again. */
class RecordingSink implements BatchSink {
  readonly records: AnyRecord[] = [];
  tuple(target: number, sourceTask: number, streamIndex: number, values: unknown[], rootLo: number, rootHi: number, idLo: number, idHi: number, more: number[] | null): void {
    const ids = (rootLo | rootHi) === 0 ? null : [rootLo, rootHi, idLo, idHi, ...(more ?? [])].map((x) => x >>> 0);
    this.records.push({ t: 'tuple', target, sourceTask, streamIndex, values, ids });
  }
  track(target: number, words: Int32Array, count: number): void {
    this.records.push({ t: 'track', target, words: Array.from(words.subarray(0, count * 5), (x) => x >>> 0) });
  }
}

function add(enc: BatchEncoder, r: AnyRecord): void {
  if (r.t === 'tuple') enc.addTuple(r.target, r.sourceTask, r.streamIndex, r.values, r.ids);
  else enc.addTrack(r.target, Uint32Array.from(r.words), r.words.length / 5);
}

const track = (target: number, ...words: number[]): TrackRecord => ({ t: 'track', target, words });

/** What postMessage does: the buffer moves (here: a copy), `extra` is structured-cloned. */
function overTheWire(batch: EncodedBatch): EncodedBatch {
  return { buf: batch.buf.slice(0), extra: structuredClone(batch.extra), count: batch.count };
}

function roundTrip(records: AnyRecord[], enc = new BatchEncoder()): { decoded: AnyRecord[]; batch: EncodedBatch } {
  for (const r of records) add(enc, r);
  const batch = enc.finish();
  const sink = new RecordingSink();
  decodeBatch(overTheWire(batch), sink);
  return { decoded: sink.records, batch };
}

const tuple = (values: unknown[], ids: number[] | null = null, target = 1, sourceTask = 2, streamIndex = 0): TupleRecord => ({
  t: 'tuple',
  target,
  sourceTask,
  streamIndex,
  values,
  ids,
});

/** Values of one tuple, after a round trip alone in its batch. */
function roundTripValues(values: unknown[]): { values: unknown[]; extra: unknown[] | null } {
  const { decoded, batch } = roundTrip([tuple(values)]);
  return { values: (decoded[0] as TupleRecord).values, extra: batch.extra };
}

function expectSameValues(actual: unknown[], expected: readonly unknown[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (typeof expected[i] === 'number') expect(Object.is(actual[i], expected[i]), `value ${i}: ${String(actual[i])} vs ${String(expected[i])}`).toBe(true);
    else expect(actual[i]).toEqual(expected[i]);
  }
}

const U32_MAX = 0xffffffff;

describe('batch codec', () => {
  it('round-trips tuples and tracking batches in the order they were added', () => {
    const records: AnyRecord[] = [
      tuple(['the', 1], [1, 2, 3, 4]),
      track(9, (3 << 3) | 1, U32_MAX, 0x80000000, 5, 6),
      tuple([], null, 0, 0, 0),
      tuple(['cow', 2, true], [U32_MAX, U32_MAX, 0, 1, 7, 8, 9, 10], U32_MAX, U32_MAX, U32_MAX),
      track(0),
      tuple(['moon'], null, 4, 5, 6),
      track(1, U32_MAX, 1, 2, 3, 4, (7 << 3) | 2, 0, 1, U32_MAX, 0),
    ];
    const { decoded, batch } = roundTrip(records);
    expect(batch.count).toBe(records.length);
    expect(batch.extra).toBeNull();
    expect(decoded).toEqual(records);
  });

  it('sends a tuple with no ids, or an empty id list, untracked', () => {
    const { decoded } = roundTrip([tuple(['a'], null), tuple(['b'], [])]);
    expect((decoded[0] as TupleRecord).ids).toBeNull();
    expect((decoded[1] as TupleRecord).ids).toBeNull();
  });

  it('packs every fast-path value without extra, numbers bit-exact', () => {
    const values = [
      0, -0, 1, -1, 42, NaN, Infinity, -Infinity,
      2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, U32_MAX,
      0.1, -2.5, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, Number.EPSILON,
      Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e300, -1e-300,
      true, false, null, undefined, '', 'word',
    ];
    const out = roundTripValues(values);
    expect(out.extra).toBeNull();
    expectSameValues(out.values, values);
  });

  it('round-trips empty, ASCII, non-ASCII and emoji strings without extra', () => {
    const values = [
      '', 'a', 'the', 'abcdefgh', 'abcdefghi', 'x'.repeat(32), 'x'.repeat(33), 'x'.repeat(200),
      '\u0000', '\u007f', '\u0080', 'é', 'naïve café', '日本語のテキスト', 'Ω≈ç√∫',
      '😀', 'a😀b', '👨‍👩‍👧‍👦', '\u{10FFFF}', '\uFFFD', '\uFFFF',
      '\uFEFFstarts with a byte order mark', 'ends with one\uFEFF',
      'ascii then é'.padStart(40, '.'), 'é'.repeat(100), '😀'.repeat(50),
    ];
    const out = roundTripValues(values);
    expect(out.extra).toBeNull();
    expect(out.values).toEqual(values);
  });

  it('sends strings with lone surrogates through extra, unchanged', () => {
    const values = [
      '\uD800', '\uDFFF', 'a\uDC00b', '😀'.slice(0, 1), '😀'.slice(1), '\uDC00\uD800',
      'high at the end \uD83D', 'x'.repeat(40) + '\uD800' + 'y'.repeat(40), 'é\uD800é', 'ok',
    ];
    const out = roundTripValues(values);
    expect(out.values).toEqual(values);
    // Every one but the last, in order: UTF-8 would have turned them into U+FFFD.
    expect(out.extra).toEqual(values.slice(0, -1));
  });

  it('round-trips strings larger than 64 KiB, growing from a small buffer', () => {
    const enc = new BatchEncoder(64);
    const ascii = 'abcdefghij'.repeat(10_000); // 100 KB
    const wide = '日本'.repeat(50_000); // 300 KB of UTF-8
    const emoji = '😀'.repeat(40_000); // 160 KB of UTF-8
    const huge = 'z'.repeat(3 * 1024 * 1024);
    const values = [ascii, 1, wide, emoji, huge];
    const { decoded, batch } = roundTrip([tuple(values), tuple(['after'])], enc);
    expect(batch.extra).toBeNull();
    expect((decoded[0] as TupleRecord).values).toEqual(values);
    expect((decoded[1] as TupleRecord).values).toEqual(['after']);
    // The encoder still works after giving back the oversized buffer.
    const next = roundTrip([tuple(['small', 2])], enc);
    expect((next.decoded[0] as TupleRecord).values).toEqual(['small', 2]);
  });

  it('drops a buffer grown past 1 MiB back to its initial size at finish, and keeps a smaller one', () => {
    const enc = new BatchEncoder(64);
    const capacity = (): number => (enc as unknown as { buf: ArrayBuffer }).buf.byteLength;
    enc.addTuple(0, 0, 0, ['x'.repeat(100_000)], null);
    enc.finish();
    expect(capacity()).toBeGreaterThan(64); // 300 KB reserved for the worst case, kept for reuse
    enc.addTuple(0, 0, 0, ['x'.repeat(1_000_000)], null);
    enc.finish();
    expect(capacity()).toBe(64);
  });

  it('round-trips a batch of 10,000 records', () => {
    const records: AnyRecord[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i % 7 === 3) records.push(track(i % 13, ((i % 5) << 3) | 2, (i * 2654435761) >>> 0, i, (i ^ 0x5bd1e995) >>> 0, 0));
      else records.push(tuple([`word${i % 101}`, i, i / 3], [i + 1, (i * 40503) >>> 0, 1, 2], i % 64, i % 8, i % 3));
    }
    const { decoded, batch } = roundTrip(records);
    expect(batch.count).toBe(10_000);
    expect(decoded).toEqual(records);
  });

  it('carries any structured-cloneable value through extra, in order', () => {
    const values = [
      'before',
      { nested: { deep: [1, 'two', { three: 3 }] }, list: [null, undefined, true] },
      new Uint8Array([0, 1, 254, 255]),
      new Map<unknown, unknown>([['k', 1], [2, { v: [3] }]]),
      new Set([1, 'a']),
      123n,
      -(2n ** 70n),
      new Date(1_700_000_000_123),
      [1, [2, [3]], 'x'],
      [],
      {},
      new Float64Array([-0, NaN]),
      7,
    ];
    const { decoded, batch } = roundTrip([tuple(values), tuple([new Date(0), 'mid', [9]])]);
    expect(batch.extra).toHaveLength(13);
    expect((decoded[0] as TupleRecord).values).toEqual(values);
    expect((decoded[1] as TupleRecord).values).toEqual([new Date(0), 'mid', [9]]);
  });

  it('is reusable after finish: the second batch is independent of the first', () => {
    const enc = new BatchEncoder(64);
    enc.addTuple(1, 2, 3, ['first', { a: 1 }], [1, 2, 3, 4]);
    add(enc, track(4, 5, 6, 7, 8, 9));
    const first = enc.finish();
    expect(enc.count).toBe(0);
    expect(enc.byteLength).toBe(0);

    enc.addTuple(11, 12, 13, ['second batch, longer than the first one', 2], null);
    const second = enc.finish();
    expect(second.count).toBe(1);
    expect(second.extra).toBeNull();
    expect(first.extra).toEqual([{ a: 1 }]);

    // Decoding the first after the second was encoded: nothing was overwritten.
    const a = new RecordingSink();
    decodeBatch(overTheWire(first), a);
    expect(a.records).toEqual([tuple(['first', { a: 1 }], [1, 2, 3, 4], 1, 2, 3), track(4, 5, 6, 7, 8, 9)]);
    const b = new RecordingSink();
    decodeBatch(overTheWire(second), b);
    expect(b.records).toEqual([tuple(['second batch, longer than the first one', 2], null, 11, 12, 13)]);
  });

  it('counts records and bytes, and sizes the handed-over buffer to the data', () => {
    const enc = new BatchEncoder();
    expect(enc.count).toBe(0);
    expect(enc.byteLength).toBe(0);
    add(enc, track(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
    expect(enc.count).toBe(1);
    expect(enc.byteLength).toBe(9 + 2 * 20);
    enc.addTuple(1, 2, 3, ['ab', 1], null);
    const used = enc.byteLength;
    expect(used).toBeGreaterThan(49);
    const batch = enc.finish();
    expect(batch.buf.byteLength).toBe(used);
    expect(new BatchEncoder().finish()).toEqual({ buf: new ArrayBuffer(0), extra: null, count: 0 });
  });

  it('gives the receiver fresh values and ids arrays of its own', () => {
    const values = ['a', 1];
    const ids = [1, 2, 3, 4];
    const enc = new BatchEncoder();
    enc.addTuple(0, 0, 0, values, ids);
    enc.addTuple(0, 0, 0, values, ids);
    const batch = enc.finish();
    const sink = new RecordingSink();
    decodeBatch(batch, sink);
    const [x, y] = sink.records as TupleRecord[];
    expect(x!.values).not.toBe(values);
    expect(x!.ids).not.toBe(ids);
    expect(x!.values).not.toBe(y!.values);
    expect(x!.ids).not.toBe(y!.ids);
    x!.values.push('mine');
    x!.ids!.push(5);
    expect(y!.values).toEqual(['a', 1]);
    expect(y!.ids).toEqual([1, 2, 3, 4]);
  });

  it('round-trips through a real MessageChannel with the buffer transferred', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const enc = new BatchEncoder();
      enc.addTuple(3, 1, 0, ['word', 5, new Map([['k', 'v']]), '\uD800'], [10, 20, 30, 40]);
      add(enc, track(2, (1 << 3) | 2, 10, 20, 0, 0));
      const batch = enc.finish();
      const received = once(port2, 'message');
      port1.postMessage(batch, [batch.buf]);
      expect(batch.buf.byteLength).toBe(0); // detached: it moved, it was not copied
      const [msg] = (await received) as [EncodedBatch];
      const sink = new RecordingSink();
      decodeBatch(msg, sink);
      expect(sink.records).toEqual([
        tuple(['word', 5, new Map([['k', 'v']]), '\uD800'], [10, 20, 30, 40], 3, 1, 0),
        track(2, (1 << 3) | 2, 10, 20, 0, 0),
      ]);
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('matches its input on seeded random batches', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = new SeededRandom(seed);
      const enc = new BatchEncoder(64 + rnd.int(4096));
      // Several batches per encoder, so reuse is exercised too.
      for (let b = 0; b < 3; b++) {
        const records: AnyRecord[] = [];
        const n = rnd.int(300);
        for (let i = 0; i < n; i++) records.push(randomRecord(rnd));
        for (const r of records) add(enc, r);
        expect(enc.count).toBe(n);
        const batch = enc.finish();
        const sink = new RecordingSink();
        decodeBatch(overTheWire(batch), sink);
        expect(sink.records.length, `seed ${seed}`).toBe(n);
        for (let i = 0; i < n; i++) {
          const want = records[i]!;
          const got = sink.records[i]!;
          if (want.t === 'track') {
            expect(got, `seed ${seed} record ${i}`).toEqual(want);
          } else {
            expect(got.t).toBe('tuple');
            const g = got as TupleRecord;
            expect([g.target, g.sourceTask, g.streamIndex, g.ids], `seed ${seed} record ${i}`).toEqual([want.target, want.sourceTask, want.streamIndex, want.ids]);
            expectSameValues(g.values, want.values);
          }
        }
      }
    }
  });

  it('refuses inputs that are not u32 as a squall bug', () => {
    const enc = new BatchEncoder();
    const bug = expect.objectContaining({ code: 'E_INVARIANT' });
    expect(() => enc.addTuple(-1, 0, 0, [], null)).toThrow(bug);
    expect(() => enc.addTuple(0, 1.5, 0, [], null)).toThrow(bug);
    expect(() => enc.addTuple(0, 0, 2 ** 32, [], null)).toThrow(bug);
    expect(() => enc.addTuple(0, 0, 0, [], [1, 2, 3])).toThrow(bug);
    expect(() => enc.addTuple(0, 0, 0, [], [1, 2, 1.5, 4])).toThrow(bug);
    expect(() => enc.addTrack(-1, new Uint32Array(5), 1)).toThrow(bug);
    expect(() => enc.addTrack(0, new Uint32Array(5), 2)).toThrow(bug);
    expect(enc.count).toBe(0);
    expect(() => new BatchEncoder(0)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
  });

  it('detects a batch whose count does not match its bytes', () => {
    const enc = new BatchEncoder();
    enc.addTuple(1, 2, 3, ['a'], null);
    enc.addTuple(1, 2, 3, ['b'], null);
    const batch = enc.finish();
    const bug = expect.objectContaining({ code: 'E_INVARIANT' });
    expect(() => decodeBatch({ ...batch, count: 1 }, new RecordingSink())).toThrow(bug);
    expect(() => decodeBatch({ ...batch, count: 3 }, new RecordingSink())).toThrow(bug);
  });
});

// --- random records for the property test -----------------------------------

const EDGE_NUMBERS = [0, -0, NaN, Infinity, -Infinity, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, U32_MAX, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER];

function randomU32(rnd: SeededRandom): number {
  return rnd.int(4) === 0 ? rnd.int(16) : rnd.u32();
}

function randomRecord(rnd: SeededRandom): AnyRecord {
  if (rnd.int(4) === 0) {
    const words: number[] = [];
    const n = rnd.int(4);
    for (let i = 0; i < 5 * n; i++) words.push(randomU32(rnd));
    return track(randomU32(rnd), ...words);
  }
  const values: unknown[] = [];
  const arity = rnd.int(8);
  for (let i = 0; i < arity; i++) values.push(randomValue(rnd));
  let ids: number[] | null = null;
  if (rnd.int(3) !== 0) {
    ids = [];
    // A tracked tuple has a first root that is not zero.
    const roots = 1 + rnd.int(3);
    for (let i = 0; i < 4 * roots; i++) ids.push(rnd.u32());
    if (ids[0] === 0 && ids[1] === 0) ids[0] = 1;
  }
  return tuple(values, ids, randomU32(rnd), randomU32(rnd), randomU32(rnd));
}

function randomValue(rnd: SeededRandom): unknown {
  switch (rnd.int(12)) {
    case 0:
      return rnd.int(1000);
    case 1:
      return (rnd.u32() | 0) * (rnd.int(2) === 0 ? 1 : 1 / 1024);
    case 2:
      return (rnd.float() - 0.5) * 10 ** (rnd.int(40) - 20);
    case 3:
      return EDGE_NUMBERS[rnd.int(EDGE_NUMBERS.length)];
    case 4:
      return [true, false, null, undefined][rnd.int(4)];
    case 5:
    case 6:
      return randomString(rnd, 0x7f);
    case 7:
    case 8:
      return randomString(rnd, 0xffff);
    case 9:
      return { n: rnd.int(100), s: randomString(rnd, 0x7f), list: [rnd.float(), null] };
    case 10:
      return BigInt(rnd.u32()) << BigInt(rnd.int(64));
    default:
      return new Uint8Array([rnd.int(256), rnd.int(256), rnd.int(256)]);
  }
}

/** Random UTF-16 units up to `maxUnit`, so lone and paired surrogates both occur; sometimes long. */
function randomString(rnd: SeededRandom, maxUnit: number): string {
  const length = rnd.int(20) === 0 ? 100 + rnd.int(3000) : rnd.int(40);
  const units: number[] = [];
  for (let i = 0; i < length; i++) {
    const r = rnd.int(10);
    if (r < 6 || maxUnit === 0x7f) units.push(rnd.int(0x80));
    else if (r < 8) units.push(rnd.int(maxUnit + 1));
    else units.push(0xd83d, 0xde00 + rnd.int(0x50)); // an emoji: a surrogate pair
  }
  return String.fromCharCode(...units);
}
