/**
 * ConstSpout → NullBolt (topologies/const-null.ts): the runtime's cost per
 * tuple with no user work. Figure: tuples executed by the NullBolt per second
 * of the window; with acking, also the spout's complete latency p99.
 */
import topology, { constNullConfig } from '../../topologies/const-null.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { measureTopology, p99Ms, rate } from '../measure.ts';

export async function constNull(acking: boolean, options: BenchOptions): Promise<BenchResult> {
  const w = await measureTopology(topology, constNullConfig(acking), options);
  return {
    bench: 'const-null',
    mode: 'local',
    threads: 1,
    acking,
    tuplesPerSec: rate(w, 'null', 'executed'),
    ...(acking ? { p99Ms: p99Ms(w, 'spout') } : {}),
    rssMb: w.rssMb,
  };
}
