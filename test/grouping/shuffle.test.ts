import { describe, expect, it } from 'vitest';
import { createRouter, localOrShuffle, none, shuffle } from '../../src/grouping/index.ts';
import type { GroupingSpec, Router } from '../../src/grouping/index.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { routerContext } from './context.ts';

function sequence(router: Router, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(router.chooseTasks([])[0]);
  return out;
}

function expectExactlyBalanced(spec: GroupingSpec) {
  const targetTasks = [2, 5, 7, 11, 13];
  const router = createRouter(spec, routerContext({ targetTasks, random: new SeededRandom(42) }));
  const k = 37;
  const counts = new Map<number, number>();
  for (const t of sequence(router, k * targetTasks.length)) counts.set(t, (counts.get(t) ?? 0) + 1);
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual(targetTasks);
  for (const c of counts.values()) expect(c).toBe(k);
}

describe('shuffle grouping', () => {
  it('gives each of n tasks exactly k of k*n tuples', () => {
    expectExactlyBalanced(shuffle());
  });

  it('does not follow a fixed order: two seeds give different sequences, one seed repeats', () => {
    const make = (seed: number) => createRouter(shuffle(), routerContext({ random: new SeededRandom(seed) }));
    expect(sequence(make(1), 40)).not.toEqual(sequence(make(2), 40));
    expect(sequence(make(1), 40)).toEqual(sequence(make(1), 40));
  });

  it('reshuffles each round instead of repeating one permutation', () => {
    const s = sequence(createRouter(shuffle(), routerContext({ random: new SeededRandom(3) })), 40);
    const rounds = new Set<string>();
    for (let i = 0; i < s.length; i += 4) rounds.add(s.slice(i, i + 4).join(','));
    expect(rounds.size).toBeGreaterThan(1);
  });

  it('returns one-task arrays', () => {
    const router = createRouter(shuffle(), routerContext());
    for (let i = 0; i < 10; i++) expect(router.chooseTasks(['x'])).toHaveLength(1);
  });
});

describe('none grouping', () => {
  it('behaves like shuffle: balanced, and the same sequence for the same seed', () => {
    expectExactlyBalanced(none());
    const seq = (spec: GroupingSpec) => sequence(createRouter(spec, routerContext({ random: new SeededRandom(9) })), 30);
    expect(seq(none())).toEqual(seq(shuffle()));
  });
});

describe('localOrShuffle grouping', () => {
  it('stays on local tasks when there are any, balanced among them', () => {
    const router = createRouter(localOrShuffle(), routerContext({ localTasks: [4, 6] }));
    const s = sequence(router, 100);
    expect(new Set(s)).toEqual(new Set([4, 6]));
    expect(s.filter((t) => t === 4)).toHaveLength(50);
  });

  it('falls back to a balanced shuffle over all targets when none are local', () => {
    expectExactlyBalanced(localOrShuffle());
    const s = sequence(createRouter(localOrShuffle(), routerContext({ localTasks: [] })), 40);
    expect(new Set(s)).toEqual(new Set([3, 4, 5, 6]));
  });
});
