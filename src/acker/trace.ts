import { IdMap } from './id-map.ts';

/** Traced trees a table keeps at once; past it new traced trees go untraced here. */
const MAX_TREES = 4096;
/** Records kept per traced tree; past it the trace is cut (a report says so). */
const MAX_RECORDS = 4096;
/** Rotations after its last record before a trace whose tree never ended here is dropped. */
const KEEP_ROTATIONS = 4;

/** A task that was given a tuple of a timed-out traced tree and never acked it. */
export interface TraceHolder {
  task: number;
  /** How long it has held the tuple, ms (see `exact`). */
  heldMs: number;
  /**
   * True when the tuple is pinned down (the task emitted nothing anchored to
   * it, so the XOR names one tuple): it has held it exactly heldMs. False:
   * the task holds one or more of the tuples it was given since heldMs ago.
   */
  exact: boolean;
}

/** What a traced tree's timeout comes with. */
export interface TracedTimeout {
  spoutTask: number;
  /** ms since the acker heard of the tree's first tuple (about its emit). */
  ageMs: number;
  /** Tasks that never acked a tuple of the tree, the longest held first; empty when none could be named. */
  holders: TraceHolder[];
  /** The tree was larger than a trace keeps: holders may be missing. */
  truncated: boolean;
}

class Trace {
  /** [holder, sender, id low half, time] per tuple given to a task. */
  readonly holds: number[] = [];
  /** [task, value low half] per ack record. */
  readonly acks: number[] = [];
  truncated = false;
  constructor(readonly first: number) {}
}

/**
 * Who holds the tuples of a traced tree, as an acker learns it: pure data,
 * fed by the acker executor, no timers.
 *
 * For traced trees only, the task that delivers a tuple (the spout, or a
 * bolt emitting anchored to an input of the tree) sends a hold record:
 * holder task, sender task, the tuple's id for the root. The acks are the
 * usual ones (merged by XOR per root and slice, so one ack record may stand
 * for several inputs). Per task T, over the low halves:
 *
 *   P(T) = XOR of ids given to T ^ XOR of ids T sent ^ XOR of T's ack values
 *
 * An ack value is `id ^ out` (out: the XOR of the ids anchored to that
 * input), and the ids T sent are exactly the edges in the outs of its
 * inputs, so P(T) = XOR over T's unacked inputs of (id ^ out): zero when T
 * holds nothing (but with probability 2^-32), and the id itself when T holds
 * one input and emitted nothing anchored to it. Records may come in any
 * order; XOR does not mind.
 */
export class TraceTable {
  private readonly map = new IdMap<Trace>();
  private rotation = 0;

  get size(): number {
    return this.map.size;
  }

  /** Task `holder` was given a tuple of the root, with `idLo` the low half of its id, by task `sender`. */
  hold(rootLo: number, rootHi: number, holder: number, sender: number, idLo: number, now: number): void {
    const t = this.entry(rootLo, rootHi, now);
    if (t === null) return;
    if (t.holds.length >= MAX_RECORDS * 4) {
      t.truncated = true;
      return;
    }
    t.holds.push(holder, sender, idLo, now);
  }

  /** An ack record of the root from `task`, with `valueLo` the low half of its value. */
  ack(rootLo: number, rootHi: number, task: number, valueLo: number, now: number): void {
    const t = this.entry(rootLo, rootHi, now);
    if (t === null) return;
    if (t.acks.length >= MAX_RECORDS * 2) {
      t.truncated = true;
      return;
    }
    t.acks.push(task, valueLo);
  }

  /** The tree is still alive (a reset of its timeout): keep its trace. */
  touch(rootLo: number, rootHi: number): void {
    this.map.setStamp(rootLo | 0, rootHi | 0, this.rotation);
  }

  /** The tree completed or failed: forget it. */
  end(rootLo: number, rootHi: number): void {
    this.map.delete(rootLo | 0, rootHi | 0);
  }

  /** The tree timed out: who holds what, and forget it. Null when it was not traced here. */
  timedOut(rootLo: number, rootHi: number, spoutTask: number, now: number): TracedTimeout | null {
    const t = this.map.delete(rootLo | 0, rootHi | 0);
    if (t === undefined) return null;
    const xor = new Map<number, number>();
    const flip = (task: number, v: number) => xor.set(task, (xor.get(task) ?? 0) ^ v);
    const h = t.holds;
    for (let i = 0; i < h.length; i += 4) {
      flip(h[i]!, h[i + 2]!);
      flip(h[i + 1]!, h[i + 2]!);
    }
    const a = t.acks;
    for (let i = 0; i < a.length; i += 2) flip(a[i]!, a[i + 1]!);
    const holders: TraceHolder[] = [];
    for (const [task, p] of xor) {
      if (p === 0 || task === spoutTask) continue;
      // The hold whose id is the task's XOR, if any (it emitted nothing anchored to that tuple); else its first.
      let exactAt = -1;
      let firstAt = Infinity;
      for (let i = 0; i < h.length; i += 4) {
        if (h[i] !== task) continue;
        if (h[i + 2] === p) exactAt = h[i + 3]!;
        if (h[i + 3]! < firstAt) firstAt = h[i + 3]!;
      }
      if (firstAt === Infinity) continue; // acked what it was never seen given: the trace missed its holds
      const since = exactAt >= 0 ? exactAt : firstAt;
      holders.push({ task, heldMs: Math.max(0, now - since), exact: exactAt >= 0 });
    }
    holders.sort((x, y) => y.heldMs - x.heldMs || x.task - y.task);
    return { spoutTask, ageMs: Math.max(0, now - t.first), holders, truncated: t.truncated };
  }

  /** Called with each rotation of the ledger: drop traces of trees that ended without this table hearing of it. */
  rotate(): void {
    this.rotation++;
    const old = this.map.idsStampedBelow(this.rotation - KEEP_ROTATIONS);
    for (let i = 0; i < old.length; i += 2) this.map.delete(old[i]!, old[i + 1]!);
  }

  private entry(rootLo: number, rootHi: number, now: number): Trace | null {
    const lo = rootLo | 0;
    const hi = rootHi | 0;
    let t = this.map.get(lo, hi);
    if (t === undefined) {
      if (this.map.size >= MAX_TREES) return null;
      t = new Trace(now);
      this.map.set(lo, hi, t, this.rotation);
    } else {
      this.map.setStamp(lo, hi, this.rotation);
    }
    return t;
  }
}
