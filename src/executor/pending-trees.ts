import { SlotAllocator } from '../acker/index.ts';
import { SquallError } from '../errors/index.ts';

/** Bits of a root id's high half that hold the tree's slot; the rest hold the spout's task id. */
const SLOT_BITS = 20;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
/** Task ids that fit beside a slot in 32 bits. */
const MAX_TASK = (1 << (32 - SLOT_BITS)) - 1;
const FREE = -1;

/**
 * One spout task's trees in flight, with no hashing: a tree's slot is part
 * of its root id. The high half of a root is `task << 20 | slot` and the
 * low half is random, so roots are unique across the topology's spout tasks
 * by construction, and an outcome finds its tree by index; the random half
 * tells a live tree from an earlier one that used the slot (a late outcome
 * of a tree that already timed out here). The acker's choice of task reads
 * both halves, so trees still spread over the ackers.
 *
 * Timeouts work as Storm's RotatingMap with `buckets` buckets: a tree
 * carries the number of the bucket it was started (or last touched) in, and
 * a rotation expires the trees of the oldest bucket, scanning the slots
 * (at most the spout's pending limit, every timeout / (buckets - 1)).
 */
export class PendingTrees {
  /** Trees in flight. */
  size = 0;
  private msgIds: unknown[] = [];
  private rootLos = new Int32Array(1024);
  /** Bucket number per slot; FREE when the slot holds no tree. */
  private stamps = new Int32Array(1024).fill(FREE);
  /** Emit time (injected clock) of a tree whose latency is sampled, else -1. */
  private starts = new Float64Array(1024);
  private readonly slots = new SlotAllocator(1024);
  /** Slots ever used: the rotation scans below it. */
  private high = 0;
  private current = 0;

  constructor(
    private readonly taskId: number,
    private readonly buckets: number,
  ) {
    if (taskId > MAX_TASK) {
      throw new SquallError({ code: 'E_BAD_CONFIG', message: `spout task id ${taskId} is past ${MAX_TASK}, the most tasks a tracked topology can have; use fewer tasks` });
    }
  }

  /** Register a tree; returns the high half of its root id. */
  add(rootLo: number, msgId: unknown, start: number): number {
    const slot = this.slots.take();
    if (slot >= this.stamps.length) this.grow(slot);
    if (slot >= this.high) this.high = slot + 1;
    this.msgIds[slot] = msgId;
    this.rootLos[slot] = rootLo;
    this.stamps[slot] = this.current;
    this.starts[slot] = start;
    this.size++;
    return (this.taskId << SLOT_BITS) | slot;
  }

  /** The slot of the live tree with this root, or -1. */
  find(rootLo: number, rootHi: number): number {
    const slot = rootHi & SLOT_MASK;
    if (rootHi >>> SLOT_BITS !== this.taskId || slot >= this.high) return -1;
    return this.stamps[slot] !== FREE && this.rootLos[slot] === (rootLo | 0) ? slot : -1;
  }

  start(slot: number): number {
    return this.starts[slot]!;
  }

  /** Restart a tree's timeout. */
  touch(slot: number): void {
    this.stamps[slot] = this.current;
  }

  /** Forget a tree; returns its message id. */
  remove(slot: number): unknown {
    const msgId = this.msgIds[slot];
    this.msgIds[slot] = undefined;
    this.stamps[slot] = FREE;
    this.slots.give(slot);
    this.size--;
    return msgId;
  }

  /** Open a new bucket and expire the trees of the oldest, each after it left. */
  rotate(onExpire: (msgId: unknown) => void): void {
    this.current++;
    const limit = this.current - (this.buckets - 1);
    const stamps = this.stamps;
    for (let slot = 0; slot < this.high; slot++) {
      const s = stamps[slot]!;
      if (s !== FREE && s < limit) onExpire(this.remove(slot));
    }
  }

  private grow(slot: number): void {
    if (slot > SLOT_MASK) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        message: `spout task ${this.taskId} has more than ${SLOT_MASK + 1} trees in flight; lower maxSpoutPending`,
      });
    }
    const n = this.stamps.length * 2;
    const stamps = new Int32Array(n).fill(FREE);
    stamps.set(this.stamps);
    this.stamps = stamps;
    const los = new Int32Array(n);
    los.set(this.rootLos);
    this.rootLos = los;
    const starts = new Float64Array(n);
    starts.set(this.starts);
    this.starts = starts;
  }
}
