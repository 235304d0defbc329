import { describe, expect, it } from 'vitest';
import { createRouter, fields, fieldsHash } from '../../src/grouping/index.ts';
import { routerContext } from './context.ts';

describe('fields grouping', () => {
  it('sends equal keys always to one task', () => {
    const router = createRouter(fields('word'), routerContext());
    const first = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 200; i++) {
        const word = `w${i}`;
        const [task] = router.chooseTasks([word, round]);
        if (!first.has(word)) first.set(word, task);
        expect(task).toBe(first.get(word));
      }
    }
    expect(new Set(first.values())).toEqual(new Set([3, 4, 5, 6]));
  });

  it('sends a key to the same task from independently created routers (other source tasks, other processes)', () => {
    const a = createRouter(fields('word'), routerContext({ sourceTask: 1 }));
    const b = createRouter(fields('word'), routerContext({ sourceTask: 2 }));
    for (let i = 0; i < 200; i++) {
      const values = [`w${i}`, i];
      expect(a.chooseTasks(values)[0]).toBe(b.chooseTasks([`w${i}`, -i])[0]);
    }
  });

  it('picks targetTasks[fieldsHash % n]', () => {
    const targetTasks = [10, 20, 30];
    const router = createRouter(fields('word', 'n'), routerContext({ targetTasks, fieldIndexes: [0, 1] }));
    const values = ['x', 7];
    expect(router.chooseTasks(values)).toEqual([targetTasks[fieldsHash(values, [0, 1]) % 3]]);
  });

  it('is rejected with E_BAD_GROUPING when it has no fields', () => {
    expect(() => createRouter(fields('word'), routerContext({ fieldIndexes: [] }))).toThrow(
      expect.objectContaining({ code: 'E_BAD_GROUPING' }),
    );
    expect(() => fields()).toThrow(expect.objectContaining({ code: 'E_BAD_GROUPING' }));
  });
});
