import { SquallError } from '../errors/index.ts';
import { ACKER_COMPONENT } from '../topology/types.ts';
import type { Topology } from '../topology/types.ts';

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
  /** Indexed by task id; index 0 is unused. */
  readonly tasks: readonly (TaskInfo | undefined)[];
  readonly componentTasks: ReadonlyMap<string, readonly number[]>;
  readonly hosts: readonly HostPlan[];
  /** Indexed by task id. */
  readonly hostOfTask: readonly number[];
  readonly ackerTasks: readonly number[];
}

/** Decides which host runs each task. */
export interface SchedulingStrategy {
  readonly name: string;
  /** Return the host id (0 .. hostCount-1) of each task, in the order given. */
  assign(tasks: readonly TaskInfo[], hostCount: number, topology: Topology): number[];
}

/** Spreads every component's tasks round-robin over the hosts, ackers too. */
export const evenStrategy: SchedulingStrategy = {
  name: 'even',
  assign(tasks, hostCount) {
    const out: number[] = [];
    for (let i = 0; i < tasks.length; i++) out.push(i % hostCount);
    return out;
  },
};

export interface PlanOptions {
  hosts?: number;
  strategy?: SchedulingStrategy;
}

export function planTopology(topology: Topology, options: PlanOptions = {}): Plan {
  const hostCount = options.hosts ?? 1;
  if (!Number.isInteger(hostCount) || hostCount < 1) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `a plan needs at least one host, got ${String(hostCount)}` });
  }
  const strategy = options.strategy ?? evenStrategy;
  const ordered: TaskInfo[] = [];
  const componentTasks = new Map<string, number[]>();
  let next = 1;
  const addComponent = (component: string, parallelism: number) => {
    const ids: number[] = [];
    for (let i = 0; i < parallelism; i++) {
      ordered.push({ taskId: next, component, index: i });
      ids.push(next++);
    }
    componentTasks.set(component, ids);
  };
  for (const id of [...topology.components.keys()].sort()) addComponent(id, topology.components.get(id)!.parallelism);
  addComponent(ACKER_COMPONENT, topology.config.ackers);

  const assignment = strategy.assign(ordered, hostCount, topology);
  if (assignment.length !== ordered.length || assignment.some((h) => !Number.isInteger(h) || h < 0 || h >= hostCount)) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `scheduling strategy '${strategy.name}' must return one host id in 0..${hostCount - 1} per task`,
    });
  }
  const tasks: (TaskInfo | undefined)[] = [undefined];
  const hostOfTask: number[] = [-1];
  const hostTasks: number[][] = Array.from({ length: hostCount }, () => []);
  for (let i = 0; i < ordered.length; i++) {
    const t = ordered[i]!;
    tasks[t.taskId] = t;
    hostOfTask[t.taskId] = assignment[i]!;
    hostTasks[assignment[i]!]!.push(t.taskId);
  }
  return {
    topology: topology.name,
    tasks,
    componentTasks,
    hosts: hostTasks.map((t, hostId) => ({ hostId, tasks: t })),
    hostOfTask,
    ackerTasks: componentTasks.get(ACKER_COMPONENT) ?? [],
  };
}
