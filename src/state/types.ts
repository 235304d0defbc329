/**
 * The state store contract: what the checkpoint runtime writes and restores
 * through, whatever keeps the bytes. See docs/state.md.
 */

/** Checkpoint metadata: a JSON object (spout positions, parallelism per component, maxParallelism…). */
export type CheckpointMetadata = { readonly [key: string]: unknown };

/** A completed checkpoint. */
export interface CheckpointInfo {
  readonly id: number;
  readonly metadata: CheckpointMetadata;
}

/** A checkpoint latest({ skipCorrupt: true }) passed over, and why. */
export interface SkippedCheckpoint {
  readonly id: number;
  /** The file that failed to verify. */
  readonly path: string;
  readonly message: string;
}

/** What latest() returns: the newest restorable checkpoint. */
export interface LatestCheckpoint extends CheckpointInfo {
  /** Newer checkpoints passed over as corrupt (only with skipCorrupt; empty otherwise). */
  readonly skipped: readonly SkippedCheckpoint[];
}

export interface LatestOptions {
  /**
   * Pass over checkpoints whose data does not verify (E_STATE_CORRUPT) and
   * return the newest one that does, verifying every byte of it. Without it,
   * a corrupt newest checkpoint is an E_STATE_CORRUPT error. The database
   * stores keep no checksums of their own (the database does): there it
   * changes nothing.
   */
  readonly skipCorrupt?: boolean;
}

/**
 * The keyed state of one key group as of a checkpoint, in columns: key i
 * has value i. A key group's entries may come in several batches; batches
 * come in ascending key group order; keys within a key group in no
 * particular order. Values may be views sharing memory with each other:
 * treat them as read-only.
 */
export interface KeyedBatch {
  readonly keyGroup: number;
  readonly keys: readonly string[];
  readonly values: readonly Uint8Array[];
}

/** One task's operator state. */
export interface OperatorEntry {
  readonly taskIndex: number;
  readonly value: Uint8Array;
}

export interface BeginOptions {
  /**
   * The checkpoint this one's keyed deltas apply to: by default the newest
   * checkpoint this store instance has seen (at open or by its own commits).
   * Give an older retained id after restoring from it (e.g. past a corrupt
   * newest one), or null for a full checkpoint that depends on none. On
   * commit, the checkpoints newer than the base are discarded: the history
   * goes on from the base.
   */
  readonly base?: number | null;
}

/**
 * Fault injection, for the crash tests: a store calls it before and after
 * every step of I/O that writes (each file write, fsync, rename, unlink; each
 * SQL statement; each Redis command or pipeline), with a name for the step.
 * A hook that throws makes the step, and everything after it, not happen, as
 * a crash would. Production code passes none.
 */
export type FaultHook = (step: string) => void;

/**
 * One checkpoint being written. Puts are buffered (the last write of a key
 * wins) and nothing is visible before commit() resolves. Only one writer
 * per store instance is open at a time.
 */
export interface CheckpointWriter {
  readonly checkpointId: number;
  /** The checkpoint the deltas apply to (null: a full checkpoint). */
  readonly base: number | null;
  /** Entries buffered so far (keyed, deletes included, and operator). */
  readonly size: number;
  /** Set a key's value in this checkpoint. */
  putKeyed(component: string, keyGroup: number, key: string, value: Uint8Array): void;
  /** Remove a key as of this checkpoint. */
  deleteKeyed(component: string, keyGroup: number, key: string): void;
  /**
   * A task's operator state. A component that puts any operator state in a
   * checkpoint replaces all of its operator state: tasks it leaves out have
   * none as of this checkpoint. A component that puts none keeps what it had.
   */
  putOperator(component: string, taskIndex: number, value: Uint8Array): void;
  /**
   * Make the checkpoint durable and visible, atomically: after a crash at any
   * point, latest() is this checkpoint complete or the previous one.
   * E_STATE_FENCED if another writer committed since this store instance
   * last looked (a stale writer); nothing is written then.
   */
  commit(metadata: CheckpointMetadata): Promise<void>;
  /** Drop what was buffered and staged; the checkpoint never existed. */
  abort(): Promise<void>;
}

export interface StateStore {
  readonly kind: 'embedded' | 'postgres' | 'redis';
  /** Where the state lives, for messages: a directory, schema/topology, or key prefix. */
  readonly location: string;
  /** Connect (create tables / directories as needed) and read the newest checkpoint. */
  open(): Promise<void>;
  /** Wait for background work, release locks and connections. */
  close(): Promise<void>;
  /** Release locks and connections without finishing anything: what a crash would leave. For tests. */
  abandon(): Promise<void>;
  /**
   * Start checkpoint `checkpointId`, which must be above every id this
   * instance has seen (E_STATE_OLD_CHECKPOINT otherwise).
   */
  begin(checkpointId: number, options?: BeginOptions): CheckpointWriter;
  /** The newest completed checkpoint, or null when there is none. */
  latest(options?: LatestOptions): Promise<LatestCheckpoint | null>;
  /** The completed checkpoints kept (the last `retain`), oldest first. */
  checkpoints(): Promise<number[]>;
  /**
   * The keyed state of `component` in key groups keyGroupFrom..keyGroupTo
   * (inclusive) as of checkpoint `checkpointId` (a retained one, else
   * E_STATE_NO_CHECKPOINT): every delta up to it applied, deletes included.
   */
  readKeyed(checkpointId: number, component: string, keyGroupFrom: number, keyGroupTo: number): AsyncIterable<KeyedBatch>;
  /** The operator state of `component` as of checkpoint `checkpointId`, by task index. */
  readOperator(checkpointId: number, component: string): Promise<OperatorEntry[]>;
  /** Remove every state of `component` from every retained checkpoint, atomically. */
  dropComponent(component: string): Promise<void>;
  /**
   * Fold what retention no longer needs: the embedded store folds old deltas
   * into a base file, PostgreSQL deletes superseded row versions, Redis has
   * nothing to fold. Runs in the background too; this runs it now.
   */
  compact(): Promise<void>;
}
