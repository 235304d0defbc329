import { idHash } from '../acker/index.ts';
import type { HostLink } from './host-link.ts';
import { TRACK_ACK, TRACK_WORDS } from './messages.ts';
import type { TrackBatch } from './messages.ts';

/**
 * Slots of the merge index: acks of one root within a slice share a record.
 * 1024 covers the distinct roots a slice of word count acks (a few hundred)
 * with the table under half full; past it acks are appended unmerged.
 */
const MERGE_BITS = 10;
const MERGE_SLOTS = 1 << MERGE_BITS;
/** Slots looked at before giving up on a merge. */
const MERGE_PROBES = 4;

/**
 * One executor's outgoing tracking records, a batch per target task,
 * flushed by the executor at the end of its slice (a fail at once). Acks
 * of one root to one acker within a batch are merged by XOR into one
 * record: the acker only needs the XOR of everything about a root, and a
 * word count's split acks its six words' tuples in a row.
 *
 * Per record: a hash, a probe or two and five array writes; no objects.
 */
export class TrackOutbox {
  /** By target task id: the open batch, or null. */
  private readonly open: (TrackBatch | null)[];
  /** Target tasks with an open batch, in the order they were opened. */
  private readonly dirty: number[] = [];
  // Merge index: slot -> record, valid while stamp[slot] === epoch.
  private readonly stamp = new Uint32Array(MERGE_SLOTS);
  private readonly slotTask = new Int32Array(MERGE_SLOTS);
  private readonly slotRecord = new Int32Array(MERGE_SLOTS);
  private epoch = 1;

  constructor(
    private readonly host: HostLink,
    taskCount: number,
  ) {
    this.open = new Array<TrackBatch | null>(taskCount + 1).fill(null);
  }

  get pending(): boolean {
    return this.dirty.length > 0;
  }

  /** Append a record for `target` (no merge). */
  add(target: number, kind: number, task: number, lo: number, hi: number, vlo: number, vhi: number): void {
    const b = this.batchFor(target);
    b.push(kind, task, lo, hi, vlo, vhi);
    if (b.full) this.flushOne(target);
  }

  /** An ack: XOR into this slice's record for the root at `target`, or append one. */
  ack(target: number, task: number, lo: number, hi: number, vlo: number, vhi: number): void {
    let s = idHash(lo, hi) >>> (32 - MERGE_BITS);
    const epoch = this.epoch;
    for (let p = 0; p < MERGE_PROBES; p++) {
      if (this.stamp[s] !== epoch) {
        const b = this.batchFor(target);
        this.stamp[s] = epoch;
        this.slotTask[s] = target;
        this.slotRecord[s] = b.push(TRACK_ACK, task, lo, hi, vlo, vhi);
        if (b.full) this.flushOne(target);
        return;
      }
      if (this.slotTask[s] === target) {
        const d = this.open[target]!.data;
        const o = this.slotRecord[s]! * TRACK_WORDS;
        if (d[o + 1] === (lo | 0) && d[o + 2] === (hi | 0)) {
          d[o + 3] = d[o + 3]! ^ vlo;
          d[o + 4] = d[o + 4]! ^ vhi;
          return;
        }
      }
      s = (s + 1) & (MERGE_SLOTS - 1);
    }
    this.add(target, TRACK_ACK, task, lo, hi, vlo, vhi);
  }

  /** Hand every open batch to its target; returns how many. */
  flush(): number {
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const t = dirty[i]!;
      const b = this.open[t]!;
      this.open[t] = null;
      this.host.deliver(t, b);
    }
    const n = dirty.length;
    dirty.length = 0;
    this.newEpoch();
    return n;
  }

  private flushOne(target: number): void {
    const b = this.open[target]!;
    this.open[target] = null;
    const i = this.dirty.indexOf(target);
    this.dirty.splice(i, 1);
    this.newEpoch();
    this.host.deliver(target, b);
  }

  /** Forget every merge slot (their records were handed over). */
  private newEpoch(): void {
    if (++this.epoch === 0xffffffff) {
      this.stamp.fill(0);
      this.epoch = 1;
    }
  }

  private batchFor(target: number): TrackBatch {
    let b = this.open[target];
    if (b === null || b === undefined) {
      b = this.host.trackPool.take();
      this.open[target] = b;
      this.dirty.push(target);
      // An ack from outside a slice (a bolt acking from a callback) has no
      // slice end to flush it: have the host run one. A no-op inside a turn.
      if (this.dirty.length === 1) this.host.wakeUp();
    }
    return b;
  }
}
