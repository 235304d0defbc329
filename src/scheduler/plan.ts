import { SquallError } from '../errors/index.ts';
import { ACKER_COMPONENT } from '../topology/index.ts';
import type { Topology } from '../topology/index.ts';
import { evenStrategy } from './even.ts';
import type { Plan, SchedulingStrategy, TaskInfo } from './types.ts';

export interface PlanOptions {
  /** Hosts (threads) to plan for (default 1). */
  hosts?: number;
  /** Who decides which host runs each task (default evenStrategy). */
  strategy?: SchedulingStrategy;
}

/** Give every task an id, ask the strategy where each runs, and check its answer. */
export function planTopology(topology: Topology, options: PlanOptions = {}): Plan {
  const hostCount = options.hosts ?? 1;
  if (!Number.isInteger(hostCount) || hostCount < 1) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `a plan needs at least one host, got ${String(hostCount)}` });
  }
  const strategy = options.strategy ?? evenStrategy;
  if (strategy === null || typeof strategy !== 'object' || typeof strategy.assign !== 'function') {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: 'a scheduling strategy is an object with a name and assign(tasks, hostCount, topology); see docs/scheduling.md',
    });
  }
  const ordered: TaskInfo[] = [];
  const componentTasks = new Map<string, number[]>();
  let next = 1;
  const addComponent = (component: string, parallelism: number) => {
    const ids: number[] = [];
    for (let i = 0; i < parallelism; i++) {
      ordered.push(Object.freeze({ taskId: next, component, index: i }));
      ids.push(next++);
    }
    componentTasks.set(component, ids);
  };
  for (const id of [...topology.components.keys()].sort()) addComponent(id, topology.components.get(id)!.parallelism);
  addComponent(ACKER_COMPONENT, topology.config.ackers);

  const assignment: unknown = strategy.assign(Object.freeze([...ordered]), hostCount, topology);
  checkAssignment(strategy, assignment, ordered, hostCount);

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
    strategy: String(strategy.name),
    tasks,
    componentTasks,
    hosts: hostTasks.map((t, hostId) => ({ hostId, tasks: t })),
    hostOfTask,
    ackerTasks: componentTasks.get(ACKER_COMPONENT) ?? [],
  };
}

/** A custom strategy is user code: name what it got wrong rather than plan from it. */
function checkAssignment(strategy: SchedulingStrategy, assignment: unknown, tasks: readonly TaskInfo[], hostCount: number): asserts assignment is number[] {
  const want = `one host id in 0..${hostCount - 1} per task, in the order given`;
  if (!Array.isArray(assignment) || assignment.length !== tasks.length) {
    const got = Array.isArray(assignment) ? `${assignment.length} host ids for ${tasks.length} tasks` : typeof assignment;
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `scheduling strategy '${strategy.name}' must return ${want}; it returned ${got}`,
      details: { strategy: strategy.name, tasks: tasks.length, returned: Array.isArray(assignment) ? assignment.length : typeof assignment },
    });
  }
  for (let i = 0; i < assignment.length; i++) {
    const h: unknown = assignment[i];
    if (typeof h !== 'number' || !Number.isInteger(h) || h < 0 || h >= hostCount) {
      const t = tasks[i]!;
      throw new SquallError({
        code: 'E_BAD_ARGUMENT',
        component: t.component,
        message: `scheduling strategy '${strategy.name}' must return ${want}; it put task ${t.taskId} ('${t.component}') on host ${JSON.stringify(h) ?? String(h)}`,
        details: { strategy: strategy.name, taskId: t.taskId, host: h, hostCount },
      });
    }
  }
}
