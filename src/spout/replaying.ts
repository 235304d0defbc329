import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { RestoredState } from '../state/index.ts';
import { RetryQueue, retryPolicy } from './retry-queue.ts';
import type { RetryOptions, RetryPolicy } from './retry-queue.ts';
import type { Spout, SpoutOutputCollector } from './spout.ts';

/** One message a {@link ReplayingSpout} emits and keeps until it is acked. */
export interface Message<Id = unknown> {
  /** Unique among the messages in flight; passed back to onAck / onGiveUp. */
  id: Id;
  values: unknown[];
  /** Stream to emit on (default: 'default'). */
  stream?: string;
}

/**
 * The replay policy: {@link RetryOptions} (`retryInitialDelayMs`,
 * `retryMultiplier`, `retryMaxDelayMs`, `maxRetries`), the names the
 * KafkaSpout uses too, plus the older names, still read.
 */
export interface ReplayOptions extends RetryOptions {
  /** @deprecated Use `retryInitialDelayMs` (which wins when both are set). */
  initialBackoffMs?: number;
  /** @deprecated Use `retryMaxDelayMs` (which wins when both are set). */
  maxBackoffMs?: number;
  /** @deprecated Use `retryMultiplier` (which wins when both are set). */
  multiplier?: number;
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
  /** Messages in flight or waiting to replay, by id. */
  private readonly inFlight = new Map<Id, Message<Id>>();
  /** Failures so far of the messages that failed (most never do: no entry, nothing allocated per message). */
  private readonly failures = new Map<Id, number>();
  private policy: RetryPolicy;
  /** Failed messages waiting for their backoff, on the topology clock (made in open). */
  private waiting!: RetryQueue<Message<Id>>;
  /** Replays emitted, and messages given up on. */
  replayed = 0;
  gaveUp = 0;

  constructor(options: ReplayOptions = {}) {
    this.policy = retryPolicy(replayRetryOptions(options), this.where());
  }

  /**
   * Change the replay policy, e.g. from config in open(); unset options keep
   * their value. A bad value is `E_BAD_CONFIG` naming the option.
   */
  protected setReplayOptions(options: ReplayOptions): void {
    this.policy = retryPolicy(replayRetryOptions(options), this.where(), this.policy);
    this.waiting?.configure(this.policy);
  }

  private where(): string {
    return `ReplayingSpout ${this.constructor.name}`;
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

  /**
   * Checkpoint mode: where the source stands, as a cloneable value (the
   * next index, an offset). The default, undefined, means no position: the
   * spout is not rewound on a restore.
   */
  protected position(): unknown {
    return undefined;
  }

  /**
   * Go back to a position that position() returned. Called once after a
   * restore, after open(), before the next message is taken.
   */
  protected seek(_position: unknown): void {}

  /** Where a restore left this task: applied at the first nextTuple. */
  private restored: { position: unknown; pending: Message<Id>[] } | null = null;

  /**
   * The spout's part of a checkpoint: its position, and the messages in
   * flight or waiting to replay (with ackers, those may still fail; with
   * `ackers: 0` there are none), which a restore emits again first.
   */
  snapshotState(): unknown {
    const position = this.position();
    if (position === undefined) return undefined;
    return { position, pending: [...this.inFlight.values()] };
  }

  restoreState(state: RestoredState): void {
    const own = state.own as { position: unknown; pending: Message<Id>[] } | undefined;
    if (own !== undefined && own !== null && typeof own === 'object' && 'position' in own) this.restored = own;
  }

  /**
   * Apply a restore, once: seek to the recorded position and emit again
   * what was pending. A subclass that overrides nextTuple and does not
   * always call super.nextTuple() calls this first. True if it did.
   */
  protected resumeFromCheckpoint(): boolean {
    const r = this.restored;
    if (r === null) return false;
    this.restored = null;
    this.seek(r.position);
    for (const m of r.pending) {
      this.inFlight.set(m.id, m);
      this.emitMessage(m);
    }
    return true;
  }

  open(context: TopologyContext, collector: SpoutOutputCollector): void | Promise<void> {
    this.context = context;
    this.collector = collector;
    this.waiting = new RetryQueue(context.clock, this.policy, this.where());
  }

  nextTuple(): void {
    if (this.restored !== null && this.resumeFromCheckpoint()) return;
    const r = this.waiting.poll();
    if (r !== undefined) {
      this.replayed++;
      this.emitMessage(r);
      return;
    }
    const m = this.nextMessage();
    if (m === undefined) return;
    this.inFlight.set(m.id, m);
    this.emitMessage(m);
  }

  ack(msgId: unknown): void {
    const id = msgId as Id;
    if (!this.inFlight.delete(id)) return;
    if (this.failures.size > 0) this.failures.delete(id);
    this.onAck(id);
  }

  fail(msgId: unknown): void {
    const id = msgId as Id;
    const m = this.inFlight.get(id);
    if (m === undefined) return;
    const failures = (this.failures.get(id) ?? 0) + 1;
    // Queued for its backoff, unless it has used up maxRetries.
    if (this.waiting.fail(m, failures)) {
      this.failures.set(id, failures);
      return;
    }
    this.inFlight.delete(id);
    this.failures.delete(id);
    this.gaveUp++;
    this.onGiveUp(m, failures);
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

/** The new names, from the deprecated ones where only those are set. */
function replayRetryOptions(o: ReplayOptions): RetryOptions {
  return {
    retryInitialDelayMs: o.retryInitialDelayMs ?? o.initialBackoffMs,
    retryMultiplier: o.retryMultiplier ?? o.multiplier,
    retryMaxDelayMs: o.retryMaxDelayMs ?? o.maxBackoffMs,
    maxRetries: o.maxRetries,
  };
}
