import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/runtime/random.ts';
import { AckerLedger, IdSource, ackerTaskFor } from '../../src/acker/index.ts';
import type { AckerSink } from '../../src/acker/index.ts';

type Event = [kind: string, spoutTask: number, lo: number, hi: number];

function recorder(): AckerSink & { events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    completed: (t, lo, hi) => void events.push(['completed', t, lo, hi]),
    failed: (t, lo, hi) => void events.push(['failed', t, lo, hi]),
    timedOut: (t, lo, hi) => void events.push(['timedOut', t, lo, hi]),
    resetTimeout: (t, lo, hi) => void events.push(['resetTimeout', t, lo, hi]),
  };
}

describe('AckerLedger', () => {
  it('completes a tree when the last ack cancels the init', () => {
    const sink = recorder();
    const ledger = new AckerLedger(sink);
    // Root 1:1 sent to two targets with edges e1, e2.
    ledger.init(1, 1, 0xa ^ 0xb, 0, 4);
    ledger.ack(1, 1, 0xa, 0);
    expect(sink.events).toEqual([]);
    ledger.ack(1, 1, 0xb, 0);
    expect(sink.events).toEqual([['completed', 4, 1, 1]]);
    expect(ledger.size).toBe(0);
  });

  it('does not complete while either half of the value is non-zero', () => {
    const sink = recorder();
    const ledger = new AckerLedger(sink);
    // Edges (5, 1) and (5, 0): their XOR has a zero low half.
    ledger.init(9, 9, 0, 1, 2);
    expect(sink.events).toEqual([]);
    ledger.ack(9, 9, 5, 1); // value (5, 0): a zero high half
    expect(sink.events).toEqual([]);
    ledger.ack(9, 9, 5, 0);
    expect(sink.events).toEqual([['completed', 2, 9, 9]]);
  });

  it('keeps acks that arrive before the init and completes on the init', () => {
    const sink = recorder();
    const ledger = new AckerLedger(sink);
    ledger.ack(2, 3, 0xa, 0x10);
    ledger.ack(2, 3, 0xa, 0x10); // value back to zero, but no spout yet
    ledger.ack(2, 3, 0xb, 0x20);
    expect(sink.events).toEqual([]);
    expect(ledger.size).toBe(1);
    ledger.init(2, 3, 0xb, 0x20, 0);
    expect(sink.events).toEqual([['completed', 0, 2, 3]]);
  });

  it('fails at once when the spout is known, and on the init otherwise', () => {
    const sink = recorder();
    const ledger = new AckerLedger(sink);
    ledger.init(1, 0, 0xa, 0, 7);
    ledger.fail(1, 0);
    expect(sink.events).toEqual([['failed', 7, 1, 0]]);

    ledger.fail(2, 0);
    ledger.ack(2, 0, 0xa, 0);
    expect(sink.events.length).toBe(1);
    ledger.init(2, 0, 0xa, 0, 8); // value is zero, but the fail wins
    expect(sink.events).toEqual([
      ['failed', 7, 1, 0],
      ['failed', 8, 2, 0],
    ]);
    expect(ledger.size).toBe(0);
  });

  it('accepts halves computed with ^ and reports them unsigned', () => {
    const sink = recorder();
    const ledger = new AckerLedger(sink);
    const rootLo = 0xffffffff ^ 0; // -1
    const rootHi = 0x80000000 | 0; // negative
    ledger.init(rootLo, rootHi, 0xfffffff0 | 0, 0x90000000 | 0, 1);
    ledger.ack(0xffffffff, 0x80000000, 0xfffffff0, 0x90000000);
    expect(sink.events).toEqual([['completed', 1, 0xffffffff, 0x80000000]]);
  });

  it('times out a tree after numBuckets rotations, and drops entries that never got an init', () => {
    const sink = recorder();
    const ledger = new AckerLedger(sink, 3);
    ledger.init(1, 1, 0xa, 0, 5);
    ledger.ack(2, 2, 0xa, 0); // no init: the spout's own timeout covers it
    ledger.rotate();
    ledger.rotate();
    expect(sink.events).toEqual([]);
    ledger.rotate();
    expect(sink.events).toEqual([['timedOut', 5, 1, 1]]);
    expect(ledger.size).toBe(0);
    expect(ledger.timedOutCount).toBe(1);
  });

  it('resets a timeout: moves the tree to the newest bucket and tells a known spout', () => {
    const sink = recorder();
    const ledger = new AckerLedger(sink, 2);
    ledger.init(1, 1, 0xa, 0, 5);
    ledger.ack(2, 2, 0xb, 0);
    ledger.rotate();
    ledger.resetTimeout(1, 1);
    ledger.resetTimeout(2, 2); // no spout known: moved, nobody told
    ledger.resetTimeout(3, 3); // unknown root: ignored
    expect(sink.events).toEqual([['resetTimeout', 5, 1, 1]]);
    expect(ledger.size).toBe(2);
    ledger.rotate();
    expect(ledger.size).toBe(2);
    ledger.rotate();
    expect(sink.events).toEqual([
      ['resetTimeout', 5, 1, 1],
      ['timedOut', 5, 1, 1],
    ]);
    expect(ledger.size).toBe(0);
  });

  it('counts completed, failed and timed-out trees apart', () => {
    const ledger = new AckerLedger(recorder(), 2);
    ledger.init(1, 0, 0xa, 0, 0);
    ledger.ack(1, 0, 0xa, 0);
    for (let r = 10; r < 12; r++) {
      ledger.init(r, 0, 0xa, 0, 0);
      ledger.fail(r, 0);
    }
    for (let r = 20; r < 23; r++) ledger.init(r, 0, 0xa, 0, 0);
    ledger.rotate();
    ledger.rotate();
    expect([ledger.completedCount, ledger.failedCount, ledger.timedOutCount]).toEqual([1, 2, 3]);
  });

  it('treats a second init for a pending root as a bug', () => {
    const ledger = new AckerLedger(recorder());
    ledger.init(1, 1, 0xa, 0, 0);
    expect(() => ledger.init(1, 1, 0xb, 0, 0)).toThrow(expect.objectContaining({ code: 'E_INVARIANT' }));
  });
});

describe('ackerTaskFor', () => {
  it('maps a root to one of the acker tasks, the same one every time, evenly', () => {
    const tasks = [3, 8, 12, 40];
    const counts = new Map<number, number>();
    const ids = new IdSource(new SeededRandom(9));
    let unstable = 0;
    for (let i = 0; i < 40_000; i++) {
      ids.next();
      const t = ackerTaskFor(ids.lo, ids.hi, tasks);
      if (ackerTaskFor(ids.lo, ids.hi, tasks) !== t) unstable++;
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    expect(unstable).toBe(0);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(tasks);
    for (const n of counts.values()) expect(n).toBeGreaterThan(9_000);
    expect(ackerTaskFor(0xffffffff, 0, [5])).toBe(5);
  });

  it('refuses an empty acker list', () => {
    expect(() => ackerTaskFor(1, 1, [])).toThrow(expect.objectContaining({ code: 'E_INVARIANT' }));
  });
});
