/**
 * What tasks and the checkpoint coordinator exchange: a task's snapshot of
 * checkpoint n (its changed keyed state and its operator state, already
 * serialized, so it can cross a thread as it is) and what a task restores
 * from. See docs/state.md for the protocol.
 */
import { KeyedStateBackend } from '../state/index.ts';
import type { KeyedChanges } from '../state/index.ts';
import type { Clock } from '../runtime/index.ts';
import { fieldsHashBits } from '../grouping/index.ts';

const ONE_FIELD = [0];

/** A task's part of checkpoint n. */
export interface TaskSnapshot {
  readonly checkpointId: number;
  readonly taskId: number;
  readonly component: string;
  readonly taskIndex: number;
  /** Keyed state changed since the task's last snapshot (null: the task has no keyed state). */
  readonly keyed: KeyedChanges | null;
  /** The serialized value snapshotState returned (null: none, or no hook). */
  readonly operator: Uint8Array | null;
  /** The last watermark the task sent (-Infinity: none). */
  readonly watermark: number;
}

/** A task that could not take its part in checkpoint n. */
export interface TaskDecline {
  readonly checkpointId: number;
  readonly taskId: number;
  readonly component: string;
  readonly reason: string;
}

/** The keyed entries of one key group, as read back from a store. */
export interface RestoredKeyGroup {
  readonly keyGroup: number;
  readonly keys: readonly string[];
  readonly values: readonly Uint8Array[];
}

/** What one task restores from: its key groups' entries and its component's operator states. */
export interface TaskRestore {
  readonly checkpointId: number;
  readonly keyed: readonly RestoredKeyGroup[];
  /** Every old task's serialized operator state, by the task index that wrote it. */
  readonly operator: readonly { readonly taskIndex: number; readonly value: Uint8Array }[];
  readonly previousParallelism: number;
  /** The watermark to go on from (this task's, or the least of the old tasks' when the parallelism changed); -Infinity: none. */
  readonly watermark: number;
}

/** What a host tells the coordinator about checkpoints. */
export type CheckpointEvent = { readonly t: 'ack'; readonly snapshot: TaskSnapshot } | { readonly t: 'decline'; readonly decline: TaskDecline };

/**
 * A task's keyed state, made the first time the component touches
 * `context.state`: a task that never does pays nothing per tuple.
 */
export class KeyedHolder {
  backend: KeyedStateBackend | null = null;
  /** Called when a processing-time timer falls due (the host wakes up). */
  onDue: (() => void) | null = null;

  constructor(
    private readonly component: string,
    private readonly maxParallelism: number,
    private readonly clock: Clock,
  ) {}

  get(): KeyedStateBackend {
    if (this.backend === null) {
      const clock = this.clock;
      this.backend = new KeyedStateBackend({
        component: this.component,
        maxParallelism: this.maxParallelism,
        now: () => clock.now(),
        schedule: (time, fn) => clock.after(Math.max(0, time - clock.now()), fn),
        hashKey: (key) => fieldsHashBits([key], ONE_FIELD),
      });
      this.backend.onDue = () => this.onDue?.();
    }
    return this.backend;
  }
}
