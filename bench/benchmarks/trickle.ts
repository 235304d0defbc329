/**
 * topologies/trickle.ts: 1,000 tuples/s paced on the real clock, acked,
 * spout on one thread and the bolt (and the acker) on the other. Figure: the
 * spout's complete latency p99 over the measured window only (the warm-up is
 * left out: the window's bucket counts less the warm-up's); tuplesPerSec is
 * trees acked per second, which should sit at the rate.
 */
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchResult } from '../result.ts';
import { apart, measureThreaded, p99Ms, rate } from '../measure.ts';

const MODULE = fileURLToPath(new URL('../../topologies/trickle.ts', import.meta.url));

export async function trickle(threads: number, options: BenchOptions): Promise<BenchResult> {
  const w = await measureThreaded(MODULE, threads, { rate: 1000 }, options, apart('spout', 'sink'));
  return {
    bench: 'trickle',
    mode: 'threads',
    threads,
    acking: true,
    tuplesPerSec: rate(w, 'spout', 'acked'),
    p99Ms: p99Ms(w, 'spout'),
    rssMb: w.rssMb,
    cpu: w.cpu,
  };
}
