import { invariant } from '../errors/index.ts';
import { idToHex } from './ids.ts';
import { RotatingMap } from './rotating-map.ts';

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

/** The state of one pending tree: the running XOR and who to tell. */
class AckEntry {
  valLo = 0;
  valHi = 0;
  /** -1 until the init message says which spout task emitted the root. */
  spoutTask = -1;
  failed = false;
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
  private readonly pending: RotatingMap<AckEntry>;
  // Bound once here so rotate() creates no closure.
  private readonly onExpire: (e: AckEntry, lo: number, hi: number) => void;

  constructor(sink: AckerSink, numBuckets = 3) {
    this.sink = sink;
    this.pending = new RotatingMap<AckEntry>(numBuckets);
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
    if (e.spoutTask >= 0) invariant(false, `acker got a second init for root ${idToHex(rootLo, rootHi)}`);
    e.valLo = (e.valLo ^ xorLo) >>> 0;
    e.valHi = (e.valHi ^ xorHi) >>> 0;
    e.spoutTask = spoutTask;
    this.settle(e, rootLo, rootHi);
  }

  /** A bolt acked a tuple of this tree: its id for the root XOR its out-value. */
  ack(rootLo: number, rootHi: number, valLo: number, valHi: number): void {
    const e = this.entry(rootLo, rootHi);
    e.valLo = (e.valLo ^ valLo) >>> 0;
    e.valHi = (e.valHi ^ valHi) >>> 0;
    this.settle(e, rootLo, rootHi);
  }

  /** A bolt failed a tuple of this tree: the tree fails as soon as its spout is known. */
  fail(rootLo: number, rootHi: number): void {
    const e = this.entry(rootLo, rootHi);
    e.failed = true;
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
    if (e.spoutTask >= 0) this.sink.resetTimeout(e.spoutTask, rootLo >>> 0, rootHi >>> 0);
  }

  /** Expire the oldest bucket. Called by the runtime's clock, never per tuple. */
  rotate(): void {
    this.pending.rotate(this.onExpire);
  }

  private entry(rootLo: number, rootHi: number): AckEntry {
    let e = this.pending.get(rootLo, rootHi);
    if (e === undefined) {
      e = new AckEntry();
      this.pending.putNew(rootLo, rootHi, e);
    }
    return e;
  }

  /**
   * Report the tree if it is decided. A fail wins over a zero value: a failed
   * tuple never acks, so a zero value with a fail means a broken tree anyway.
   * The entry leaves the map before the sink runs, so a sink that calls back
   * into the ledger sees it gone.
   */
  private settle(e: AckEntry, rootLo: number, rootHi: number): void {
    if (e.spoutTask < 0) return;
    if (e.failed) {
      this.pending.remove(rootLo, rootHi);
      this.failedCount++;
      this.sink.failed(e.spoutTask, rootLo >>> 0, rootHi >>> 0);
    } else if (e.valLo === 0 && e.valHi === 0) {
      this.pending.remove(rootLo, rootHi);
      this.completedCount++;
      this.sink.completed(e.spoutTask, rootLo >>> 0, rootHi >>> 0);
    }
  }

  /**
   * An entry with a known spout task timed out. One without is dropped
   * silently: its init never came (or came to a replaced acker), and the
   * spout's own timeout covers that root.
   */
  private expire(e: AckEntry, lo: number, hi: number): void {
    if (e.spoutTask < 0) return;
    this.timedOutCount++;
    this.sink.timedOut(e.spoutTask, lo, hi);
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
