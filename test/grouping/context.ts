import type { RouterContext } from '../../src/grouping/index.ts';
import { SeededRandom } from '../../src/runtime/random.ts';

/** A router context for tests: source 'spout' stream 'default' to bolt 'count'. */
export function routerContext(overrides: Partial<RouterContext> = {}): RouterContext {
  return {
    sourceComponent: 'spout',
    sourceStream: 'default',
    sourceTask: 1,
    targetComponent: 'count',
    targetTasks: [3, 4, 5, 6],
    outputFields: ['word', 'n'],
    fieldIndexes: [0],
    localTasks: [],
    random: new SeededRandom(1),
    ...overrides,
  };
}

/** Tuples routed per task, for a router fed `inputs`. */
export function loads(route: (values: readonly unknown[]) => readonly number[], inputs: readonly (readonly unknown[])[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const values of inputs) {
    for (const t of route(values)) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}
