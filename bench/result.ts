import type { CpuShare } from './cpu.ts';

/**
 * What one benchmark reports. A child process prints exactly one of these as
 * a JSON line; the parent (run.ts) collects them and prints the table or the
 * JSON lines. Fields that do not apply to a benchmark are left out.
 */
export interface BenchResult {
  bench: string;
  /** 'local': every task on the benchmark's main thread; 'threads': over `threads` worker threads. */
  mode: 'local' | 'threads';
  /** 1 in local mode; the number of worker threads otherwise. */
  threads: number;
  /** Topology benchmarks only: whether tuples were emitted with message ids. */
  acking?: boolean;
  /** The benchmark's unit of work per second of the measured window (see bench/README.md). */
  tuplesPerSec: number;
  /**
   * Acked topology benchmarks only: spout complete latency, 99th percentile.
   * Local mode: over the whole run (warm-up included); threads: over the
   * measured window only.
   */
  p99Ms?: number;
  /** Fixed-work benchmarks (Kafka) only: the records each pass moves. */
  records?: number;
  /** Fixed-work benchmarks only: how long the pass took (what tuplesPerSec divides by). */
  seconds?: number;
  /** Resident set size of the whole process (main thread and worker threads) at the end of the window. */
  rssMb: number;
  /**
   * CPU used during the window by this process and by everything else on the
   * machine. Passed from the child to run.ts, which prints it in the table
   * and warns when the machine was busy; not part of the JSON line.
   */
  cpu?: CpuShare;
}

/** Options every benchmark gets from one.ts. */
export interface BenchOptions {
  /** Length of the measured window. */
  seconds: number;
  /** Run before the window and left out of the figures (JIT, first GCs, pools filling). */
  warmupSeconds: number;
}

export function rssMb(): number {
  return round(process.memoryUsage().rss / (1024 * 1024), 1);
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
