import type { BasicBolt, Bolt } from '../bolt/index.ts';
import type { GroupingSpec } from '../grouping/index.ts';
import type { Spout } from '../spout/index.ts';

export type SpoutFactory = () => Spout;
export type BoltFactory = () => Bolt | BasicBolt;

export interface StreamDef {
  readonly id: string;
  readonly fields: readonly string[];
  readonly direct: boolean;
}

export interface InputDef {
  readonly component: string;
  readonly stream: string;
  readonly grouping: GroupingSpec;
}

export interface ComponentDef {
  readonly id: string;
  readonly kind: 'spout' | 'bolt';
  readonly factory: SpoutFactory | BoltFactory;
  /** Number of tasks, each an executor (actor) of its own. */
  readonly parallelism: number;
  /** Merged over the topology config for this component's tasks. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Bolts: deliver a tick tuple to every task this often (ms); 0 for none. */
  readonly tickFrequencyMs: number;
  readonly inputs: readonly InputDef[];
  readonly streams: ReadonlyMap<string, StreamDef>;
  /** What one task of this component needs; read by the resource-aware scheduler. */
  readonly resources: ComponentResources;
  /** Spouts: event-time watermarks the runtime generates from what the spout emits (null: none). */
  readonly watermarks: WatermarkOptions | null;
}

/**
 * Event time at a spout: where each tuple's timestamp is, and how the
 * spout's watermark follows it. With neither `timestampField` nor
 * `timestamp`, the spout sends its own watermarks with
 * `collector.emitWatermark(time)` (KafkaSpout does, per partition). See
 * docs/windows.md.
 */
export interface WatermarkOptions {
  /** The field holding each tuple's event time, in ms (a number, or a Date). */
  readonly timestampField?: string;
  /** Or a function of the tuple's values that returns its event time in ms. */
  readonly timestamp?: (values: readonly unknown[]) => number;
  /** Bounded out-of-orderness: the watermark trails the largest event time seen by this much (default 0). */
  readonly maxOutOfOrdernessMs?: number;
  /**
   * A spout task that emits nothing for this long (processing time) is
   * idle: it stops holding the watermark back, and its watermark moves on
   * with the processing clock, so windows no data will close still fire.
   * Default: never idle.
   */
  readonly idleTimeoutMs?: number;
  /** How often the watermark is sent downstream, in ms of processing time (default 200). */
  readonly intervalMs?: number;
}

/**
 * What one task needs, as Storm's resource-aware scheduler counts it. A hint
 * for planning, not a limit: nothing measures or enforces it at run time.
 */
export interface ComponentResources {
  /** Percent of one core: 100 is a whole core, 25 a quarter of one. */
  readonly cpu: number;
  /** Memory in MB (heap the task's state and queues are expected to hold). */
  readonly memoryMb: number;
}

/** The hints given to setSpout/setBolt: each field falls back to its default. */
export interface ResourceHints {
  cpu?: number;
  memoryMb?: number;
}

/**
 * Per task, when a component gives no hint. Storm's RAS defaults to 10% of a
 * core; 64 MB is a sixteenth of the default 1024 MB worker-thread heap, so a
 * thread holds 10 default tasks by cpu before memory binds.
 */
export const DEFAULT_RESOURCES: Readonly<ComponentResources> = Object.freeze({ cpu: 10, memoryMb: 64 });

/**
 * Per acker task, unless config.ackerResources says otherwise. An acker does
 * XOR bookkeeping per tuple tree: cheaper than a typical bolt.
 */
export const DEFAULT_ACKER_RESOURCES: Readonly<ComponentResources> = Object.freeze({ cpu: 5, memoryMb: 32 });

/** Topology-wide settings. Every limit is an option with its unit in its name. */
export interface TopologyConfig {
  /** Acker tasks; 0 disables tracking (tuples are acked as they are emitted). */
  ackers: number;
  /** A tuple tree not completed within this time fails as timed out. */
  messageTimeoutMs: number;
  /** Tuple trees in flight per spout task before nextTuple is held back. */
  maxSpoutPending: number;
  /** Tuples a task's mailbox holds before its producers are held back. */
  mailboxCapacity: number;
  /** How long a graceful kill waits for trees in flight before closing. */
  killWaitMs: number;
  /** Longest pause between nextTuple calls on a spout that emits nothing. */
  spoutIdleMaxMs: number;
  /** Resource hints of each acker task (default DEFAULT_ACKER_RESOURCES). */
  ackerResources?: ResourceHints;
  /** Start a barrier checkpoint this often, in ms; 0 (the default) turns checkpoints off. See docs/state.md. */
  checkpointIntervalMs: number;
  /** A checkpoint not complete within this time is aborted and reported (default 60 s). */
  checkpointTimeoutMs: number;
  /**
   * 'exactly-once' (the default) aligns barriers: a task holds the input of
   * channels that passed barrier n until n came on all of them.
   * 'at-least-once' does not: nothing waits, and after a rollback state may
   * have counted a record twice.
   */
  checkpointMode: 'exactly-once' | 'at-least-once';
  /**
   * Tuples one task may hold back while it aligns a checkpoint's barriers;
   * past it the task declines the checkpoint (it is aborted and reported),
   * so alignment never holds unbounded memory (default 100,000).
   */
  checkpointMaxAlignedTuples: number;
  /** Key groups of keyed state: the upper bound of any stateful bolt's parallelism (default 128). */
  maxParallelism: number;
  /**
   * The fraction of tuple trees traced, 0 to 1 (default 0): for a traced
   * tree the acker keeps which task holds each of its tuples, so a timeout
   * names the task that never acked (docs/metrics.md). The first 16 trees of
   * each spout task, and 16 after a timeout, are traced whatever it says.
   */
  traceSample: number;
  /** User settings, read from context.config by components. */
  [key: string]: unknown;
}

export const DEFAULT_CONFIG: Readonly<TopologyConfig> = Object.freeze({
  ackers: 1,
  messageTimeoutMs: 30_000,
  maxSpoutPending: 1000,
  mailboxCapacity: 1024,
  killWaitMs: 30_000,
  spoutIdleMaxMs: 32,
  checkpointIntervalMs: 0,
  checkpointTimeoutMs: 60_000,
  checkpointMode: 'exactly-once',
  checkpointMaxAlignedTuples: 100_000,
  maxParallelism: 128,
  traceSample: 0,
});

export interface Topology {
  readonly name: string;
  readonly components: ReadonlyMap<string, ComponentDef>;
  readonly config: Readonly<TopologyConfig>;
  /**
   * The module it was loaded from (set by loadTopologyModule): worker
   * threads import the same module to build their own instances.
   */
  readonly source?: TopologySource;
}

export interface TopologySource {
  /** Absolute path of the module file. */
  readonly file: string;
  /** The export holding the topology ('default' unless named). */
  readonly exportName: string;
}

/** Prefix of system component and stream ids such as `__acker`. */
export const RESERVED_PREFIX = '__';
export const ACKER_COMPONENT = '__acker';
