/**
 * ConstSpout → NullBolt (topologies/const-null.ts): the runtime's cost per
 * tuple with no user work. Figure: tuples executed by the NullBolt per second
 * of the window; with acking, also the spout's complete latency p99.
 *
 * Over two threads the spout and the bolt run on different hosts, so every
 * tuple crosses threads: with the even strategy, task ids in sorted
 * component-id order ('null' 1, 'spout' 2, then the acker) put the bolt and
 * the acker on host 0 and the spout on host 1, with no change to the module.
 * The benchmark checks that placement before it measures.
 */
import { fileURLToPath } from 'node:url';
import topology, { constNullConfig } from '../../topologies/const-null.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { apart, measureThreaded, measureTopology, p99Ms, rate } from '../measure.ts';

const MODULE = fileURLToPath(new URL('../../topologies/const-null.ts', import.meta.url));

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
    cpu: w.cpu,
  };
}

/** Spout on one thread, NullBolt on the other. */
export async function constNullThreads(acking: boolean, threads: number, options: BenchOptions): Promise<BenchResult> {
  const w = await measureThreaded(MODULE, threads, constNullConfig(acking), options, apart('spout', 'null'));
  return {
    bench: 'const-null',
    mode: 'threads',
    threads,
    acking,
    tuplesPerSec: rate(w, 'null', 'executed'),
    ...(acking ? { p99Ms: p99Ms(w, 'spout') } : {}),
    rssMb: w.rssMb,
    cpu: w.cpu,
  };
}
