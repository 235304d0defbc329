import { AckerLedger, TraceTable } from '../acker/index.ts';
import type { AckerSink } from '../acker/index.ts';
import { invariant } from '../errors/index.ts';
import {
  Executor,
  SIG_ROTATE,
  Signal,
  TRACK_ACK,
  TRACK_COMPLETED,
  TRACK_FAIL,
  TRACE_BIT,
  TRACK_FAILED,
  TRACK_HOLD,
  TRACK_INIT,
  TRACK_RESET,
  TRACK_KIND_MASK,
  TRACK_TASK_SHIFT,
  TRACK_TIMED_OUT,
  TRACK_WORDS,
} from '../kernel/index.ts';
import type { HostLink, Message, TrackBatch, TrackOutbox } from '../kernel/index.ts';

/**
 * One acker task (the `__acker` system component): feeds batches of
 * tracking records to its ledger and tells spout tasks the outcome of their
 * trees, in batches of its own flushed at the end of each slice. The ledger
 * is rotated by a ROTATE signal every messageTimeoutMs / (buckets - 1).
 */
export class AckerExecutor extends Executor<Message> {
  readonly ledger: AckerLedger;
  /** Who holds the tuples of traced trees (TRACE_BIT set in the root). */
  readonly traces = new TraceTable();

  constructor(taskId: number, host: HostLink, capacity: number, buckets: number) {
    super(taskId, '__acker', 'acker', host, capacity);
    this.ledger = new AckerLedger(new SpoutNotifier(this.track, taskId, this.traces, host), buckets);
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  protected hooks(): null {
    return null;
  }

  runSlice(budget: number): number {
    const mb = this.mailbox;
    const ledger = this.ledger;
    let n = 0;
    while (n < budget && mb.size > 0) {
      const m = mb.shift();
      n++;
      if (m instanceof Signal) {
        invariant(m.kind === SIG_ROTATE, `acker task ${this.taskId} got signal ${m.kind}`);
        ledger.rotate();
        this.traces.rotate();
        continue;
      }
      this.apply(ledger, m as TrackBatch);
      this.host.trackPool.give(m as TrackBatch);
    }
    if (this.track.pending) n += this.track.flush();
    return n;
  }

  // in critical path: one pass over the batch's words.
  private apply(ledger: AckerLedger, b: TrackBatch): void {
    const d = b.data;
    const end = b.count * TRACK_WORDS;
    for (let o = 0; o < end; o += TRACK_WORDS) {
      const head = d[o]!;
      const lo = d[o + 1]!;
      const hi = d[o + 2]!;
      switch (head & TRACK_KIND_MASK) {
        case TRACK_ACK:
          // Before the ledger: an ack that completes the tree ends its trace.
          if ((lo & TRACE_BIT) !== 0) this.traces.ack(lo, hi, head >>> TRACK_TASK_SHIFT, d[o + 3]!, this.host.clock.now());
          ledger.ack(lo, hi, d[o + 3]!, d[o + 4]!);
          break;
        case TRACK_HOLD:
          this.traces.hold(lo, hi, head >>> TRACK_TASK_SHIFT, d[o + 4]!, d[o + 3]!, this.host.clock.now());
          break;
        case TRACK_INIT:
          ledger.init(lo, hi, d[o + 3]!, d[o + 4]!, head >>> TRACK_TASK_SHIFT);
          break;
        case TRACK_FAIL:
          ledger.fail(lo, hi);
          break;
        case TRACK_RESET:
          ledger.resetTimeout(lo, hi);
          if ((lo & TRACE_BIT) !== 0) this.traces.touch(lo, hi);
          break;
        default:
          invariant(false, `acker task ${this.taskId} got tracking record kind ${head & TRACK_KIND_MASK}`);
      }
    }
    this.executed += b.count;
  }
}

/** Tells spout tasks the outcome of their trees, batched per spout task. */
class SpoutNotifier implements AckerSink {
  constructor(
    private readonly out: TrackOutbox,
    private readonly taskId: number,
    private readonly traces: TraceTable,
    private readonly host: HostLink,
  ) {}

  completed(spoutTask: number, rootLo: number, rootHi: number): void {
    if ((rootLo & TRACE_BIT) !== 0) this.traces.end(rootLo, rootHi);
    this.out.add(spoutTask, TRACK_COMPLETED, this.taskId, rootLo, rootHi, 0, 0);
  }
  failed(spoutTask: number, rootLo: number, rootHi: number): void {
    if ((rootLo & TRACE_BIT) !== 0) this.traces.end(rootLo, rootHi);
    this.out.add(spoutTask, TRACK_FAILED, this.taskId, rootLo, rootHi, 0, 0);
  }
  timedOut(spoutTask: number, rootLo: number, rootHi: number): void {
    if ((rootLo & TRACE_BIT) !== 0) {
      const report = this.traces.timedOut(rootLo, rootHi, spoutTask, this.host.clock.now());
      if (report !== null) this.host.traceTimedOut(report);
    }
    this.out.add(spoutTask, TRACK_TIMED_OUT, this.taskId, rootLo, rootHi, 0, 0);
  }
  resetTimeout(spoutTask: number, rootLo: number, rootHi: number): void {
    this.out.add(spoutTask, TRACK_RESET, this.taskId, rootLo, rootHi, 0, 0);
  }
}
