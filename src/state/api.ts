/**
 * The state API components use: keyed state (scoped to the key of the
 * current input), timers per key, and the checkpoint hooks of a spout or
 * bolt (operator state, commit and abort notices). See docs/state.md.
 *
 * Values are kept as they are in memory, and serialized (structured clone,
 * node:v8) when a checkpoint captures them: call `set`/`add`/`update` after
 * changing a value, since a change made in place to an object read with
 * `get` is not seen as a change and may be missing from the next
 * checkpoint.
 */

/** Options every keyed state takes. */
export interface StateOptions {
  /**
   * Time to live, in ms on the topology clock: an entry not written for
   * this long reads as absent and is dropped from the next checkpoint.
   */
  ttlMs?: number;
}

/** One value per key. */
export interface ValueState<T> {
  /** The current key's value, or undefined. */
  get(): T | undefined;
  set(value: T): void;
  clear(): void;
}

/** A map per key (string keys). */
export interface MapState<V> {
  get(mapKey: string): V | undefined;
  set(mapKey: string, value: V): void;
  has(mapKey: string): boolean;
  delete(mapKey: string): boolean;
  /** The current key's entries, in insertion order (a copy: changing the state while iterating is fine). */
  entries(): [string, V][];
  readonly size: number;
  clear(): void;
}

/** A list per key. */
export interface ListState<T> {
  /** The current key's list (a copy). */
  get(): T[];
  add(value: T): void;
  update(values: readonly T[]): void;
  clear(): void;
}

/** A value per key that every `add` folds in with a reduce function. */
export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}

/** How an aggregating state folds inputs into an accumulator and reads a result from it. */
export interface Aggregator<IN, ACC, OUT> {
  create(): ACC;
  add(accumulator: ACC, value: IN): ACC;
  result(accumulator: ACC): OUT;
}

/** An accumulator per key that every `add` folds an input into; `get` reads its result. */
export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined;
  add(value: IN): void;
  clear(): void;
}

/** Which clock a timer runs on. */
export type TimeDomain = 'processing' | 'event';

/**
 * Timers per key: a bolt's `onTimer` is called with the key current, once
 * per (key, time) registered. Timers are part of the keyed state: they are
 * checkpointed and restored with it.
 */
export interface TimerService {
  /** The topology clock's time (processing time), ms. */
  currentProcessingTime(): number;
  /** The task's event-time watermark (ms); -Infinity until one arrives. */
  currentWatermark(): number;
  registerProcessingTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
  registerEventTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
}

/**
 * The keyed state of one bolt task: `context.state`. Declare states in
 * `prepare` (each name once per task). Reading or writing a keyed state
 * outside a keyed input's execute (or a timer's onTimer) is E_STATE_NO_KEY.
 * Keyed state needs the bolt's inputs to be fields-grouped: the key is the
 * grouping's fields.
 */
export interface KeyedStateContext {
  value<T>(name: string, options?: StateOptions): ValueState<T>;
  map<V>(name: string, options?: StateOptions): MapState<V>;
  list<T>(name: string, options?: StateOptions): ListState<T>;
  reducing<T>(name: string, reduce: (a: T, b: T) => T, options?: StateOptions): ReducingState<T>;
  aggregating<IN, ACC, OUT>(name: string, aggregator: Aggregator<IN, ACC, OUT>, options?: StateOptions): AggregatingState<IN, OUT>;
  /** The key of the input being executed (or of the timer firing); undefined outside one. */
  readonly currentKey: string | undefined;
  readonly timers: TimerService;
  /** Every key with state in this task, for `state` (a copy). */
  keys(state: string): string[];
  /**
   * Run `fn` with `key` as the current key (e.g. to read or clear another
   * key's state from a tick). A key this task has not seen is placed in the
   * key group a one-string-field key of that value has (what an unkeyed
   * operator keeping its state under one fixed key needs).
   */
  withKey<R>(key: string, fn: () => R): R;
}

/** What a task restoring from a checkpoint gets in `restoreState`. */
export interface RestoredState<T = unknown> {
  readonly checkpointId: number;
  /** This task's own operator state: the value the task with the same index snapshotted (undefined if none). */
  readonly own: T | undefined;
  /** Every task's operator state of this component, by the task index that snapshotted it (for rescaling: the union). */
  readonly all: readonly { readonly taskIndex: number; readonly value: T }[];
  /** The component's parallelism when the checkpoint was taken. */
  readonly previousParallelism: number;
}

/**
 * Optional methods a spout or bolt implements to take part in checkpoints.
 *
 * - `restoreState` runs before `open`/`prepare` when the run restores from a
 *   checkpoint (at start, after a rollback), never on a fresh start.
 * - `snapshotState` runs when the checkpoint's barrier reaches the task:
 *   for a spout between two `nextTuple` calls (its return value is its
 *   position), for a bolt once the barrier came on every input. The value
 *   must be cloneable. A promise holds the task's input until it settles
 *   (a sink flushing what it wrote); a throw or rejection declines the
 *   checkpoint.
 * - `notifyCheckpointComplete` runs once checkpoint n is durable: commit
 *   what was pre-committed at n (and anything older still pending).
 * - `notifyCheckpointAborted` runs when checkpoint n was given up.
 */
export interface CheckpointHooks {
  snapshotState?(checkpointId: number): unknown;
  restoreState?(state: RestoredState): void | Promise<void>;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
}
