import type { Topology } from '../topology/index.ts';

/** One task: one executor (actor) running one instance of a component. */
export interface TaskInfo {
  readonly taskId: number;
  readonly component: string;
  /** 0 .. parallelism-1 within the component. */
  readonly index: number;
}

export interface HostPlan {
  readonly hostId: number;
  readonly tasks: readonly number[];
}

/**
 * Where everything runs: task ids, and which host (thread) runs each task.
 * Task ids are given in sorted component-id order starting at 1, then the
 * acker tasks, so the same topology always gets the same ids.
 */
export interface Plan {
  readonly topology: string;
  /** Name of the strategy that made the assignment ('even', 'resource-aware', ...). */
  readonly strategy: string;
  /** Indexed by task id; index 0 is unused. */
  readonly tasks: readonly (TaskInfo | undefined)[];
  readonly componentTasks: ReadonlyMap<string, readonly number[]>;
  readonly hosts: readonly HostPlan[];
  /** Indexed by task id. */
  readonly hostOfTask: readonly number[];
  readonly ackerTasks: readonly number[];
}

/**
 * Decides which host runs each task: the plug-in point for scheduling.
 *
 * Contract, as planTopology relies on it:
 * - `assign` returns one host id (a whole number in 0 .. hostCount-1) per
 *   task, in the order the tasks were given. Anything else is rejected with
 *   E_BAD_ARGUMENT naming the strategy.
 * - It is called once per plan, on the main thread, before any host starts:
 *   it may be slow-ish, but it must be deterministic (same topology and host
 *   count, same answer), because a rebalance or a restarted host re-plans.
 * - It must not mutate `tasks` or `topology`. Per-task resource hints are at
 *   `resourcesOf(topology, task.component)`.
 * - When it cannot place the tasks it throws a SquallError that says what
 *   to change: E_NO_ROOM when they do not fit, as the resource-aware
 *   strategy does.
 *
 * @example
 * // Every acker on host 0, everything else round-robin over the other hosts.
 * const ackersApart: SchedulingStrategy = {
 *   name: 'ackers-apart',
 *   assign(tasks, hostCount) {
 *     let next = 0;
 *     return tasks.map((t) =>
 *       hostCount === 1 ? 0 : t.component === ACKER_COMPONENT ? 0 : 1 + (next++ % (hostCount - 1)),
 *     );
 *   },
 * };
 * planTopology(topology, { hosts: 4, strategy: ackersApart });
 */
export interface SchedulingStrategy {
  readonly name: string;
  /** Return the host id (0 .. hostCount-1) of each task, in the order given. */
  assign(tasks: readonly TaskInfo[], hostCount: number, topology: Topology): number[];
}
