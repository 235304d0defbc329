/** Key groups: pure functions, checked exhaustively over small parallelisms. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_PARALLELISM,
  checkMaxParallelism,
  keyGroupOf,
  keyGroupRangeOf,
  mixHash,
  taskIndexForKeyGroup,
} from '../../src/state/index.ts';

describe('key groups', () => {
  it('gives every key group to exactly one task, in contiguous ranges, for every parallelism 1..max', () => {
    const problems: string[] = [];
    for (const max of [1, 2, 7, 128, 1000]) {
      for (let p = 1; p <= max; p++) {
        const owner = new Int32Array(max).fill(-1);
        let next = 0;
        for (let i = 0; i < p; i++) {
          const r = keyGroupRangeOf(i, p, max);
          if (r.start !== next) problems.push(`max ${max} p ${p} task ${i}: starts at ${r.start}, not ${next}`);
          if (r.end < r.start) problems.push(`max ${max} p ${p} task ${i}: empty range`);
          for (let kg = r.start; kg <= r.end; kg++) {
            if (owner[kg] !== -1) problems.push(`max ${max} p ${p}: key group ${kg} owned twice`);
            owner[kg] = i;
            if (taskIndexForKeyGroup(kg, p, max) !== i) problems.push(`max ${max} p ${p}: taskIndexForKeyGroup(${kg}) is not ${i}`);
          }
          next = r.end + 1;
        }
        if (next !== max || owner.some((o) => o < 0)) problems.push(`max ${max} p ${p}: not every key group is owned`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('matches Flink: start = ceil(i * max / p)', () => {
    expect(keyGroupRangeOf(0, 3, 128)).toEqual({ start: 0, end: 42 });
    expect(keyGroupRangeOf(1, 3, 128)).toEqual({ start: 43, end: 85 });
    expect(keyGroupRangeOf(2, 3, 128)).toEqual({ start: 86, end: 127 });
    expect(keyGroupRangeOf(0, 1, 128)).toEqual({ start: 0, end: 127 });
    expect(keyGroupRangeOf(127, 128, 128)).toEqual({ start: 127, end: 127 });
  });

  it('moves whole key groups when rescaling 2 -> 3 -> 1: every key keeps its group, and its state moves with it', () => {
    const max = DEFAULT_MAX_PARALLELISM;
    const keys = Array.from({ length: 5000 }, (_, i) => (Math.imul(i, 2654435761) ^ (i << 7)) | 0);
    // State per task at parallelism 2: key -> group, kept per task's key groups.
    const place = (p: number): Map<number, Set<number>> => {
      const tasks = new Map<number, Set<number>>();
      for (const k of keys) {
        const kg = keyGroupOf(k, max);
        const t = taskIndexForKeyGroup(kg, p, max);
        if (!tasks.has(t)) tasks.set(t, new Set());
        tasks.get(t)!.add(kg);
      }
      return tasks;
    };
    const groupsOf = (p: number): Map<number, number> => {
      const m = new Map<number, number>();
      for (let kg = 0; kg < max; kg++) m.set(kg, taskIndexForKeyGroup(kg, p, max));
      return m;
    };
    for (const [from, to] of [[2, 3], [3, 1]] as const) {
      const before = groupsOf(from);
      const after = groupsOf(to);
      // Restoring task t at the new parallelism reads its range: exactly the groups it owns, each from one old task.
      for (let t = 0; t < to; t++) {
        const r = keyGroupRangeOf(t, to, max);
        for (let kg = r.start; kg <= r.end; kg++) expect(after.get(kg)).toBe(t);
      }
      // A key group is never split: all of its keys were on one old task and go to one new task.
      const placedBefore = place(from);
      const placedAfter = place(to);
      for (const [t, groups] of placedBefore) for (const kg of groups) expect(before.get(kg)).toBe(t);
      for (const [t, groups] of placedAfter) for (const kg of groups) expect(after.get(kg)).toBe(t);
      const total = [...placedAfter.values()].reduce((n, s) => n + s.size, 0);
      expect(total).toBe(new Set(keys.map((k) => keyGroupOf(k, max))).size);
    }
  });

  it('spreads small integer hashes over the groups (the mix)', () => {
    const counts = new Array<number>(128).fill(0);
    for (let i = 0; i < 128 * 100; i++) counts[keyGroupOf(i, 128)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(160);
    // documented values (fmix32): stable across releases, or state would move
    expect(mixHash(0)).toBe(0);
    expect(mixHash(1)).toBe(0x514e28b7);
    expect(keyGroupOf(1, 128)).toBe(0x514e28b7 % 128);
    expect(keyGroupOf(-1, 128)).toBe(mixHash(-1) % 128);
    expect(keyGroupOf(0xffffffff, 128)).toBe(keyGroupOf(-1, 128));
  });

  it('refuses a bad parallelism or maxParallelism with E_BAD_CONFIG, a bad task with E_BAD_ARGUMENT', () => {
    expect(() => keyGroupRangeOf(0, 129, 128)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => keyGroupRangeOf(0, 0, 128)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => keyGroupRangeOf(2, 2, 128)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
    expect(() => checkMaxParallelism(0)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => checkMaxParallelism(32769)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => checkMaxParallelism(32768)).not.toThrow();
  });
});
