import { describe, expect, it } from 'vitest';
import { createRouter, custom } from '../../src/grouping/index.ts';
import type { CustomGrouping, CustomGroupingContext } from '../../src/grouping/index.ts';
import { SquallError } from '../../src/errors/index.ts';
import { routerContext } from './context.ts';

/** Sends even numbers to the first task and odd ones to the last. */
function parity(): CustomGrouping & { prepared: CustomGroupingContext[] } {
  let targets: readonly number[] = [];
  const prepared: CustomGroupingContext[] = [];
  return {
    prepared,
    prepare(context) {
      prepared.push(context);
      targets = context.targetTasks;
    },
    chooseTasks(values) {
      return (values[1] as number) % 2 === 0 ? [targets[0]] : [targets[targets.length - 1]];
    },
  };
}

describe('custom grouping', () => {
  it('is prepared once with the stream context and then chooses the tasks', () => {
    const grouping = parity();
    const router = createRouter(custom(grouping), routerContext());
    expect(grouping.prepared).toHaveLength(1);
    expect(grouping.prepared[0]).toEqual({
      sourceComponent: 'spout',
      sourceStream: 'default',
      sourceTask: 1,
      targetComponent: 'count',
      targetTasks: [3, 4, 5, 6],
      outputFields: ['word', 'n'],
    });
    expect(router.chooseTasks(['a', 2])).toEqual([3]);
    expect(router.chooseTasks(['a', 3])).toEqual([6]);
    expect(grouping.prepared).toHaveLength(1);
  });

  it('may send a tuple to several tasks or to none', () => {
    const router = createRouter(custom({ chooseTasks: (v) => (v[0] === 'drop' ? [] : [3, 5]) }), routerContext());
    expect(router.chooseTasks(['x'])).toEqual([3, 5]);
    expect(router.chooseTasks(['drop'])).toEqual([]);
  });

  it('rejects a task outside the targets with E_BAD_GROUPING naming the stream, the task and the valid tasks', () => {
    const router = createRouter(custom({ chooseTasks: () => [4, 99] }), routerContext());
    let error: unknown;
    try {
      router.chooseTasks(['x']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SquallError);
    const e = error as SquallError;
    expect(e.code).toBe('E_BAD_GROUPING');
    expect(e.component).toBe('spout');
    expect(e.stream).toBe('default');
    for (const part of ["'spout'", "'default'", "'count'", 'task 99', '[3, 4, 5, 6]']) expect(e.message).toContain(part);
  });

  it('rejects non-integer, negative and string task ids and a non-array answer', () => {
    const answers: unknown[] = [[3.5], [-1], ['3'], 3, null];
    for (const answer of answers) {
      const router = createRouter(custom({ chooseTasks: () => answer as number[] }), routerContext());
      expect(() => router.chooseTasks(['x']), String(answer)).toThrow(expect.objectContaining({ code: 'E_BAD_GROUPING' }));
    }
  });

  it('refuses an object without chooseTasks', () => {
    expect(() => custom({} as CustomGrouping)).toThrow(expect.objectContaining({ code: 'E_BAD_GROUPING' }));
  });
});
