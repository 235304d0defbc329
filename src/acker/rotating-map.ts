import { invariant } from '../errors/index.ts';
import { IdMap } from './id-map.ts';

/**
 * Storm's RotatingMap over ids: timeouts without a timer per entry. An entry
 * belongs to the bucket of the rotation it was put (or touched) in; `rotate`
 * opens a new bucket and expires every entry put `numBuckets` rotations ago,
 * reporting each. An entry therefore survives `numBuckets - 1` rotations and
 * expires on the next.
 *
 * Timing: to expire entries after a timeout T, rotate every
 * T / (numBuckets - 1). An entry put just before a rotation lives
 * (numBuckets - 1) periods = T; one put just after lives numBuckets periods =
 * T * numBuckets / (numBuckets - 1).
 *
 * Storm keeps one hash map per bucket, so a lookup that misses probes all of
 * them. Here one id map holds every entry with its bucket's number beside
 * it: a lookup is one probe sequence, and a rotation scans the map once
 * (rotations come every T / (numBuckets - 1), seconds apart, never per tuple).
 */
export class RotatingMap<V> {
  private readonly map = new IdMap<V>();
  /** The newest bucket's number. */
  private current = 0;

  constructor(private readonly numBuckets: number) {
    invariant(Number.isInteger(numBuckets) && numBuckets >= 2, `RotatingMap needs at least 2 buckets, got ${numBuckets}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** Put into the newest bucket, so the entry's timeout starts again. */
  put(lo: number, hi: number, value: V): void {
    this.map.set(lo, hi, value, this.current);
  }

  /** The same as put: kept for callers that know the id is new (a root just drawn). */
  putNew(lo: number, hi: number, value: V): void {
    this.map.set(lo, hi, value, this.current);
  }

  get(lo: number, hi: number): V | undefined {
    return this.map.get(lo, hi);
  }

  containsKey(lo: number, hi: number): boolean {
    return this.map.has(lo, hi);
  }

  remove(lo: number, hi: number): V | undefined {
    return this.map.delete(lo, hi);
  }

  /** Move an entry to the newest bucket (restart its timeout). False if absent. */
  touch(lo: number, hi: number): boolean {
    return this.map.setStamp(lo, hi, this.current);
  }

  /**
   * Open a new bucket and expire the oldest, calling `onExpire` for each of
   * its entries after it left the map. The new bucket is in place before the
   * callbacks run, so a callback that puts an entry back gives it a full
   * timeout.
   */
  rotate(onExpire: (value: V, lo: number, hi: number) => void): void {
    this.current++;
    const expired = this.map.idsStampedBelow(this.current - (this.numBuckets - 1));
    for (let i = 0; i < expired.length; i += 2) {
      const lo = expired[i]!;
      const hi = expired[i + 1]!;
      const value = this.map.delete(lo, hi);
      // An earlier callback may have removed it already.
      if (value !== undefined) onExpire(value, lo, hi);
    }
  }
}
