import { fieldsHashBits, stringKeyHashBits } from './hash.ts';
import { singletons } from './shuffle.ts';
import type { Router } from './types.ts';

/**
 * Seeds of the two hash functions ("power of two choices"). Any two distinct
 * values work; these are fixed so that every process picks the same two
 * candidates for a key. Changing them reroutes every key.
 */
export const PARTIAL_KEY_SEED_1 = 0x9e3779b9;
export const PARTIAL_KEY_SEED_2 = 0x7f4a7c15;

/**
 * Storm's PartialKeyGrouping: each key has two candidate tasks, and the tuple
 * goes to whichever of them this router has sent fewer tuples to (ties to the
 * first). A key therefore reaches at most two tasks, and a hot key is split
 * over two instead of overloading one. Counts are per router, that is per
 * source task, as in Storm: no coordination between emitters.
 */
export class PartialKeyRouter implements Router {
  private readonly singles: readonly (readonly number[])[];
  /** Tuples sent per target index. Float64 so it cannot wrap in practice. */
  private readonly sent: Float64Array;

  constructor(
    tasks: readonly number[],
    private readonly fieldIndexes: readonly number[],
  ) {
    this.singles = singletons(tasks);
    this.sent = new Float64Array(tasks.length);
  }

  chooseTasks(values: readonly unknown[]): readonly number[] {
    const n = this.sent.length;
    const fi = this.fieldIndexes;
    const key = fi.length === 1 ? values[fi[0]!] : undefined;
    let first: number;
    let second: number;
    if (typeof key === 'string') {
      first = (stringKeyHashBits(key, PARTIAL_KEY_SEED_1) >>> 0) % n;
      second = (stringKeyHashBits(key, PARTIAL_KEY_SEED_2) >>> 0) % n;
    } else {
      first = (fieldsHashBits(values, fi, PARTIAL_KEY_SEED_1) >>> 0) % n;
      second = (fieldsHashBits(values, fi, PARTIAL_KEY_SEED_2) >>> 0) % n;
    }
    const chosen = this.sent[first] > this.sent[second] ? second : first;
    this.sent[chosen]++;
    return this.singles[chosen];
  }
}
