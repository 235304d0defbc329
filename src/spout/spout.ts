import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { CheckpointHooks } from '../state/index.ts';

/**
 * A source of tuples.
 *
 * Threading: all methods of one spout task run on one thread and never at the
 * same time; `nextTuple`, `ack` and `fail` are called in a loop by the host
 * that runs the task, interleaved with every other task on that host.
 *
 * - `nextTuple` must not block and should return quickly. Emit zero or more
 *   tuples and return; when it emits nothing the host backs off, so a spout
 *   with nothing to do costs next to no CPU. It is only called while the task
 *   has fewer than `maxSpoutPending` tuple trees in flight and its downstream
 *   mailboxes have room.
 * - Emit with a message id to have the tuple's tree tracked: `ack(msgId)`
 *   follows once every tuple in the tree is acked, `fail(msgId)` when any is
 *   failed or the tree times out (`messageTimeoutMs`). Replaying is the
 *   spout's job: see {@link ReplayingSpout}.
 * - Construct cheaply: the builder creates one instance just to call
 *   `declareOutputFields`. Open connections and files in `open`, never in the
 *   constructor.
 * - `close` is called on a graceful kill, but is not guaranteed to run (a
 *   process may die).
 *
 * @example
 * class Numbers implements Spout {
 *   private collector!: SpoutOutputCollector;
 *   private n = 0;
 *   declareOutputFields(d: OutputDeclarer) { d.declare(['n']); }
 *   open(_ctx: TopologyContext, collector: SpoutOutputCollector) { this.collector = collector; }
 *   nextTuple() { if (this.n < 100) { this.collector.emit([this.n], this.n); this.n++; } }
 * }
 */
/**
 * In checkpoint mode a spout's `snapshotState` (CheckpointHooks) returns
 * its position (a cloneable value: offsets, an index), and `restoreState`
 * gives it back before `open` so the spout resumes from there; every task
 * gets every task's position (`all`), so a changed parallelism can split
 * them anew.
 */
export interface Spout extends CheckpointHooks {
  declareOutputFields(declarer: OutputDeclarer): void;
  /** Called once per task before anything else; may return a promise (connect here). */
  open(context: TopologyContext, collector: SpoutOutputCollector): void | Promise<void>;
  nextTuple(): void;
  ack?(msgId: unknown): void;
  fail?(msgId: unknown): void;
  /** The topology was activated: nextTuple calls resume. */
  activate?(): void;
  /** The topology was deactivated: nextTuple is not called until activate. */
  deactivate?(): void;
  close?(): void | Promise<void>;
  /**
   * Finite spouts only: true once the spout has nothing left to emit and
   * nothing pending. Running to completion (the testing kit) waits for it.
   */
  isDone?(): boolean;
  /**
   * How far behind its source the spout is, in records (KafkaSpout: the
   * partitions' ends less what it has emitted), for the snapshot, the web
   * view and /metrics. Called on each report; keep it cheap.
   */
  lag?(): number;
}

export interface SpoutOutputCollector {
  /**
   * Emit on the default stream. With a message id (anything but undefined or
   * null) the tuple's tree is tracked and the spout hears ack or fail.
   */
  emit(values: unknown[], msgId?: unknown): void;
  /** Emit on a named stream. */
  emitTo(stream: string, values: unknown[], msgId?: unknown): void;
  /** Emit to one task of a direct stream. */
  emitDirect(taskId: number, stream: string, values: unknown[], msgId?: unknown): void;
  /** Report an error: it shows in the status, summary and JSON without stopping the task. */
  reportError(error: unknown): void;
  /** The number of this task's tuple trees in flight. */
  readonly pending: number;
  /**
   * Event time: no tuple with an earlier event time follows from this task
   * (one that does is late downstream). For spouts that track event time
   * themselves (per partition, say); declare the spout with `watermarks: {}`
   * so that bolts wait for it. Never goes backwards (an earlier one is ignored).
   * `idle` (default false): this task has nothing to read for now (no
   * partitions assigned, say): bolts stop waiting for it until it sends a
   * watermark that is not idle.
   */
  emitWatermark(time: number, idle?: boolean): void;
}
