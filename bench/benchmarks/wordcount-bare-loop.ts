/**
 * The floor under word count: the same SENTENCES split and counted by a
 * plain loop, no framework. Figure: sentences per second. The wordcount
 * benchmark over this one is the framework's overhead as a ratio.
 */
import { SENTENCES } from '../../topologies/word-count.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { rssMb } from '../result.ts';
import { cpuMark, cpuSince } from '../cpu.ts';

/** Sentences between clock reads: performance.now() costs more than a sentence. */
const BATCH = 1024;

/**
 * Split and count for `ms`; return how many sentences. The counts are checked
 * against the number of words the sentences hold, which both proves the loop
 * did the work and keeps the optimiser from dropping it.
 */
function countFor(ms: number, counts: Map<string, number>): number {
  const n = SENTENCES.length;
  const deadline = performance.now() + ms;
  let done = 0;
  let next = 0;
  do {
    for (let b = 0; b < BATCH; b++) {
      const words = SENTENCES[next]!.split(' ');
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

function wordsIn(sentences: number): number {
  const per = SENTENCES.map((s) => s.split(' ').length);
  const full = Math.floor(sentences / per.length);
  let total = full * per.reduce((a, b) => a + b, 0);
  for (let i = 0; i < sentences % per.length; i++) total += per[i]!;
  return total;
}

export function wordcountBareLoop(options: BenchOptions): BenchResult {
  const counts = new Map<string, number>();
  const warm = countFor(options.warmupSeconds * 1000, counts);
  const t0 = performance.now();
  const mark = cpuMark();
  const measured = countFor(options.seconds * 1000, counts);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSince(mark);
  const rss = rssMb();
  let counted = 0;
  for (const c of counts.values()) counted += c;
  // Both runs started at sentence 0, so each covers a whole prefix of the cycle.
  const expected = wordsIn(warm) + wordsIn(measured);
  if (counted !== expected) throw new Error(`bare loop counted ${counted} words, expected ${expected}`);
  return { bench: 'wordcount-bare-loop', mode: 'local', threads: 1, tuplesPerSec: Math.round(measured / seconds), rssMb: rss, cpu };
}
