/**
 * topologies/windowed-count.ts: events over 10,000 Zipf-like keys, event
 * time from a field with watermarks, counted per key in tumbling one-minute
 * windows of event time; against the same topology counting per key in
 * ValueState without windows. `ackers: 0`, no checkpoints. Events counted
 * per second of the window (the count bolt's executes).
 */
import { build } from '../../topologies/windowed-count.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { measureTopology, rate } from '../measure.ts';

export async function windowedCount(windows: boolean, options: BenchOptions): Promise<BenchResult> {
  const w = await measureTopology(build({ windows }), { keys: 10_000 }, options);
  return {
    bench: windows ? 'windowed-count' : 'keyed-count',
    mode: 'local',
    threads: 1,
    acking: false,
    tuplesPerSec: rate(w, 'count', 'executed'),
    rssMb: w.rssMb,
    cpu: w.cpu,
  };
}
