/**
 * topologies/cpu-heavy.ts: a spout of small keys into two hash tasks doing
 * tens of microseconds of pure-JS hashing per tuple, acked. Figure: trees
 * acked per second (each is one tuple hashed), and the spout's complete
 * latency p99. Run with 1 and 2 threads; 2 over 1 is the speedup the runtime
 * gets out of a second core for CPU-bound bolts (with 2 threads each thread
 * runs one hash task; the spout shares host 0 and the acker host 1).
 */
import { fileURLToPath } from 'node:url';
import type { BenchOptions, BenchResult } from '../result.ts';
import { measureThreaded, p99Ms, rate } from '../measure.ts';

const MODULE = fileURLToPath(new URL('../../topologies/cpu-heavy.ts', import.meta.url));

export async function cpuHeavy(threads: number, options: BenchOptions): Promise<BenchResult> {
  const w = await measureThreaded(MODULE, threads, {}, options, (plan) => {
    const hosts = new Set(plan.componentTasks.get('hash')!.map((t) => plan.hostOfTask[t]));
    if (hosts.size !== Math.min(threads, 2)) throw new Error(`cpu-heavy: the hash tasks run on hosts ${[...hosts].join(',')}; want one per thread`);
  });
  return {
    bench: 'cpu-heavy',
    mode: 'threads',
    threads,
    acking: true,
    tuplesPerSec: rate(w, 'spout', 'acked'),
    p99Ms: p99Ms(w, 'spout'),
    rssMb: w.rssMb,
    cpu: w.cpu,
  };
}
