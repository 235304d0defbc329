import { describe, expect, it } from 'vitest';
import { createRouter, fields, partialKey } from '../../src/grouping/index.ts';
import type { Router } from '../../src/grouping/index.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { loads, routerContext } from './context.ts';

const targetTasks = [0, 1, 2, 3, 4, 5, 6, 7];

/** 50% of tuples carry 'hot'; the rest spread over 1,000 cold keys. */
function skewedKeys(count: number): string[][] {
  const random = new SeededRandom(7);
  const out: string[][] = [];
  for (let i = 0; i < count; i++) out.push([random.float() < 0.5 ? 'hot' : `cold-${random.int(1000)}`]);
  return out;
}

function maxOverMin(router: Router, inputs: string[][]): number {
  const counts = loads((v) => router.chooseTasks(v), inputs);
  const perTask = targetTasks.map((t) => counts.get(t) ?? 0);
  return Math.max(...perTask) / Math.max(1, Math.min(...perTask));
}

describe('partialKey grouping', () => {
  it('sends each key to at most two tasks', () => {
    const router = createRouter(partialKey('word'), routerContext({ targetTasks }));
    const seen = new Map<string, Set<number>>();
    for (const [word] of skewedKeys(20_000)) {
      const [task] = router.chooseTasks([word]);
      let tasks = seen.get(word);
      if (tasks === undefined) seen.set(word, (tasks = new Set()));
      tasks.add(task);
    }
    for (const tasks of seen.values()) expect(tasks.size).toBeLessThanOrEqual(2);
    expect(seen.get('hot')?.size).toBe(2);
  });

  it('balances a skewed key distribution far better than fields grouping', () => {
    const inputs = skewedKeys(20_000);
    const ctx = () => routerContext({ targetTasks });
    const byFields = maxOverMin(createRouter(fields('word'), ctx()), inputs);
    const byPartialKey = maxOverMin(createRouter(partialKey('word'), ctx()), inputs);
    // Fields puts the hot half on one task: about (0.5 + 0.5/8) / (0.5/8) = 9.
    expect(byFields).toBeGreaterThan(5);
    expect(byPartialKey).toBeLessThan(byFields / 2);
  });

  it('counts per router: one source task\'s load does not move another\'s choice', () => {
    const make = (sourceTask: number) => createRouter(partialKey('word'), routerContext({ targetTasks, sourceTask }));
    // A key whose two candidates differ: a router alternates between them.
    let key = '';
    let first = -1;
    let second = -1;
    for (let i = 0; first === second; i++) {
      const probe = make(0);
      key = `k${i}`;
      first = probe.chooseTasks([key])[0];
      second = probe.chooseTasks([key])[0];
    }
    const a = make(1);
    const b = make(2);
    expect(a.chooseTasks([key])).toEqual([first]);
    expect(a.chooseTasks([key])).toEqual([second]);
    expect(b.chooseTasks([key])).toEqual([first]);
  });

  it('is rejected with E_BAD_GROUPING when it has no fields', () => {
    expect(() => createRouter(partialKey('word'), routerContext({ fieldIndexes: [] }))).toThrow(
      expect.objectContaining({ code: 'E_BAD_GROUPING' }),
    );
    expect(() => partialKey()).toThrow(expect.objectContaining({ code: 'E_BAD_GROUPING' }));
  });
});
