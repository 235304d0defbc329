import type { SchedulingStrategy } from './types.ts';

/**
 * The default: tasks round-robin over the hosts in task-id order. Task ids run
 * component by component, so each component's tasks land on consecutive hosts
 * (a component with as many tasks as there are hosts gets one per host), and
 * the acker tasks, which come last, are spread the same way. It ignores the
 * resources hints.
 */
export const evenStrategy: SchedulingStrategy = {
  name: 'even',
  assign(tasks, hostCount) {
    const out: number[] = [];
    for (let i = 0; i < tasks.length; i++) out.push(i % hostCount);
    return out;
  },
};
