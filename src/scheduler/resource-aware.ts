import { SquallError } from '../errors/index.ts';
import type { ComponentResources, Topology } from '../topology/index.ts';
import { ACKER_COMPONENT } from '../topology/index.ts';
import { resourcesOf } from './resources.ts';
import type { SchedulingStrategy, TaskInfo } from './types.ts';

/** What each host (thread) offers to the tasks placed on it. */
export interface ResourceBudget {
  /** Percent of one core per host (default 100: one core per worker thread). */
  cpuPerHost?: number;
  /** MB per host (default 1024, the default worker-thread heap, threadHeapMb). */
  memoryMbPerHost?: number;
}

export const DEFAULT_BUDGET: Readonly<Required<ResourceBudget>> = Object.freeze({ cpuPerHost: 100, memoryMbPerHost: 1024 });

/** A resource-aware strategy also says what budget it plans against. */
export interface ResourceAwareStrategy extends SchedulingStrategy {
  readonly budget: Readonly<Required<ResourceBudget>>;
}

/**
 * Hints are fractional (cpu 33.3), and sums of floats drift: 0.1 + 0.2 > 0.3.
 * A task that fits on paper must not be refused for 1e-14 of a core.
 */
const EPSILON = 1e-9;

/** Hosts listed by name in a placement error; the rest are counted. */
const HOSTS_SHOWN_MAX = 16;

/**
 * Places tasks so that no host's cpu or memory hints add up to more than its
 * budget, as Storm's resource-aware scheduler does within one worker.
 *
 * Heaviest tasks first (by cpu, then memory, then task id), each on the host
 * with the most cpu left that can still hold it in both dimensions. Ties go to
 * the host with the fewest tasks of the same component (so a component
 * spreads), then the most memory left, then the lowest host id: the answer
 * depends only on the topology and host count. This is a greedy worst-fit, not
 * an exact bin packing: when it reports no room, a packing may exist that it
 * did not find, and more threads or smaller hints are the remedy.
 *
 * Throws E_NO_ROOM when a task fits on no host, naming the component, its
 * hints and what every host has left; `details.reason` says whether more
 * threads would help ('hosts-full') or the task alone is bigger than a host
 * ('task-too-big').
 */
export function resourceAwareStrategy(budget: ResourceBudget = {}): ResourceAwareStrategy {
  if (budget === null || typeof budget !== 'object') {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `resourceAwareStrategy takes a budget such as { cpuPerHost: 200, memoryMbPerHost: 2048 }, got ${JSON.stringify(budget)}`,
    });
  }
  const resolved = Object.freeze({
    cpuPerHost: checkBudget('cpuPerHost', budget.cpuPerHost, DEFAULT_BUDGET.cpuPerHost, 'percent of one core per thread, 100 = one core'),
    memoryMbPerHost: checkBudget('memoryMbPerHost', budget.memoryMbPerHost, DEFAULT_BUDGET.memoryMbPerHost, 'MB per thread'),
  });
  return {
    name: 'resource-aware',
    budget: resolved,
    assign: (tasks, hostCount, topology) => placeByResources(tasks, hostCount, topology, resolved),
  };
}

function checkBudget(key: string, value: number | undefined, fallback: number, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `resourceAwareStrategy budget.${key} must be a positive finite number (${unit}), got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`,
      details: { key, value },
    });
  }
  return value;
}

function placeByResources(
  tasks: readonly TaskInfo[],
  hostCount: number,
  topology: Topology,
  budget: Readonly<Required<ResourceBudget>>,
): number[] {
  const needs: ComponentResources[] = [];
  const byComponent = new Map<string, ComponentResources>();
  for (const t of tasks) {
    let need = byComponent.get(t.component);
    if (need === undefined) byComponent.set(t.component, (need = resourcesOf(topology, t.component)));
    needs.push(need);
  }
  const order = tasks.map((_, i) => i);
  order.sort((a, b) => needs[b]!.cpu - needs[a]!.cpu || needs[b]!.memoryMb - needs[a]!.memoryMb || tasks[a]!.taskId - tasks[b]!.taskId);

  const cpuLeft = new Array<number>(hostCount).fill(budget.cpuPerHost);
  const memoryLeft = new Array<number>(hostCount).fill(budget.memoryMbPerHost);
  // Per component: how many of its tasks each host holds so far.
  const spread = new Map<string, number[]>();
  const out = new Array<number>(tasks.length);

  for (const i of order) {
    const task = tasks[i]!;
    const need = needs[i]!;
    let counts = spread.get(task.component);
    if (counts === undefined) spread.set(task.component, (counts = new Array<number>(hostCount).fill(0)));
    let best = -1;
    for (let h = 0; h < hostCount; h++) {
      if (cpuLeft[h]! + EPSILON < need.cpu || memoryLeft[h]! + EPSILON < need.memoryMb) continue;
      if (best < 0) {
        best = h;
        continue;
      }
      const cpuDiff = cpuLeft[h]! - cpuLeft[best]!;
      if (cpuDiff > EPSILON) best = h;
      else if (cpuDiff < -EPSILON) continue;
      else if (counts[h]! < counts[best]!) best = h;
      else if (counts[h]! === counts[best]! && memoryLeft[h]! - memoryLeft[best]! > EPSILON) best = h;
    }
    if (best < 0) throw noRoom(task, need, tasks, needs, topology, budget, cpuLeft, memoryLeft);
    out[i] = best;
    cpuLeft[best] = cpuLeft[best]! - need.cpu;
    memoryLeft[best] = memoryLeft[best]! - need.memoryMb;
    counts[best] = counts[best]! + 1;
  }
  return out;
}

function noRoom(
  task: TaskInfo,
  need: ComponentResources,
  tasks: readonly TaskInfo[],
  needs: readonly ComponentResources[],
  topology: Topology,
  budget: Readonly<Required<ResourceBudget>>,
  cpuLeft: readonly number[],
  memoryLeft: readonly number[],
): SquallError {
  const kind = task.component === ACKER_COMPONENT ? 'acker' : (topology.components.get(task.component)?.kind ?? 'component');
  const who = `${kind} '${task.component}'`;
  const hint = `cpu ${num(need.cpu)}, memoryMb ${num(need.memoryMb)} per task`;
  const shrink =
    task.component === ACKER_COMPONENT
      ? 'smaller config.ackerResources'
      : `smaller resources hints for '${task.component}' (setBolt/setSpout options.resources)`;
  const remaining = cpuLeft.map((cpu, host) => ({ host, cpu, memoryMb: memoryLeft[host]! }));
  const details = {
    component: task.component,
    taskId: task.taskId,
    need: { cpu: need.cpu, memoryMb: need.memoryMb },
    budget: { ...budget },
    remaining,
  };
  const hostBudget = `cpu ${num(budget.cpuPerHost)}, memoryMb ${num(budget.memoryMbPerHost)}`;
  if (need.cpu > budget.cpuPerHost + EPSILON || need.memoryMb > budget.memoryMbPerHost + EPSILON) {
    return new SquallError({
      code: 'E_NO_ROOM',
      component: task.component,
      details: { ...details, reason: 'task-too-big' },
      message:
        `resource-aware scheduling cannot place task ${task.taskId} of ${who} (${hint}): that is more than a whole host offers (${hostBudget}), ` +
        `so more threads will not help; give it ${shrink}, or plan with a bigger per-host budget (resourceAwareStrategy({ cpuPerHost, memoryMbPerHost }))`,
    });
  }
  let cpuTotal = 0;
  let memoryTotal = 0;
  for (let i = 0; i < tasks.length; i++) {
    cpuTotal += needs[i]!.cpu;
    memoryTotal += needs[i]!.memoryMb;
  }
  const hostsNeeded = Math.max(1, Math.ceil(cpuTotal / budget.cpuPerHost - EPSILON), Math.ceil(memoryTotal / budget.memoryMbPerHost - EPSILON));
  const shown = remaining
    .slice(0, HOSTS_SHOWN_MAX)
    .map((r) => `host ${r.host}: cpu ${num(r.cpu)}, memoryMb ${num(r.memoryMb)}`)
    .join('; ');
  const more = remaining.length > HOSTS_SHOWN_MAX ? `; and ${remaining.length - HOSTS_SHOWN_MAX} more hosts` : '';
  const atLeast =
    hostsNeeded > cpuLeft.length
      ? `the tasks add up to cpu ${num(cpuTotal)}, memoryMb ${num(memoryTotal)}: at least ${hostsNeeded} threads of ${hostBudget}`
      : `more than ${cpuLeft.length} threads, as the tasks do not pack into ${cpuLeft.length} hosts of ${hostBudget}`;
  return new SquallError({
    code: 'E_NO_ROOM',
    component: task.component,
    details: { ...details, reason: 'hosts-full', hostsNeeded },
    message:
      `resource-aware scheduling cannot place task ${task.taskId} of ${who} (${hint}): no host has that much left ` +
      `(left per host: ${shown}${more}); run with more threads (${atLeast}), or give it ${shrink}`,
  });
}

/** Remainders like 39.99999999999 print as 40. */
function num(n: number): string {
  return String(Math.round(n * 100) / 100);
}
