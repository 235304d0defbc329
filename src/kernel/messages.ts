/**
 * What lands in a task's mailbox besides tuples: batches of tracking records
 * (executor -> acker, acker -> spout) and signals from the host (rotate the
 * timeout buckets, activate, deactivate). Data travels as Tuple.
 *
 * A tracking record is five 32-bit words: kind and task packed in the first
 * (`task << 4 | kind`), then the root id's halves and a value's halves.
 * The same records sit in a local batch and in the batch codec's wire
 * format, so a batch crosses a thread as one copy of its words.
 */
export const TRACK_INIT = 1; // spout -> acker: root; value = XOR of the root's edges; task = spout task
export const TRACK_ACK = 2; // executor -> acker: root; value = input id ^ out value (merged by XOR per root)
export const TRACK_FAIL = 3; // executor -> acker: root
export const TRACK_RESET = 4; // executor -> acker -> spout: restart the tree's timeout
export const TRACK_COMPLETED = 5; // acker -> spout
export const TRACK_FAILED = 6; // acker -> spout
export const TRACK_TIMED_OUT = 7; // acker -> spout
/**
 * executor -> acker, traced trees only: `task` (the holder) now holds a tuple
 * of the root; value = the tuple's id for the root (low half) and the task
 * that sent it (see src/acker/trace.ts).
 */
export const TRACK_HOLD = 8;

/** A record's kind is `head & TRACK_KIND_MASK`, its task `head >>> TRACK_TASK_SHIFT`. */
export const TRACK_KIND_MASK = 15;
export const TRACK_TASK_SHIFT = 4;

/**
 * The bit of a root id's low half that marks a traced tree (the spout sets
 * it on the trees it samples and clears it on the rest): executors test it
 * with one AND where a tuple of a traced tree needs more than the usual work.
 */
export const TRACE_BIT = 1;

/** u32 words per record. */
export const TRACK_WORDS = 5;
/** Records a batch holds before it must be flushed (the outbox flushes earlier, at the end of a slice). */
export const TRACK_BATCH_RECORDS = 512;

/**
 * A batch of tracking records for one task. Batches are pooled per host
 * (TrackPool): the receiver hands a batch back once it has read it, so the
 * steady state allocates nothing.
 */
export class TrackBatch {
  /** Signed, like ids (see IdSource): reading a word out allocates nothing. */
  readonly data = new Int32Array(TRACK_BATCH_RECORDS * TRACK_WORDS);
  count = 0;

  get full(): boolean {
    return this.count === TRACK_BATCH_RECORDS;
  }

  /** Append one record; the caller checks `full` first. */
  push(kind: number, task: number, lo: number, hi: number, vlo: number, vhi: number): number {
    const i = this.count++;
    const o = i * TRACK_WORDS;
    const d = this.data;
    d[o] = (task << TRACK_TASK_SHIFT) | kind;
    d[o + 1] = lo;
    d[o + 2] = hi;
    d[o + 3] = vlo;
    d[o + 4] = vhi;
    return i;
  }
}

/** Free batches of one host, so tracking allocates nothing once warm. */
export class TrackPool {
  private readonly free: TrackBatch[] = [];

  take(): TrackBatch {
    return this.free.pop() ?? new TrackBatch();
  }

  give(b: TrackBatch): void {
    b.count = 0;
    // Keep what a busy host cycles through; more would only be garbage later.
    if (this.free.length < 256) this.free.push(b);
  }
}

/** A message from the host itself: never crosses threads. */
export class Signal {
  constructor(readonly kind: number) {}
}

export const SIG_ROTATE = 1; // clock -> acker, spout: expire the oldest timeout bucket
export const SIG_ACTIVATE = 2; // run -> spout
export const SIG_DEACTIVATE = 3; // run -> spout

export const ROTATE = new Signal(SIG_ROTATE);
export const ACTIVATE = new Signal(SIG_ACTIVATE);
export const DEACTIVATE = new Signal(SIG_DEACTIVATE);
