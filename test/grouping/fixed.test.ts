import { describe, expect, it } from 'vitest';
import { all, createRouter, direct, global, isDirect, shuffle } from '../../src/grouping/index.ts';
import { routerContext } from './context.ts';

describe('global grouping', () => {
  it('sends every tuple to the lowest task id', () => {
    const router = createRouter(global(), routerContext({ targetTasks: [7, 9, 12] }));
    for (let i = 0; i < 5; i++) expect(router.chooseTasks([`w${i}`])).toEqual([7]);
  });
});

describe('all grouping', () => {
  it('sends every tuple to every task', () => {
    const targetTasks = [3, 4, 5, 6];
    const router = createRouter(all(), routerContext({ targetTasks }));
    expect(router.chooseTasks(['a'])).toBe(targetTasks);
    expect(router.chooseTasks(['b'])).toEqual([3, 4, 5, 6]);
  });
});

describe('direct grouping', () => {
  it('is recognised by isDirect', () => {
    expect(isDirect(direct())).toBe(true);
    expect(isDirect(shuffle())).toBe(false);
  });

  it('rejects a plain emit with E_EMIT_DIRECT that points to emitDirect', () => {
    const router = createRouter(direct(), routerContext());
    expect(() => router.chooseTasks(['a'])).toThrow(
      expect.objectContaining({ code: 'E_EMIT_DIRECT', message: expect.stringContaining('emitDirect') }),
    );
  });
});
