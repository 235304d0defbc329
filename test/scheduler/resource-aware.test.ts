import { describe, expect, it } from 'vitest';
import { SeededRandom, isSquallError } from '../../src/index.ts';
import type { Plan, Topology } from '../../src/index.ts';
import { DEFAULT_BUDGET, planTopology, resourceAwareStrategy, resourcesOf } from '../../src/scheduler/index.ts';
import type { ResourceBudget } from '../../src/scheduler/index.ts';
import type { SquallError } from '../../src/errors/index.ts';
import { topologyOf } from './topologies.ts';
import type { ComponentShape } from './topologies.ts';

/** Same tolerance as the strategy: hints are fractional and float sums drift. */
const EPSILON = 1e-9;

function usage(plan: Plan, topology: Topology): { cpu: number; memoryMb: number }[] {
  const used = plan.hosts.map(() => ({ cpu: 0, memoryMb: 0 }));
  for (const t of plan.tasks) {
    if (!t) continue;
    const need = resourcesOf(topology, t.component);
    used[plan.hostOfTask[t.taskId]!]!.cpu += need.cpu;
    used[plan.hostOfTask[t.taskId]!]!.memoryMb += need.memoryMb;
  }
  return used;
}

function hostsOf(plan: Plan, component: string): number[] {
  return plan.componentTasks.get(component)!.map((t) => plan.hostOfTask[t]!);
}

function planError(topology: Topology, hosts: number, budget?: ResourceBudget): SquallError {
  try {
    planTopology(topology, { hosts, strategy: resourceAwareStrategy(budget) });
  } catch (err) {
    if (isSquallError(err)) return err;
    throw err;
  }
  throw new Error('expected planTopology to throw');
}

/** A random topology: 1-6 components, 1-6 tasks each, random hints (some left to the defaults). */
function randomTopology(rng: SeededRandom, seed: number): Topology {
  const n = 1 + Math.floor(rng.float() * 6);
  const components: ComponentShape[] = [];
  for (let i = 0; i < n; i++) {
    const roll = rng.float();
    const resources =
      roll < 0.2
        ? undefined
        : roll < 0.3
          ? { cpu: Math.round(rng.float() * 80) }
          : { cpu: Math.round(rng.float() * 900) / 10, memoryMb: Math.round(rng.float() * 600) };
    components.push({ id: `c${i}`, parallelism: 1 + Math.floor(rng.float() * 6), ...(resources ? { resources } : {}) });
  }
  const ackers = Math.floor(rng.float() * 4);
  const ackerResources = rng.float() < 0.5 ? { cpu: Math.round(rng.float() * 300) / 10 } : undefined;
  return topologyOf(components, { ackers, ...(ackerResources ? { ackerResources } : {}) }, `random-${seed}`);
}

describe('resource-aware strategy', () => {
  it('never puts more on a host than its cpu and memory budget (seeded random topologies)', () => {
    let placed = 0;
    let refused = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rng = new SeededRandom(seed);
      const topology = randomTopology(rng, seed);
      const hosts = 1 + Math.floor(rng.float() * 8);
      const budget = rng.float() < 0.5 ? {} : { cpuPerHost: 50 + Math.round(rng.float() * 350), memoryMbPerHost: 256 + Math.round(rng.float() * 2048) };
      const strategy = resourceAwareStrategy(budget);
      let plan: Plan;
      try {
        plan = planTopology(topology, { hosts, strategy });
      } catch (err) {
        // A refusal is an operating error with a code and the component, never a crash.
        expect(isSquallError(err) && err.code, `seed ${seed}`).toBe('E_NO_ROOM');
        expect((err as SquallError).component, `seed ${seed}`).toBeTypeOf('string');
        refused++;
        continue;
      }
      placed++;
      for (const [host, u] of usage(plan, topology).entries()) {
        expect(u.cpu, `seed ${seed} host ${host} cpu`).toBeLessThanOrEqual(strategy.budget.cpuPerHost + EPSILON);
        expect(u.memoryMb, `seed ${seed} host ${host} memory`).toBeLessThanOrEqual(strategy.budget.memoryMbPerHost + EPSILON);
      }
      // The plan itself is well formed: every task on exactly one host.
      expect(plan.hosts.flatMap((h) => h.tasks).sort((a, b) => a - b)).toEqual(plan.tasks.flatMap((t) => (t ? [t.taskId] : [])));
    }
    // The seeds exercise both outcomes, or the invariant above proves little.
    expect(placed).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(20);
  });

  it('always succeeds when every task fits on an empty host and there are as many hosts as tasks', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = new SeededRandom(seed);
      const topology = randomTopology(rng, seed);
      const tasks = [...topology.components.values()].reduce((n, c) => n + c.parallelism, 0) + topology.config.ackers;
      expect(() => planTopology(topology, { hosts: tasks, strategy: resourceAwareStrategy() }), `seed ${seed}`).not.toThrow();
    }
  });

  it('places heavy tasks on different hosts', () => {
    const topology = topologyOf(
      [
        { id: 'big', parallelism: 2, resources: { cpu: 70 } },
        { id: 'small', parallelism: 6, resources: { cpu: 10 } },
      ],
      { ackers: 0 },
    );
    const plan = planTopology(topology, { hosts: 2, strategy: resourceAwareStrategy() });
    expect(plan.strategy).toBe('resource-aware');
    expect(new Set(hostsOf(plan, 'big')).size).toBe(2);
    expect(usage(plan, topology).map((u) => u.cpu)).toEqual([100, 100]);
  });

  it('keeps two heavy tasks apart even when one host could hold both by cpu', () => {
    const topology = topologyOf([{ id: 'heavy', parallelism: 2, resources: { cpu: 40, memoryMb: 100 } }], { ackers: 0 });
    const plan = planTopology(topology, { hosts: 2, strategy: resourceAwareStrategy() });
    expect(hostsOf(plan, 'heavy').sort()).toEqual([0, 1]);
  });

  it('spreads the tasks of one component when the hints tie', () => {
    const topology = topologyOf([{ id: 'free', parallelism: 4, resources: { cpu: 0, memoryMb: 0 } }], { ackers: 0 });
    const plan = planTopology(topology, { hosts: 4, strategy: resourceAwareStrategy() });
    expect(hostsOf(plan, 'free').sort()).toEqual([0, 1, 2, 3]);
  });

  it('binds on memory as well as cpu', () => {
    const topology = topologyOf([{ id: 'cache', parallelism: 3, resources: { cpu: 1, memoryMb: 600 } }], { ackers: 0 });
    const plan = planTopology(topology, { hosts: 3, strategy: resourceAwareStrategy() });
    expect(hostsOf(plan, 'cache').sort()).toEqual([0, 1, 2]);
    expect(() => planTopology(topology, { hosts: 2, strategy: resourceAwareStrategy() })).toThrow(/memoryMb 600/);
  });

  it('resourcesOf a component the topology does not have is E_UNKNOWN_COMPONENT', () => {
    const topology = topologyOf([{ id: 's' }]);
    expect(() => resourcesOf(topology, 'nope')).toThrow(expect.objectContaining({ code: 'E_UNKNOWN_COMPONENT', component: 'nope' }));
  });

  it('counts the ackers with their small defaults, or config.ackerResources', () => {
    const topology = topologyOf([{ id: 's', resources: { cpu: 96 } }], { ackers: 1 });
    expect(resourcesOf(topology, '__acker')).toEqual({ cpu: 5, memoryMb: 32 });
    expect(planTopology(topology, { hosts: 2, strategy: resourceAwareStrategy() }).hostOfTask.slice(1)).toEqual([0, 1]);
    // The ackers are the heaviest here, so they go first; the third finds no room.
    const hungry = topologyOf([{ id: 's', resources: { cpu: 30 } }], { ackers: 3, ackerResources: { cpu: 60 } });
    const err = planError(hungry, 2);
    expect(err.component).toBe('__acker');
    expect(err.message).toContain("acker '__acker'");
    expect(err.message).toContain('config.ackerResources');
  });

  it('throws E_NO_ROOM naming the component, its hints, what each host has left, and what to do', () => {
    const topology = topologyOf([{ id: 'crunch', parallelism: 5, resources: { cpu: 60, memoryMb: 128 } }], { ackers: 1 });
    const err = planError(topology, 2);
    expect(err.code).toBe('E_NO_ROOM');
    expect(err.component).toBe('crunch');
    expect(err.message).toContain("spout 'crunch' (cpu 60, memoryMb 128 per task)");
    expect(err.message).toContain('host 0: cpu 40, memoryMb 896; host 1: cpu 40, memoryMb 896');
    expect(err.message).toContain('more threads');
    expect(err.message).toContain('at least 4 threads');
    expect(err.message).toContain("smaller resources hints for 'crunch'");
    expect(err.details).toMatchObject({
      component: 'crunch',
      need: { cpu: 60, memoryMb: 128 },
      budget: DEFAULT_BUDGET,
      remaining: [
        { host: 0, cpu: 40, memoryMb: 896 },
        { host: 1, cpu: 40, memoryMb: 896 },
      ],
      reason: 'hosts-full',
      hostsNeeded: 4,
    });
  });

  it('says more threads will not help when one task needs more than a whole host', () => {
    const topology = topologyOf([{ id: 's' }, { id: 'model', resources: { memoryMb: 4096 } }]);
    const err = planError(topology, 8);
    expect(err.code).toBe('E_NO_ROOM');
    expect(err.details).toMatchObject({ component: 'model', reason: 'task-too-big' });
    expect(err.details).not.toHaveProperty('hostsNeeded');
    expect(err.component).toBe('model');
    expect(err.message).toContain("bolt 'model' (cpu 10, memoryMb 4096 per task)");
    expect(err.message).toContain('more threads will not help');
    expect(() => planTopology(topology, { hosts: 1, strategy: resourceAwareStrategy({ memoryMbPerHost: 8192 }) })).not.toThrow();
  });

  it('is deterministic, whatever order the components were added in', () => {
    const shapes: ComponentShape[] = [
      { id: 'spout', parallelism: 3, resources: { cpu: 25, memoryMb: 100 } },
      { id: 'parse', parallelism: 4, resources: { cpu: 25, memoryMb: 100 } },
      { id: 'enrich', parallelism: 2, resources: { cpu: 45, memoryMb: 300 } },
      { id: 'sink', parallelism: 5, resources: { cpu: 5 } },
    ];
    const a = topologyOf(shapes, { ackers: 2 });
    const b = topologyOf([shapes[0]!, ...shapes.slice(1).reverse()], { ackers: 2 });
    const plans = [a, a, b].map((t) => planTopology(t, { hosts: 4, strategy: resourceAwareStrategy() }));
    expect(plans[1]!.hostOfTask).toEqual(plans[0]!.hostOfTask);
    expect(plans[2]!.hostOfTask).toEqual(plans[0]!.hostOfTask);
    // Heaviest first: enrich (45) on hosts 0 and 1 (spread), parse and spout (25)
    // on whichever host has most cpu left, ties to the fewest of the same
    // component, then the lowest host id; then the sinks and ackers (5).
    //                                   enrich  parse       sink           spout    ackers
    expect(plans[0]!.hostOfTask).toEqual([-1, 0, 1, 2, 3, 2, 3, 3, 3, 3, 3, 0, 0, 1, 2, 1, 3]);
  });

  it('rejects a budget that is not a positive finite number', () => {
    for (const budget of [{ cpuPerHost: 0 }, { cpuPerHost: -100 }, { memoryMbPerHost: Number.NaN }, { memoryMbPerHost: Infinity }]) {
      expect(() => resourceAwareStrategy(budget)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
    }
    expect(() => resourceAwareStrategy({ cpuPerHost: -1 })).toThrow(/budget\.cpuPerHost must be a positive finite number .* got -1/);
  });
});
