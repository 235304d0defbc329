import { invariant } from '../errors/index.ts';
import type { HostLink } from '../kernel/index.ts';
import { Executor } from '../kernel/index.ts';
import {
  Ctl,
  CTL_ACK,
  CTL_COMPLETED,
  CTL_FAIL,
  CTL_FAILED,
  CTL_INIT,
  CTL_RESET,
  CTL_ROTATE,
  CTL_TIMED_OUT,
} from '../kernel/index.ts';
import type { AckerSink } from '../acker/index.ts';
import { AckerLedger } from '../acker/index.ts';

/**
 * One acker task (the `__acker` system component): feeds tracking messages
 * to its ledger and tells spout tasks the outcome of their trees. The ledger
 * is rotated by a ROTATE message every messageTimeoutMs / (buckets - 1).
 */
export class AckerExecutor extends Executor<Ctl> {
  readonly ledger: AckerLedger;

  constructor(taskId: number, host: HostLink, capacity: number, buckets: number) {
    super(taskId, '__acker', 'acker', host, capacity);
    this.ledger = new AckerLedger(new SpoutNotifier(host, taskId), buckets);
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  runSlice(budget: number): number {
    const mb = this.mailbox;
    const ledger = this.ledger;
    let n = 0;
    while (n < budget && mb.size > 0) {
      const m = mb.shift();
      n++;
      switch (m.kind) {
        case CTL_INIT:
          ledger.init(m.lo, m.hi, m.vlo, m.vhi, m.task);
          break;
        case CTL_ACK:
          ledger.ack(m.lo, m.hi, m.vlo, m.vhi);
          break;
        case CTL_FAIL:
          ledger.fail(m.lo, m.hi);
          break;
        case CTL_RESET:
          ledger.resetTimeout(m.lo, m.hi);
          break;
        case CTL_ROTATE:
          ledger.rotate();
          break;
        default:
          invariant(false, `acker task ${this.taskId} got control message kind ${m.kind}`);
      }
    }
    this.executed += n;
    return n;
  }
}

/** Tells spout tasks the outcome of their trees. */
class SpoutNotifier implements AckerSink {
  constructor(
    private readonly host: HostLink,
    private readonly taskId: number,
  ) {}

  completed(spoutTask: number, rootLo: number, rootHi: number): void {
    this.host.deliver(spoutTask, new Ctl(CTL_COMPLETED, rootLo, rootHi, 0, 0, this.taskId));
  }
  failed(spoutTask: number, rootLo: number, rootHi: number): void {
    this.host.deliver(spoutTask, new Ctl(CTL_FAILED, rootLo, rootHi, 0, 0, this.taskId));
  }
  timedOut(spoutTask: number, rootLo: number, rootHi: number): void {
    this.host.deliver(spoutTask, new Ctl(CTL_TIMED_OUT, rootLo, rootHi, 0, 0, this.taskId));
  }
  resetTimeout(spoutTask: number, rootLo: number, rootHi: number): void {
    this.host.deliver(spoutTask, new Ctl(CTL_RESET, rootLo, rootHi, 0, 0, this.taskId));
  }
}
