import { submit } from '../src/index.ts';
import type { ComponentMetrics, MetricsSnapshot, Topology, TopologyConfig } from '../src/index.ts';
import type { BenchOptions } from './result.ts';
import { round, rssMb } from './result.ts';

/** What a topology benchmark reads from the run: counters at both ends of the window. */
export interface Window {
  start: MetricsSnapshot;
  end: MetricsSnapshot;
  /** Measured length of the window (timers are late on a busy loop). */
  seconds: number;
  rssMb: number;
}

/**
 * Submit a topology, let it warm up, take metrics at the start and the end of
 * the measured window, read RSS, then kill it. Killing waits a little for the
 * trees in flight so the process exits cleanly; that time is not measured.
 */
export async function measureTopology(topology: Topology, config: Partial<TopologyConfig>, options: BenchOptions): Promise<Window> {
  const run = await submit(topology, { config });
  try {
    await sleep(options.warmupSeconds * 1000);
    const start = run.metrics();
    const t0 = performance.now();
    await sleep(options.seconds * 1000);
    const end = run.metrics();
    const seconds = (performance.now() - t0) / 1000;
    const rss = rssMb();
    if (end.errors.length > 0) {
      const e = end.errors[0]!;
      throw new Error(`${topology.name}: component '${e.component}' reported ${e.count} error(s): ${e.message}`);
    }
    return { start, end, seconds, rssMb: rss };
  } finally {
    await run.kill({ waitMs: 2000 });
  }
}

export function component(m: MetricsSnapshot, id: string): ComponentMetrics {
  const c = m.components.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no component '${id}' in the metrics (have: ${m.components.map((x) => x.id).join(', ')})`);
  return c;
}

/** Per second of the window, of a counter of one component. */
export function rate(w: Window, id: string, counter: 'executed' | 'acked' | 'emitted'): number {
  return Math.round((component(w.end, id)[counter] - component(w.start, id)[counter]) / w.seconds);
}

/**
 * Spout complete latency p99 at the end of the window. The spout's histogram
 * is cumulative and the public metrics give percentiles, not buckets, so this
 * covers the warm-up second too (about a sixth of the samples at 5 s).
 */
export function p99Ms(w: Window, spout: string): number {
  const l = component(w.end, spout).completeLatencyMs;
  if (l === undefined) throw new Error(`'${spout}' reports no complete latency`);
  return round(l.p99, 3);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
