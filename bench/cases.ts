import type { BenchOptions, BenchResult } from './result.ts';

/**
 * One benchmark run: a name (what --only matches), for topologies the acking
 * variant, and where it runs: `threads` 0 for local mode (every task on the
 * main thread), N for N worker threads.
 */
export interface BenchCase {
  name: string;
  acking?: boolean;
  threads: number;
  /** What tuplesPerSec counts, for the table. */
  unit: string;
  /** Needs the Kafka broker (run.ts makes sure it runs first; see bench/broker.ts). */
  kafka?: boolean;
  run(options: BenchOptions): Promise<BenchResult>;
}

// Each case imports its module when it runs, so a child process loads only
// the topology it measures.
/**
 * In the order they run and print: local mode first, as before, then
 * threads, then the Kafka ones (which need the broker; run.ts starts it,
 * if it must, only when it gets there).
 */
export const CASES: readonly BenchCase[] = [
  {
    name: 'const-null',
    acking: true,
    threads: 0,
    unit: 'tuples executed by the null bolt',
    run: async (o) => (await import('./benchmarks/const-null.ts')).constNull(true, o),
  },
  {
    name: 'const-null',
    acking: false,
    threads: 0,
    unit: 'tuples executed by the null bolt',
    run: async (o) => (await import('./benchmarks/const-null.ts')).constNull(false, o),
  },
  {
    name: 'wordcount',
    acking: true,
    threads: 0,
    unit: 'sentences fully acked (realistic corpus)',
    run: async (o) => (await import('./benchmarks/wordcount.ts')).wordcount(true, o),
  },
  {
    name: 'wordcount-traced',
    acking: true,
    threads: 0,
    unit: 'sentences fully acked, 1% of trees traced (traceSample 0.01)',
    run: async (o) => (await import('./benchmarks/wordcount.ts')).wordcountTraced(o),
  },
  {
    name: 'wordcount-observed',
    acking: true,
    threads: 0,
    unit: 'sentences fully acked, with --ui and --metrics served, a page open in Chromium, /metrics scraped every second',
    run: async (o) => (await import('./benchmarks/wordcount-observed.ts')).wordcountObserved(o),
  },
  {
    name: 'wordcount',
    acking: false,
    threads: 0,
    unit: 'sentences split (realistic corpus, no acker)',
    run: async (o) => (await import('./benchmarks/wordcount.ts')).wordcount(false, o),
  },
  ...[false, true].map(
    (checkpoint): BenchCase => ({
      name: checkpoint ? 'wordcount-checkpoint' : 'wordcount-stateful',
      acking: false,
      threads: 0,
      unit: checkpoint ? 'sentences split (keyed counts, checkpoint every 1 s, embedded store)' : 'sentences split (keyed counts, no checkpoints)',
      run: async (o) => (await import('./benchmarks/wordcount-checkpoint.ts')).wordcountCheckpoint(checkpoint, o),
    }),
  ),
  ...[false, true].map(
    (windows): BenchCase => ({
      name: windows ? 'windowed-count' : 'keyed-count',
      acking: false,
      threads: 0,
      unit: windows ? 'events counted in 1-minute event-time windows (10,000 keys)' : 'events counted per key in ValueState (10,000 keys)',
      run: async (o) => (await import('./benchmarks/windowed-count.ts')).windowedCount(windows, o),
    }),
  ),
  {
    name: 'wordcount-bare-loop',
    threads: 0,
    unit: 'sentences split and counted (realistic corpus)',
    run: async (o) => (await import('./benchmarks/wordcount-bare-loop.ts')).wordcountBareLoop(o),
  },
  ...[1, 2].map(
    (threads): BenchCase => ({
      name: 'wordcount',
      acking: true,
      threads,
      unit: 'sentences fully acked (realistic corpus)',
      run: async (o) => (await import('./benchmarks/wordcount.ts')).wordcountThreads(threads, o),
    }),
  ),
  ...[1, 2].map(
    (threads): BenchCase => ({
      name: 'cpu-heavy',
      acking: true,
      threads,
      unit: 'tuples hashed and acked',
      run: async (o) => (await import('./benchmarks/cpu-heavy.ts')).cpuHeavy(threads, o),
    }),
  ),
  ...[true, false].map(
    (acking): BenchCase => ({
      name: 'const-null',
      acking,
      threads: 2,
      unit: 'tuples executed by the null bolt (spout on the other thread)',
      run: async (o) => (await import('./benchmarks/const-null.ts')).constNullThreads(acking, 2, o),
    }),
  ),
  {
    name: 'trickle',
    acking: true,
    threads: 2,
    unit: 'trees acked at 1,000/s (spout on the other thread)',
    run: async (o) => (await import('./benchmarks/trickle.ts')).trickle(2, o),
  },
  {
    name: 'kafka-pipeline',
    acking: true,
    threads: 0,
    unit: 'records Kafka → spout → identity → KafkaBolt → Kafka',
    kafka: true,
    run: async (o) => (await import('./benchmarks/kafka-pipeline.ts')).kafkaPipeline(o),
  },
  {
    name: 'kafka-bare-loop',
    threads: 0,
    unit: 'records consumed, produced, committed by a kafkajs loop',
    kafka: true,
    run: async (o) => (await import('./benchmarks/kafka-bare-loop.ts')).kafkaBareLoop(o),
  },
];

export const NAMES: readonly string[] = [...new Set(CASES.map((c) => c.name))];

/** How a case is named on one.ts's command line. */
export function caseArgs(c: BenchCase): string {
  return `${c.name}${c.acking === undefined ? '' : ` --acking ${c.acking}`} --threads ${c.threads}`;
}

/**
 * The case with this name, acking variant and thread count (0: local mode);
 * an option left out matches any, and the first such case in CASES is taken
 * (local mode and the acked variant come first).
 */
export function findCase(name: string, acking: boolean | undefined, threads?: number): BenchCase {
  const c = CASES.find((x) => x.name === name && (acking === undefined || x.acking === acking) && (threads === undefined || x.threads === threads));
  if (c === undefined) {
    const asked = `${acking === undefined ? '' : ` with --acking ${acking}`}${threads === undefined ? '' : ` ${acking === undefined ? 'with' : 'and'} --threads ${threads}`}`;
    throw new RangeError(`no benchmark '${name}'${asked}; known: ${CASES.map(caseArgs).join('; ')}`);
  }
  return c;
}
