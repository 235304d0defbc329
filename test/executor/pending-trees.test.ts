import { describe, expect, it } from 'vitest';
import { PendingTrees } from '../../src/executor/pending-trees.ts';

describe('PendingTrees', () => {
  it('finds a tree by the root it handed out, and not after the slot was reused by another tree', () => {
    const t = new PendingTrees(7, 3);
    const hi = t.add(111, 'a', -1);
    expect(hi >>> 20).toBe(7);
    const slot = t.find(111, hi);
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(t.remove(slot)).toBe('a');
    const hi2 = t.add(222, 'b', -1); // the freed slot again, another root
    expect(hi2).toBe(hi);
    expect(t.find(111, hi)).toBe(-1); // a late outcome of 'a' is not 'b'
    expect(t.find(222, hi2)).toBe(slot);
    expect(t.find(222, hi2 + (1 << 20))).toBe(-1); // another task's root
    expect(t.size).toBe(1);
  });

  it('expires a tree on the third rotation after it started or was touched, as a 3-bucket RotatingMap', () => {
    const t = new PendingTrees(1, 3);
    const expired: unknown[] = [];
    const hiA = t.add(1, 'a', -1);
    const hiB = t.add(2, 'b', -1);
    t.rotate((m) => expired.push(m));
    t.rotate((m) => expired.push(m));
    t.touch(t.find(1, hiA));
    t.rotate((m) => expired.push(m));
    expect(expired).toEqual(['b']);
    expect(t.find(2, hiB)).toBe(-1);
    t.rotate((m) => expired.push(m));
    t.rotate((m) => expired.push(m));
    expect(expired).toEqual(['b', 'a']);
    expect(t.size).toBe(0);
  });

  it('holds thousands of trees and refuses a task id that does not fit beside a slot', () => {
    const t = new PendingTrees(4095, 3);
    const his: number[] = [];
    for (let i = 0; i < 5000; i++) his.push(t.add(i, i, -1));
    for (let i = 0; i < 5000; i++) expect(t.remove(t.find(i, his[i]!))).toBe(i);
    expect(() => new PendingTrees(4096, 3)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
  });
});
