/**
 * The floor under word count: the same realistic corpus the wordcount
 * benchmark's spout emits (makeCorpus() with its defaults, which is what
 * word count's `corpus: 'realistic'` emits; test/bench/corpus.test.ts checks
 * they are the same), split and counted into a Map by a plain loop, no
 * framework: this process loads no squall runtime. Figure:
 * sentences per second. The wordcount benchmarks over this one are the
 * framework's overhead as ratios.
 */
import { makeCorpus } from '../../topologies/corpus.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { rssMb } from '../result.ts';
import { cpuMark, cpuSince } from '../cpu.ts';

/** Sentences between clock reads: performance.now() costs more than a sentence. */
const BATCH = 1024;

/**
 * Split and count for `ms`, starting at sentence 0; return how many
 * sentences. The counts are checked against the number of words the
 * sentences hold, which both proves the loop did the work and keeps the
 * optimiser from dropping it.
 */
function countFor(sentences: readonly string[], ms: number, counts: Map<string, number>): number {
  const n = sentences.length;
  const deadline = performance.now() + ms;
  let done = 0;
  let next = 0;
  do {
    for (let b = 0; b < BATCH; b++) {
      const words = sentences[next]!.split(' ');
      next = next + 1 === n ? 0 : next + 1;
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
    done += BATCH;
  } while (performance.now() < deadline);
  return done;
}

/** Words in the first `count` sentences of the cycle (repeated as often as needed). */
function wordsIn(sentences: readonly string[], count: number): number {
  const per = sentences.map((s) => s.split(' ').length);
  const full = Math.floor(count / per.length);
  let total = full * per.reduce((a, b) => a + b, 0);
  for (let i = 0; i < count % per.length; i++) total += per[i]!;
  return total;
}

export function wordcountBareLoop(options: BenchOptions): BenchResult {
  const sentences = makeCorpus();
  const counts = new Map<string, number>();
  const warm = countFor(sentences, options.warmupSeconds * 1000, counts);
  const t0 = performance.now();
  const mark = cpuMark();
  const measured = countFor(sentences, options.seconds * 1000, counts);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSince(mark);
  const rss = rssMb();
  let counted = 0;
  for (const c of counts.values()) counted += c;
  // Both runs started at sentence 0, so each covers a whole prefix of the cycle.
  const expected = wordsIn(sentences, warm) + wordsIn(sentences, measured);
  if (counted !== expected) throw new Error(`bare loop counted ${counted} words, expected ${expected}`);
  return { bench: 'wordcount-bare-loop', mode: 'local', threads: 1, tuplesPerSec: Math.round(measured / seconds), rssMb: rss, cpu };
}
