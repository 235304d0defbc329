import { invariant } from '../errors/index.ts';
import { idToHex } from './ids.ts';
import { RotatingMap } from './rotating-map.ts';
import { SlotAllocator } from './slots.ts';

/**
 * Where the ledger reports what happened to a tree. Called synchronously from
 * inside the ledger's methods; the runtime turns each call into a message to
 * the spout task, which owns replay.
 */
export interface AckerSink {
  completed(spoutTask: number, rootLo: number, rootHi: number): void;
  failed(spoutTask: number, rootLo: number, rootHi: number): void;
  timedOut(spoutTask: number, rootLo: number, rootHi: number): void;
  resetTimeout(spoutTask: number, rootLo: number, rootHi: number): void;
}

/**
 * Storm's acker as pure data plus XOR, with no timers and no runtime.
 *
 * Every edge id of a tree is XORed into the tree's value exactly twice: once
 * when it is created (the spout's init, or the anchor's ack) and once when it
 * is consumed (the ack of the tuple it reached). The value is therefore zero
 * exactly when every tuple of the tree has been acked, whatever order the
 * messages arrive in, except with probability 2^-64 per tree.
 *
 * A tree is only reported once its spout task is known (the init arrived):
 * before that, acks are kept, and a zero value proves nothing because the
 * init's edges are still missing.
 *
 * Timeouts: `rotate()` is called by the runtime every
 * ackTimeout / (numBuckets - 1); see RotatingMap for the bounds. A timeout is
 * an operating error, counted apart from fails.
 */
export class AckerLedger {
  completedCount = 0;
  failedCount = 0;
  timedOutCount = 0;

  private readonly sink: AckerSink;
  /** Root -> slot of the columns below. */
  private readonly pending: RotatingMap<number>;
  // A pending tree's state in columns, not an object per tree: the running
  // XOR, the spout task (-1 until the init names it), and whether it failed.
  private valLo = new Int32Array(1024);
  private valHi = new Int32Array(1024);
  private spout = new Int32Array(1024);
  private failed = new Uint8Array(1024);
  private readonly slots: SlotAllocator;
  // Bound once here so rotate() creates no closure.
  private readonly onExpire: (slot: number, lo: number, hi: number) => void;

  constructor(sink: AckerSink, numBuckets = 3) {
    this.sink = sink;
    this.pending = new RotatingMap<number>(numBuckets);
    this.slots = new SlotAllocator(1024);
    this.onExpire = this.expire.bind(this);
  }

  /** Trees pending, including ones whose acks arrived before their init. */
  get size(): number {
    return this.pending.size;
  }

  /** The spout emitted a root: XOR of its edge ids, and the spout task. */
  init(rootLo: number, rootHi: number, xorLo: number, xorHi: number, spoutTask: number): void {
    // Messages are built only when a check fails: this runs once per tree.
    if (!(spoutTask >= 0) || !Number.isInteger(spoutTask)) invariant(false, `acker init with bad spout task ${spoutTask}`);
    const e = this.entry(rootLo, rootHi);
    if (this.spout[e]! >= 0) invariant(false, `acker got a second init for root ${idToHex(rootLo, rootHi)}`);
    this.valLo[e] ^= xorLo;
    this.valHi[e] ^= xorHi;
    this.spout[e] = spoutTask;
    this.settle(e, rootLo, rootHi);
  }

  /** A bolt acked a tuple of this tree: its id for the root XOR its out-value. */
  ack(rootLo: number, rootHi: number, valLo: number, valHi: number): void {
    const e = this.entry(rootLo, rootHi);
    this.valLo[e] ^= valLo;
    this.valHi[e] ^= valHi;
    this.settle(e, rootLo, rootHi);
  }

  /** A bolt failed a tuple of this tree: the tree fails as soon as its spout is known. */
  fail(rootLo: number, rootHi: number): void {
    const e = this.entry(rootLo, rootHi);
    this.failed[e] = 1;
    this.settle(e, rootLo, rootHi);
  }

  /**
   * A bolt asked for more time: restart the tree's timeout here, and tell the
   * spout (which runs its own timeout) when it is known. An unknown root is
   * ignored: with no init yet there is no spout to tell, and its first
   * message starts a full timeout anyway.
   */
  resetTimeout(rootLo: number, rootHi: number): void {
    const e = this.pending.get(rootLo, rootHi);
    if (e === undefined) return;
    this.pending.touch(rootLo, rootHi);
    const task = this.spout[e]!;
    if (task >= 0) this.sink.resetTimeout(task, rootLo >>> 0, rootHi >>> 0);
  }

  /** Expire the oldest bucket. Called by the runtime's clock, never per tuple. */
  rotate(): void {
    this.pending.rotate(this.onExpire);
  }

  /** The slot of a root's entry, made (empty, spout unknown) if it has none. */
  private entry(rootLo: number, rootHi: number): number {
    let e = this.pending.get(rootLo, rootHi);
    if (e === undefined) {
      e = this.slots.take();
      if (e >= this.spout.length) this.grow();
      this.valLo[e] = 0;
      this.valHi[e] = 0;
      this.spout[e] = -1;
      this.failed[e] = 0;
      this.pending.putNew(rootLo, rootHi, e);
    }
    return e;
  }

  private grow(): void {
    const n = this.spout.length * 2;
    const lo = new Int32Array(n);
    lo.set(this.valLo);
    this.valLo = lo;
    const hi = new Int32Array(n);
    hi.set(this.valHi);
    this.valHi = hi;
    const sp = new Int32Array(n);
    sp.set(this.spout);
    this.spout = sp;
    const f = new Uint8Array(n);
    f.set(this.failed);
    this.failed = f;
  }

  /**
   * Report the tree if it is decided. A fail wins over a zero value: a failed
   * tuple never acks, so a zero value with a fail means a broken tree anyway.
   * The entry leaves the map before the sink runs, so a sink that calls back
   * into the ledger sees it gone.
   */
  private settle(e: number, rootLo: number, rootHi: number): void {
    const task = this.spout[e]!;
    if (task < 0) return;
    if (this.failed[e] === 1) {
      this.pending.remove(rootLo, rootHi);
      this.slots.give(e);
      this.failedCount++;
      this.sink.failed(task, rootLo >>> 0, rootHi >>> 0);
    } else if (this.valLo[e] === 0 && this.valHi[e] === 0) {
      this.pending.remove(rootLo, rootHi);
      this.slots.give(e);
      this.completedCount++;
      this.sink.completed(task, rootLo >>> 0, rootHi >>> 0);
    }
  }

  /**
   * An entry with a known spout task timed out. One without is dropped
   * silently: its init never came (or came to a replaced acker), and the
   * spout's own timeout covers that root.
   */
  private expire(e: number, lo: number, hi: number): void {
    this.slots.give(e);
    const task = this.spout[e]!;
    if (task < 0) return;
    this.timedOutCount++;
    this.sink.timedOut(task, lo >>> 0, hi >>> 0);
  }
}

/**
 * The acker task that owns a root id. Every message about a root must reach
 * the same acker, so this is a pure function of the id; ids are uniformly
 * random, so folding the halves together and taking the remainder spreads
 * roots evenly without a real hash.
 */
export function ackerTaskFor(rootLo: number, rootHi: number, ackerTasks: readonly number[]): number {
  invariant(ackerTasks.length > 0, 'ackerTaskFor called with no acker tasks');
  return ackerTasks[((rootLo ^ rootHi) >>> 0) % ackerTasks.length];
}
