import { invariant } from '../errors/index.ts';
import { IdMap } from './id-map.ts';

/**
 * Storm's RotatingMap over ids: timeouts without a timer per entry. Entries
 * live in `numBuckets` buckets, newest first. `put` writes to the newest
 * bucket; `rotate` drops the oldest bucket (reporting each entry in it as
 * expired) and opens a new empty newest one. An entry therefore survives
 * `numBuckets - 1` rotations and expires on the next.
 *
 * Timing: to expire entries after a timeout T, rotate every
 * T / (numBuckets - 1). An entry put just before a rotation lives
 * (numBuckets - 1) periods = T; one put just after lives numBuckets periods =
 * T * numBuckets / (numBuckets - 1). More buckets make the bound tighter at
 * the cost of more lookups per `get`.
 */
export class RotatingMap<V> {
  // buckets[0] is the newest, buckets[length - 1] the oldest. The list is a
  // handful long, so unshift/pop once per rotation costs nothing that matters.
  private readonly buckets: IdMap<V>[] = [];

  constructor(numBuckets: number) {
    invariant(
      Number.isInteger(numBuckets) && numBuckets >= 2,
      `RotatingMap needs at least 2 buckets, got ${numBuckets}`,
    );
    for (let i = 0; i < numBuckets; i++) this.buckets.push(new IdMap<V>());
  }

  get size(): number {
    let n = 0;
    for (let i = 0; i < this.buckets.length; i++) n += this.buckets[i].size;
    return n;
  }

  /** Put into the newest bucket, so the entry's timeout starts again. */
  put(lo: number, hi: number, value: V): void {
    this.buckets[0].set(lo, hi, value);
    for (let i = 1; i < this.buckets.length; i++) this.buckets[i].delete(lo, hi);
  }

  /**
   * Put an id the caller knows is in no bucket (a root it just drew, or one
   * `get` just missed): skips the deletes from older buckets that `put` does.
   */
  putNew(lo: number, hi: number, value: V): void {
    this.buckets[0].set(lo, hi, value);
  }

  get(lo: number, hi: number): V | undefined {
    for (let i = 0; i < this.buckets.length; i++) {
      const v = this.buckets[i].get(lo, hi);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  containsKey(lo: number, hi: number): boolean {
    for (let i = 0; i < this.buckets.length; i++) {
      if (this.buckets[i].has(lo, hi)) return true;
    }
    return false;
  }

  remove(lo: number, hi: number): V | undefined {
    for (let i = 0; i < this.buckets.length; i++) {
      const v = this.buckets[i].delete(lo, hi);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Move an entry to the newest bucket (restart its timeout). False if absent. */
  touch(lo: number, hi: number): boolean {
    if (this.buckets[0].has(lo, hi)) return true;
    for (let i = 1; i < this.buckets.length; i++) {
      const v = this.buckets[i].delete(lo, hi);
      if (v !== undefined) {
        this.buckets[0].set(lo, hi, v);
        return true;
      }
    }
    return false;
  }

  /**
   * Drop the oldest bucket, calling `onExpire` for each of its entries. The
   * new newest bucket is in place before the callbacks run, so a callback
   * that puts an entry back gives it a full timeout.
   */
  rotate(onExpire: (value: V, lo: number, hi: number) => void): void {
    const dead = this.buckets.pop() as IdMap<V>;
    this.buckets.unshift(new IdMap<V>());
    if (dead.size > 0) dead.forEach(onExpire);
  }
}
