import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { Tuple } from '../tuple/index.ts';
import type { CheckpointHooks, RestoredState, TimeDomain } from '../state/index.ts';

/**
 * A step that consumes tuples and emits others.
 *
 * Threading: all methods of one bolt task run on one thread, one tuple at a
 * time. `execute` must not block; asynchronous work is allowed as long as the
 * bolt acks or fails the input later through the collector (the input's tree
 * stays in flight until then, within `messageTimeoutMs`, or call
 * `resetTimeout`).
 *
 * - Every input must be acked or failed exactly once, or its tree times out.
 *   Emit anchored to the input (`collector.emit(values, input)`) to make the
 *   new tuple part of the input's tree; unanchored emits are not tracked.
 * - An exception thrown from `execute` fails the input and is reported; the
 *   task goes on with the next tuple.
 * - Construct cheaply; create connections in `prepare`, never in the
 *   constructor: the builder makes one instance just to read the declared
 *   output fields.
 * - `cleanup` runs on a graceful kill but is not guaranteed to run.
 *
 * @example
 * class Upper implements Bolt {
 *   private collector!: OutputCollector;
 *   declareOutputFields(d: OutputDeclarer) { d.declare(['word']); }
 *   prepare(_ctx: TopologyContext, collector: OutputCollector) { this.collector = collector; }
 *   execute(input: Tuple) {
 *     this.collector.emit([input.getString('word').toUpperCase()], input);
 *     this.collector.ack(input);
 *   }
 * }
 */
export interface Bolt extends CheckpointHooks {
  declareOutputFields(declarer: OutputDeclarer): void;
  prepare(context: TopologyContext, collector: OutputCollector): void | Promise<void>;
  execute(input: Tuple): void;
  cleanup?(): void | Promise<void>;
  /**
   * A timer registered through `context.state.timers` is due: called with
   * its key current (`context.state.currentKey`), so keyed state reads and
   * writes that key's values. Emits from here are unanchored.
   */
  onTimer?(time: number, domain: TimeDomain): void;
  /**
   * Event time: the task's watermark advanced to `watermark` (after the
   * event-time timers up to it fired). Emits from here are unanchored.
   */
  onWatermark?(watermark: number): void;
  /**
   * Check the config this bolt will run with (the topology's, with the
   * component's and the submit's overrides), when the topology is
   * submitted; throw a SquallError that says which setting to change. Called
   * on a throwaway instance, like declareOutputFields.
   */
  validate?(config: Readonly<Record<string, unknown>>, componentId: string): void;
  /**
   * Numbers the bolt reports about itself (a windowed bolt: its keys,
   * panes, firings...), by name: summed over the component's tasks in the
   * snapshot, the JSON summary and /metrics (squall_component_metric).
   * Called on each report; keep it cheap and the names stable.
   */
  metrics?(): Readonly<Record<string, number>>;
}

/** Anchors for an emit: one input tuple, several, or none (unanchored). */
export type Anchors = Tuple | readonly Tuple[] | null | undefined;

export interface OutputCollector {
  /** Emit on the default stream, anchored to `anchors` (or unanchored). */
  emit(values: unknown[], anchors?: Anchors): void;
  emitTo(stream: string, values: unknown[], anchors?: Anchors): void;
  emitDirect(taskId: number, stream: string, values: unknown[], anchors?: Anchors): void;
  ack(input: Tuple): void;
  fail(input: Tuple): void;
  /** Restart the timeout of every tree the input belongs to, for long work. */
  resetTimeout(input: Tuple): void;
  reportError(error: unknown): void;
}

/**
 * The basic-bolt style: emits are anchored to the input automatically, the
 * input is acked when `execute` returns, and failed when `execute` throws
 * (a {@link FailedError} fails it quietly; any other error is also reported).
 *
 * @example
 * class Split extends BasicBolt {
 *   declareOutputFields(d: OutputDeclarer) { d.declare(['word']); }
 *   execute(input: Tuple, out: BasicOutputCollector) {
 *     for (const w of input.getString('sentence').split(' ')) out.emit([w]);
 *   }
 * }
 */
export abstract class BasicBolt implements CheckpointHooks {
  /** Marks the basic style for the runtime. */
  readonly basic = true as const;
  abstract declareOutputFields(declarer: OutputDeclarer): void;
  prepare?(context: TopologyContext): void | Promise<void>;
  abstract execute(input: Tuple, collector: BasicOutputCollector): void;
  cleanup?(): void | Promise<void>;
  snapshotState?(checkpointId: number): unknown;
  restoreState?(state: RestoredState): void | Promise<void>;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
  /** A timer is due (see Bolt.onTimer); emits from here are unanchored. */
  onTimer?(time: number, domain: TimeDomain, collector: BasicOutputCollector): void;
  /** Numbers it reports about itself (see Bolt.metrics). */
  metrics?(): Readonly<Record<string, number>>;
  /** Check the config at submit (see Bolt.validate). */
  validate?(config: Readonly<Record<string, unknown>>, componentId: string): void;
  /** The task's watermark advanced (see Bolt.onWatermark); emits from here are unanchored. */
  onWatermark?(watermark: number, collector: BasicOutputCollector): void;
}

export interface BasicOutputCollector {
  emit(values: unknown[]): void;
  emitTo(stream: string, values: unknown[]): void;
  emitDirect(taskId: number, stream: string, values: unknown[]): void;
  /** Restart the timeout of the input's trees, for long work. */
  resetTimeout(): void;
  reportError(error: unknown): void;
}

/** Thrown from a bolt's execute to fail the input without reporting an error. */
export class FailedError extends Error {
  constructor(message = 'tuple failed') {
    super(message);
    this.name = 'FailedError';
  }
}

export function isBasicBolt(x: Bolt | BasicBolt): x is BasicBolt {
  return (x as BasicBolt).basic === true;
}
