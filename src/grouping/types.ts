import type { RandomSource } from '../runtime/index.ts';

/**
 * How the tuples of one subscribed stream are spread over the tasks of the
 * consuming component. Build one with the constructors in `spec.ts`
 * (`shuffle()`, `fields('word')`, ...); the planner turns it into one Router
 * per source task.
 */
export type GroupingSpec =
  | { type: 'shuffle' }
  | { type: 'fields'; fields: readonly string[] }
  | { type: 'all' }
  | { type: 'global' }
  | { type: 'none' }
  | { type: 'direct' }
  | { type: 'localOrShuffle' }
  | { type: 'partialKey'; fields: readonly string[] }
  | { type: 'custom'; grouping: CustomGrouping };

/**
 * User-supplied grouping.
 *
 * Each host imports the topology module and so holds its own object; on that
 * host the same object is prepared once for every source task that emits on
 * the stream. Keep no state, or keep it keyed by `context.sourceTask`.
 *
 * @example
 * // Even numbers to the first task, odd ones to the last.
 * let targets: readonly number[] = [];
 * const evenOdd: CustomGrouping = {
 *   prepare(ctx) { targets = ctx.targetTasks; },
 *   chooseTasks(values) {
 *     return [(values[0] as number) % 2 === 0 ? targets[0] : targets[targets.length - 1]];
 *   },
 * };
 */
export interface CustomGrouping {
  /** Called once per source task when the topology starts. */
  prepare?(context: CustomGroupingContext): void;
  /**
   * Return target tasks (a subset of context.targetTasks) for a tuple. Must be
   * pure and fast: it runs for every tuple. An empty array drops the tuple.
   */
  chooseTasks(values: readonly unknown[]): readonly number[];
}

export interface CustomGroupingContext {
  sourceComponent: string;
  sourceStream: string;
  sourceTask: number;
  targetComponent: string;
  /** Task ids of the target component, sorted ascending. */
  targetTasks: readonly number[];
  /** Declared fields of the source stream. */
  outputFields: readonly string[];
}

export interface RouterContext extends CustomGroupingContext {
  /** Indexes in outputFields of the grouping's fields (fields, partialKey). */
  fieldIndexes: readonly number[];
  /** Target tasks that run on the same host as the source task (localOrShuffle). */
  localTasks: readonly number[];
  random: RandomSource;
  /**
   * When the topology checkpoints: the number of key groups (maxParallelism).
   * A fields grouping then sends a key to the task that owns its key group,
   * so keyed state can be redistributed when the parallelism changes.
   */
  keyGroups?: number;
}

/** A grouping made concrete for one source task. Built at plan time, called per tuple. */
export interface Router {
  /**
   * Target task ids for these values. The returned array may be shared and
   * reused: callers read it at once and never keep or mutate it.
   */
  chooseTasks(values: readonly unknown[]): readonly number[];
}
