import type { KeyedStateContext } from '../state/index.ts';
import type { WatermarkOptions } from './types.ts';
import type { Clock } from '../runtime/index.ts';
import type { RandomSource } from '../runtime/index.ts';

/** What a spout or bolt task knows about itself and the topology it runs in. */
export interface TopologyContext {
  readonly topologyName: string;
  /** A name for this run of the topology, unique per submission. */
  readonly runId: string;
  readonly componentId: string;
  /** This task's id, unique across the topology. */
  readonly taskId: number;
  /** This task's index within its component: 0 .. parallelism-1. */
  readonly taskIndex: number;
  /** Every task id of this component, ascending. */
  readonly componentTasks: readonly number[];
  /** The topology config merged with this component's config. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The injected clock: use it for any timing that tests must control. */
  readonly clock: Clock;
  readonly random: RandomSource;
  /** The declared fields of one of this component's output streams. */
  outputFields(stream?: string): readonly string[];
  /**
   * Keyed state and timers (bolts). Checkpointed and restored when the
   * topology checkpoints (checkpointIntervalMs > 0); in memory otherwise.
   */
  readonly state: KeyedStateContext;
  /** Spouts: the event-time watermarks declared for the component (setSpout's `watermarks`), or null. */
  readonly watermarks: WatermarkOptions | null;
}

/** Collects a component's stream declarations when the topology is built. */
export interface OutputDeclarer {
  /** Declare the default stream's fields. */
  declare(fields: readonly string[], options?: { direct?: boolean }): void;
  /** Declare a named stream. A direct stream is only emitted with emitDirect. */
  declareStream(stream: string, fields: readonly string[], options?: { direct?: boolean }): void;
}
