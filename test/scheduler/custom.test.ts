import { describe, expect, it } from 'vitest';
import { ACKER_COMPONENT } from '../../src/index.ts';
import type { SchedulingStrategy } from '../../src/scheduler/index.ts';
import { STRATEGY_NAMES, evenStrategy, planTopology, strategyByName } from '../../src/scheduler/index.ts';
import { topologyOf } from './topologies.ts';

const topology = topologyOf(
  [
    { id: 'spout', parallelism: 2 },
    { id: 'work', parallelism: 3 },
  ],
  { ackers: 2 },
);

/** The example from docs/scheduling.md: ackers on host 0, the rest round-robin on the others. */
const ackersApart: SchedulingStrategy = {
  name: 'ackers-apart',
  assign(tasks, hostCount) {
    let next = 0;
    return tasks.map((t) => (hostCount === 1 ? 0 : t.component === ACKER_COMPONENT ? 0 : 1 + (next++ % (hostCount - 1))));
  },
};

function fixed(name: string, result: unknown): SchedulingStrategy {
  return { name, assign: () => result as number[] };
}

describe('custom scheduling strategies', () => {
  it('are asked by planTopology and their answer is the plan', () => {
    const calls: { tasks: number[]; hostCount: number; topology: string }[] = [];
    const spy: SchedulingStrategy = {
      name: 'spy',
      assign(tasks, hostCount, t) {
        calls.push({ tasks: tasks.map((x) => x.taskId), hostCount, topology: t.name });
        return tasks.map((x) => (x.component === 'work' ? 2 : 0));
      },
    };
    const plan = planTopology(topology, { hosts: 3, strategy: spy });
    expect(calls).toEqual([{ tasks: [1, 2, 3, 4, 5, 6, 7], hostCount: 3, topology: 'shape' }]);
    expect(plan.strategy).toBe('spy');
    expect(plan.hosts.map((h) => h.tasks)).toEqual([[1, 2, 6, 7], [], [3, 4, 5]]);
  });

  it('runs the docs example', () => {
    const plan = planTopology(topology, { hosts: 3, strategy: ackersApart });
    expect(plan.ackerTasks.map((t) => plan.hostOfTask[t])).toEqual([0, 0]);
    expect(plan.hosts.map((h) => h.tasks)).toEqual([[6, 7], [1, 3, 5], [2, 4]]);
  });

  it('rejects an answer of the wrong length with E_BAD_ARGUMENT', () => {
    expect(() => planTopology(topology, { hosts: 2, strategy: fixed('short', [0, 1]) })).toThrow(
      expect.objectContaining({ code: 'E_BAD_ARGUMENT', message: expect.stringContaining("strategy 'short' must return one host id in 0..1 per task") }),
    );
    expect(() => planTopology(topology, { hosts: 2, strategy: fixed('short', [0, 1]) })).toThrow(/it returned 2 host ids for 7 tasks/);
    expect(() => planTopology(topology, { hosts: 2, strategy: fixed('long', new Array(8).fill(0)) })).toThrow(/returned 8 host ids for 7 tasks/);
    expect(() => planTopology(topology, { hosts: 2, strategy: fixed('nothing', undefined) })).toThrow(/it returned undefined/);
  });

  it('rejects a host id out of range, negative or not a whole number, naming the task', () => {
    const bad: unknown[] = [2, -1, 0.5, Number.NaN, '1', null];
    for (const host of bad) {
      const result = [0, 0, 0, host, 0, 0, 0];
      expect(() => planTopology(topology, { hosts: 2, strategy: fixed('bad', result) }), String(host)).toThrow(
        expect.objectContaining({ code: 'E_BAD_ARGUMENT', component: 'work', message: expect.stringContaining("it put task 4 ('work') on host") }),
      );
    }
  });

  it('rejects something that is not a strategy', () => {
    expect(() => planTopology(topology, { strategy: { name: 'x' } as unknown as SchedulingStrategy })).toThrow(
      expect.objectContaining({ code: 'E_BAD_ARGUMENT' }),
    );
  });
});

describe('strategyByName', () => {
  it('gives the built-in strategies by name', () => {
    expect(STRATEGY_NAMES).toEqual(['even', 'resource-aware']);
    expect(strategyByName('even')).toBe(evenStrategy);
    const ras = strategyByName('resource-aware', { cpuPerHost: 400 });
    expect(ras.name).toBe('resource-aware');
    expect(planTopology(topology, { hosts: 2, strategy: ras }).strategy).toBe('resource-aware');
  });

  it('rejects an unknown name with E_BAD_ARGUMENT listing the known ones', () => {
    expect(() => strategyByName('round-robin')).toThrow(
      expect.objectContaining({ code: 'E_BAD_ARGUMENT', message: 'unknown scheduling strategy "round-robin"; use one of: even, resource-aware' }),
    );
  });
});
