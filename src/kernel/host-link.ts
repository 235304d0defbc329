import type { IdSource, TracedTimeout } from '../acker/index.ts';
import type { Tuple } from '../tuple/index.ts';
import type { Clock, RandomSource } from '../runtime/index.ts';
import type { Signal, TrackBatch, TrackPool } from './messages.ts';
import type { CheckpointEvent } from './checkpoint.ts';

/** Records every emitted tuple, for the testing kit. */
export interface CaptureSink {
  record(component: string, stream: string, task: number, values: readonly unknown[]): void;
}

/** Anything a mailbox holds. */
export type Message = Tuple | TrackBatch | Signal;

/** What an executor needs from the host that runs it. */
export interface HostLink {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly ids: IdSource;
  readonly capture: CaptureSink | null;
  readonly ackerTasks: readonly number[];
  /** Free tracking batches of this host. */
  readonly trackPool: TrackPool;
  /** Manual stepping: the caller drives the host, so nothing may wait on real time (idle backoff). */
  readonly manual: boolean;
  /** Highest task id of the topology (task ids are 1..taskCount). */
  readonly taskCount: number;
  /** Put a message in a task's mailbox (here, or on another host). */
  deliver(task: number, msg: Message): void;
  /** Run a turn soon (outside a turn; inside one it is a no-op). */
  wakeUp(): void;
  reportError(component: string, task: number, error: unknown): void;
  /**
   * Checkpoint mode without ackers: a tuple failed, and nothing replays it;
   * the run rolls back to its last checkpoint so it is processed again.
   */
  requestRollback(component: string, task: number, reason: string): void;
  /** Key groups of keyed state (config maxParallelism). */
  readonly maxParallelism: number;
  /** Where a task sits in its component. */
  taskInfo(taskId: number): { readonly taskIndex: number };
  /** A task's part of a checkpoint, or its decline: to the coordinator. */
  checkpointEvent(event: CheckpointEvent): void;
  /** An acker timed out a traced tree: who held what (docs/metrics.md, "Where did my tuple get stuck?"). */
  traceTimedOut(timeout: TracedTimeout): void;
}
