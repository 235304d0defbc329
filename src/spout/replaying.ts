import type { OutputDeclarer, TopologyContext } from '../topology/context.ts';
import type { Spout, SpoutOutputCollector } from './spout.ts';

/** One message a {@link ReplayingSpout} emits and keeps until it is acked. */
export interface Message<Id = unknown> {
  /** Unique among the messages in flight; passed back to onAck / onGiveUp. */
  id: Id;
  values: unknown[];
  /** Stream to emit on (default: 'default'). */
  stream?: string;
}

export interface ReplayOptions {
  /** Delay before the first replay of a failed message (default 100 ms). */
  initialBackoffMs?: number;
  /** Upper bound of the delay (default 10,000 ms). */
  maxBackoffMs?: number;
  /** Growth of the delay per failure (default 2). */
  multiplier?: number;
  /** Give up after this many replays (default: never give up). */
  maxRetries?: number;
}

interface Retry<Id> {
  message: Message<Id>;
  /** Failures so far. */
  failures: number;
  /** clock time at which it may be emitted again; 0 when in flight. */
  dueMs: number;
}

/**
 * A spout base that replays what fails, as Storm leaves to every spout to do
 * right: each message is kept until it is acked; a failed or timed-out one is
 * emitted again after an exponential backoff (on the injected clock), up to
 * `maxRetries` replays, after which `onGiveUp` is called and it is forgotten.
 * Replays go before new messages. Memory stays bounded by the spout's pending
 * limit: a message is kept only while it is in flight or waiting to replay.
 *
 * Subclasses implement `nextMessage()` (return undefined when there is
 * nothing to emit now), and optionally `isExhausted()` for finite sources.
 *
 * @example
 * class Lines extends ReplayingSpout<number> {
 *   private i = 0;
 *   constructor(private readonly lines: string[]) { super({ maxRetries: 5 }); }
 *   declareOutputFields(d: OutputDeclarer) { d.declare(['line']); }
 *   protected nextMessage() {
 *     return this.i < this.lines.length ? { id: this.i, values: [this.lines[this.i++]] } : undefined;
 *   }
 *   protected override isExhausted() { return this.i >= this.lines.length; }
 * }
 */
export abstract class ReplayingSpout<Id = unknown> implements Spout {
  protected collector!: SpoutOutputCollector;
  protected context!: TopologyContext;
  private readonly inFlight = new Map<Id, Retry<Id>>();
  /** Failed messages waiting for their backoff, ordered by due time. */
  private readonly waiting: Retry<Id>[] = [];
  private initialBackoffMs = 100;
  private maxBackoffMs = 10_000;
  private multiplier = 2;
  private maxRetries = Infinity;
  /** Replays emitted, and messages given up on. */
  replayed = 0;
  gaveUp = 0;

  constructor(options: ReplayOptions = {}) {
    this.setReplayOptions(options);
  }

  /** Change the replay policy, e.g. from config in open(); unset options keep their value. */
  protected setReplayOptions(options: ReplayOptions): void {
    const next = {
      initialBackoffMs: options.initialBackoffMs ?? this.initialBackoffMs,
      maxBackoffMs: options.maxBackoffMs ?? this.maxBackoffMs,
      multiplier: options.multiplier ?? this.multiplier,
      maxRetries: options.maxRetries ?? this.maxRetries,
    };
    for (const k of ['initialBackoffMs', 'maxBackoffMs'] as const) {
      if (!(next[k] >= 0)) throw new RangeError(`ReplayingSpout option ${k} must be a non-negative number of milliseconds, got ${String(next[k])}`);
    }
    if (!(next.multiplier >= 1)) throw new RangeError(`ReplayingSpout option multiplier must be at least 1, got ${String(next.multiplier)}`);
    if (!(next.maxRetries >= 0)) throw new RangeError(`ReplayingSpout option maxRetries must be a non-negative number, got ${String(next.maxRetries)}`);
    Object.assign(this, next);
  }

  abstract declareOutputFields(declarer: OutputDeclarer): void;
  /** The next new message, or undefined when there is none right now. */
  protected abstract nextMessage(): Message<Id> | undefined;
  /** Finite sources: true once nextMessage() will never return another message. */
  protected isExhausted(): boolean {
    return false;
  }
  /** Called when a message's tree completed. */
  protected onAck(_id: Id): void {}
  /** Called when a message failed more than maxRetries times, before it is forgotten. */
  protected onGiveUp(_message: Message<Id>, _failures: number): void {}

  open(context: TopologyContext, collector: SpoutOutputCollector): void | Promise<void> {
    this.context = context;
    this.collector = collector;
  }

  nextTuple(): void {
    const w = this.waiting;
    if (w.length > 0 && w[0]!.dueMs <= this.context.clock.now()) {
      const r = w.shift()!;
      r.dueMs = 0;
      this.replayed++;
      this.emitMessage(r.message);
      return;
    }
    const m = this.nextMessage();
    if (m === undefined) return;
    this.inFlight.set(m.id, { message: m, failures: 0, dueMs: 0 });
    this.emitMessage(m);
  }

  ack(msgId: unknown): void {
    const id = msgId as Id;
    if (this.inFlight.delete(id)) this.onAck(id);
  }

  fail(msgId: unknown): void {
    const r = this.inFlight.get(msgId as Id);
    if (r === undefined) return;
    r.failures++;
    if (r.failures > this.maxRetries) {
      this.inFlight.delete(msgId as Id);
      this.gaveUp++;
      this.onGiveUp(r.message, r.failures);
      return;
    }
    const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * this.multiplier ** (r.failures - 1));
    r.dueMs = this.context.clock.now() + backoff;
    insertByDue(this.waiting, r);
  }

  /** Messages in flight or waiting to replay. */
  get unsettled(): number {
    return this.inFlight.size;
  }

  isDone(): boolean {
    return this.inFlight.size === 0 && this.isExhausted();
  }

  private emitMessage(m: Message<Id>): void {
    if (m.stream === undefined) this.collector.emit(m.values, m.id);
    else this.collector.emitTo(m.stream, m.values, m.id);
  }
}

/** Keep `list` ordered by dueMs; a new entry goes after equal ones (FIFO among equals). */
function insertByDue<Id>(list: Retry<Id>[], r: Retry<Id>): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.dueMs <= r.dueMs) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, r);
}
