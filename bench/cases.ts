import type { BenchOptions, BenchResult } from './result.ts';

/** One benchmark run: a name (what --only matches) and, for topologies, the acking variant. */
export interface BenchCase {
  name: string;
  acking?: boolean;
  /** What tuplesPerSec counts, for the table. */
  unit: string;
  run(options: BenchOptions): Promise<BenchResult>;
}

// Each case imports its module when it runs, so a child process loads only
// the topology it measures.
/** In the order they run and print. */
export const CASES: readonly BenchCase[] = [
  {
    name: 'const-null',
    acking: true,
    unit: 'tuples executed by the null bolt',
    run: async (o) => (await import('./benchmarks/const-null.ts')).constNull(true, o),
  },
  {
    name: 'const-null',
    acking: false,
    unit: 'tuples executed by the null bolt',
    run: async (o) => (await import('./benchmarks/const-null.ts')).constNull(false, o),
  },
  {
    name: 'wordcount',
    acking: true,
    unit: 'sentences fully acked',
    run: async (o) => (await import('./benchmarks/wordcount.ts')).wordcount(o),
  },
  {
    name: 'wordcount-bare-loop',
    unit: 'sentences split and counted',
    run: async (o) => (await import('./benchmarks/wordcount-bare-loop.ts')).wordcountBareLoop(o),
  },
];

export const NAMES: readonly string[] = [...new Set(CASES.map((c) => c.name))];

/**
 * The case with this name and acking variant; without `acking`, the first
 * case of that name (the acked variant, for topologies).
 */
export function findCase(name: string, acking: boolean | undefined): BenchCase {
  const c = CASES.find((x) => x.name === name && (acking === undefined || x.acking === acking));
  if (c === undefined) {
    const known = CASES.map((x) => (x.acking === undefined ? x.name : `${x.name} --acking ${x.acking}`)).join('; ');
    throw new RangeError(`no benchmark '${name}'${acking === undefined ? '' : ` with --acking ${acking}`}; known: ${known}`);
  }
  return c;
}
