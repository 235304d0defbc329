/**
 * Runs one benchmark in this process and prints its result as one JSON line
 * on stdout. run.ts starts one of these per benchmark so that one benchmark's
 * garbage and JIT state do not skew the next. Run it by hand to profile:
 *
 *   node --cpu-prof --import tsx bench/one.ts wordcount --acking true --seconds 5
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/one.ts cpu-heavy --threads 2
 *
 * (--threads 0 is local mode; with N > 0 each worker thread writes a profile
 * of its own next to the main thread's.)
 */
import { parseArgs } from 'node:util';
import { findCase } from './cases.ts';
import { booleanOption, positiveSeconds, threadCount } from './args.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    acking: { type: 'string' },
    threads: { type: 'string' },
  },
});

if (positionals.length !== 1) {
  process.stderr.write('usage: node --import tsx bench/one.ts <name> [--acking true|false] [--threads N] [--seconds N] [--warmup N]\n');
  process.exit(2);
}
try {
  const bench = findCase(positionals[0]!, booleanOption('--acking', values.acking), threadCount('--threads', values.threads));
  const seconds = positiveSeconds('--seconds', values.seconds!);
  const warmupSeconds = positiveSeconds('--warmup', values.warmup!, true);
  const result = await bench.run({ seconds, warmupSeconds });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  // A bad option is a message for the person running it; anything else keeps its stack.
  process.stderr.write(`${err instanceof RangeError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exitCode = 1;
}
