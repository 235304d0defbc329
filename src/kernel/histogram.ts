/**
 * A latency histogram with buckets 2^(1/8) wide (about 9%), over
 * microseconds from 1 µs to about 71 minutes: recording is one log2 and an
 * increment, and a percentile is read to within one bucket's width.
 */
const SUB = 8;
const BUCKETS = 32 * SUB + 1;

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  max = 0;
  /** The sum of the values recorded (ms): with count, their exact mean (Prometheus's _sum). */
  sum = 0;

  recordMs(ms: number): void {
    const us = ms * 1000;
    let i = us <= 1 ? 0 : Math.ceil(Math.log2(us) * SUB);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.counts[i]!++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value (ms) at quantile q in [0,1]: the upper edge of its bucket, capped by the max seen. */
  percentileMs(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, 2 ** (i / SUB) / 1000);
    }
    return this.max;
  }

  /** Non-zero buckets as [index, count, index, count, ...]: small to send across threads. */
  toSparse(): number[] {
    const out: number[] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) out.push(i, this.counts[i]!);
    return out;
  }

  mergeSparse(sparse: readonly number[], max: number, sum = 0): void {
    this.sum += sum;
    for (let i = 0; i < sparse.length; i += 2) {
      this.counts[sparse[i]!]! += sparse[i + 1]!;
      this.count += sparse[i + 1]!;
    }
    if (max > this.max) this.max = max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }
}
