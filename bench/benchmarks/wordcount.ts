/**
 * topologies/word-count.ts as it ships (unbounded sentences, acked).
 * Figure: sentences whose whole tree (split, then a count per word) was
 * acked, per second of the window; and the spout's complete latency p99.
 */
import topology from '../../topologies/word-count.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { measureTopology, p99Ms, rate } from '../measure.ts';

export async function wordcount(options: BenchOptions): Promise<BenchResult> {
  const w = await measureTopology(topology, { sentences: 0 }, options);
  return {
    bench: 'wordcount',
    mode: 'local',
    threads: 1,
    acking: true,
    tuplesPerSec: rate(w, 'sentences', 'acked'),
    p99Ms: p99Ms(w, 'sentences'),
    rssMb: w.rssMb,
  };
}
