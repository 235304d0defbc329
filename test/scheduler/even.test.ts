import { describe, expect, it } from 'vitest';
import { planTopology } from '../../src/scheduler/index.ts';
import { topologyOf } from './topologies.ts';

describe('even strategy', () => {
  const topology = topologyOf(
    [
      { id: 'a-spout', parallelism: 2 },
      { id: 'b-split', parallelism: 3 },
      { id: 'c-count', parallelism: 4 },
    ],
    { ackers: 3 },
  );

  it('is the default and assigns hosts round-robin in task-id order', () => {
    const plan = planTopology(topology, { hosts: 3 });
    expect(plan.strategy).toBe('even');
    const hosts = plan.hostOfTask.slice(1);
    expect(hosts).toEqual(hosts.map((_, i) => i % 3));
    expect(plan.hosts.map((h) => h.tasks)).toEqual([
      [1, 4, 7, 10],
      [2, 5, 8, 11],
      [3, 6, 9, 12],
    ]);
  });

  it("spreads every component's tasks over the hosts", () => {
    for (const hosts of [2, 3, 4, 5]) {
      const plan = planTopology(topology, { hosts });
      for (const [component, tasks] of plan.componentTasks) {
        const used = new Set(tasks.map((t) => plan.hostOfTask[t]));
        expect(used.size, `${component} on ${hosts} hosts`).toBe(Math.min(tasks.length, hosts));
      }
    }
  });

  it('spreads the acker tasks too', () => {
    const plan = planTopology(topology, { hosts: 3 });
    expect(plan.ackerTasks).toEqual([10, 11, 12]);
    expect(plan.ackerTasks.map((t) => plan.hostOfTask[t])).toEqual([0, 1, 2]);
  });

  it('puts everything on host 0 when there is one host', () => {
    const plan = planTopology(topology);
    expect(plan.hosts).toEqual([{ hostId: 0, tasks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }]);
  });

  it('leaves extra hosts empty when there are more hosts than tasks', () => {
    const plan = planTopology(topologyOf([{ id: 's' }], { ackers: 1 }), { hosts: 4 });
    expect(plan.hosts.map((h) => h.tasks)).toEqual([[1], [2], [], []]);
  });

  it('ignores resources hints', () => {
    const heavy = topologyOf([{ id: 's', parallelism: 2, resources: { cpu: 500, memoryMb: 1e6 } }], { ackers: 0 });
    expect(planTopology(heavy, { hosts: 1 }).hostOfTask.slice(1)).toEqual([0, 0]);
  });
});
