/**
 * topologies/word-count.ts as it ships (unbounded sentences, acked).
 * Figure: sentences whose whole tree (split, then a count per word) was
 * acked, per second of the window; and the spout's complete latency p99.
 */
import { fileURLToPath } from 'node:url';
import topology from '../../topologies/word-count.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { measureThreaded, measureTopology, p99Ms, rate } from '../measure.ts';

const MODULE = fileURLToPath(new URL('../../topologies/word-count.ts', import.meta.url));

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
    cpu: w.cpu,
  };
}

/**
 * The same over worker threads, placed by the even strategy (with 2:
 * sentences, count[0] and split[1] on host 0; count[1], split[0] and the
 * acker on host 1). rssMb is the whole process: main thread and workers.
 */
export async function wordcountThreads(threads: number, options: BenchOptions): Promise<BenchResult> {
  const w = await measureThreaded(MODULE, threads, { sentences: 0 }, options);
  return {
    bench: 'wordcount',
    mode: 'threads',
    threads,
    acking: true,
    tuplesPerSec: rate(w, 'sentences', 'acked'),
    p99Ms: p99Ms(w, 'sentences'),
    rssMb: w.rssMb,
    cpu: w.cpu,
  };
}
