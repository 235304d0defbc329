/**
 * topologies/word-count.ts (1 spout, 2 split, 2 count; unbounded) on the
 * realistic corpus (topologies/corpus.ts: 10,000 distinct generated
 * sentences, Zipf-like words), not the 8 demo sentences: V8 caches split on
 * repeated literal strings, which would flatter the bare loop.
 *
 * Acked: sentences whose whole tree (split, then a count per word) was acked,
 * per second of the window; and the spout's complete latency p99.
 * Unacked (`acking: false`, `ackers: 0`): sentences split, per second.
 */
import { fileURLToPath } from 'node:url';
import topology from '../../topologies/word-count.ts';
import type { TopologyConfig } from '../../src/index.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { measureThreaded, measureTopology, p99Ms, rate } from '../measure.ts';

const MODULE = fileURLToPath(new URL('../../topologies/word-count.ts', import.meta.url));

/** Unbounded, on the realistic corpus; without acking, no acker task either (as const-null does). */
export function wordcountConfig(acking: boolean): Partial<TopologyConfig> {
  return acking ? { sentences: 0, corpus: 'realistic' } : { sentences: 0, corpus: 'realistic', acking: false, ackers: 0 };
}

export async function wordcount(acking: boolean, options: BenchOptions): Promise<BenchResult> {
  const w = await measureTopology(topology, wordcountConfig(acking), options);
  return {
    bench: 'wordcount',
    mode: 'local',
    threads: 1,
    acking,
    // Untracked sentences are never acked: count them where split took them
    // (mailboxes are bounded, so over the window that is the topology's pace).
    tuplesPerSec: acking ? rate(w, 'sentences', 'acked') : rate(w, 'split', 'executed'),
    ...(acking ? { p99Ms: p99Ms(w, 'sentences') } : {}),
    rssMb: w.rssMb,
    cpu: w.cpu,
  };
}

/**
 * The same, acked, with 1% of trees traced (config traceSample 0.01; see
 * docs/metrics.md, "Where did my tuple get stuck?"): run.ts prints it over
 * the untraced word count of the same run (target 0.95).
 */
export async function wordcountTraced(options: BenchOptions): Promise<BenchResult> {
  const w = await measureTopology(topology, { ...wordcountConfig(true), traceSample: 0.01 }, options);
  return {
    bench: 'wordcount-traced',
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
 * The same, acked, over worker threads, placed by the even strategy (with 2:
 * sentences, count[0] and split[1] on host 0; count[1], split[0] and the
 * acker on host 1). rssMb is the whole process: main thread and workers.
 */
export async function wordcountThreads(threads: number, options: BenchOptions): Promise<BenchResult> {
  const w = await measureThreaded(MODULE, threads, wordcountConfig(true), options);
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
