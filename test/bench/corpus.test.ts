import { describe, expect, it } from 'vitest';
import { completeTopology } from '../../src/testing/index.ts';
import { MAX_LETTERS, MAX_WORDS, MIN_LETTERS, MIN_WORDS, ZIPF_S, makeCorpus, mulberry32 } from '../../topologies/corpus.ts';
import { SENTENCES, corpusName, corpusSentences } from '../../topologies/word-count.ts';
import { loadTopology } from '../support/modes.ts';

const corpus = makeCorpus();

/** Occurrences per word over the whole corpus, most frequent first. */
function frequencies(sentences: readonly string[]): { counts: number[]; tokens: number; words: Map<string, number> } {
  const words = new Map<string, number>();
  let tokens = 0;
  for (const s of sentences) {
    for (const w of s.split(' ')) {
      words.set(w, (words.get(w) ?? 0) + 1);
      tokens++;
    }
  }
  return { counts: [...words.values()].sort((a, b) => b - a), tokens, words };
}

/** Zipf probabilities of ranks 1..n with exponent s. */
function zipf(n: number, s: number): number[] {
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

describe('mulberry32', () => {
  it('is deterministic and spreads over [0, 1)', () => {
    const a = mulberry32(5);
    const b = mulberry32(5);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((x, y) => x + y, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
  });
});

describe('makeCorpus', () => {
  it('gives the same corpus for the same seed and another for another seed', () => {
    expect(makeCorpus({ seed: 1 })).toEqual(corpus);
    const other = makeCorpus({ seed: 2 });
    expect(other).not.toEqual(corpus);
    // Not a shuffle of the same text either: another vocabulary, so almost no sentence in common.
    const mine = new Set(corpus);
    expect(other.filter((s) => mine.has(s)).length).toBeLessThan(100);
  });

  it('has 10,000 distinct sentences of 4 to 16 lowercase words of 3 to 10 letters', () => {
    expect(corpus).toHaveLength(10_000);
    expect(new Set(corpus).size).toBe(10_000);
    const lengths = new Set<number>();
    const word = new RegExp(`^[a-z]{${MIN_LETTERS},${MAX_LETTERS}}$`);
    const badWords: string[] = [];
    for (const s of corpus) {
      const words = s.split(' ');
      lengths.add(words.length);
      for (const w of words) if (!word.test(w)) badWords.push(w);
    }
    expect(Math.min(...lengths)).toBe(MIN_WORDS);
    expect(Math.max(...lengths)).toBe(MAX_WORDS);
    expect(badWords).toEqual([]);
    // Every length occurs (uniform over 4..16).
    expect(lengths.size).toBe(MAX_WORDS - MIN_WORDS + 1);
  });

  it('uses every one of the 2,000 words of its vocabulary', () => {
    expect(frequencies(corpus).words.size).toBe(2_000);
    expect(frequencies(makeCorpus({ vocabulary: 3_000, sentences: 12_000, seed: 9 })).words.size).toBe(3_000);
  });

  it('has Zipf-like word frequencies', () => {
    const { counts, tokens } = frequencies(corpus);
    const p = zipf(2_000, ZIPF_S);
    // About 10 words a sentence, 4 to 16 uniform.
    expect(tokens).toBeGreaterThan(95_000);
    expect(tokens).toBeLessThan(105_000);
    // The most frequent word: 1/H(2000, 1.07), about 15% of all words (a
    // uniform draw would give 0.05%). Sampling noise is well under 5%.
    expect(counts[0]! / tokens).toBeGreaterThan(p[0]! * 0.9);
    expect(counts[0]! / tokens).toBeLessThan(p[0]! * 1.1);
    // The top 1% of words (20) cover about half of all occurrences.
    const top = counts.slice(0, 20).reduce((a, b) => a + b, 0) / tokens;
    const topExpected = p.slice(0, 20).reduce((a, b) => a + b, 0);
    expect(topExpected).toBeGreaterThan(0.45);
    expect(Math.abs(top - topExpected)).toBeLessThan(0.03);
    // The most frequent word against the median one (rank 1000): 1000^1.07,
    // about 1,600, in theory; the median's count is about 10 (one of them
    // the occurrence every word is given), so allow for its noise. With
    // s = 0.8 this would be about 250; uniform, about 1.
    const median = counts[counts.length / 2]!;
    expect(counts[0]! / median).toBeGreaterThan(700);
    // Log-log slope of count against rank over the top 200 ranks (each
    // counted over 100 times, so little noise): -s.
    const xs = counts.slice(0, 200).map((_, i) => Math.log(i + 1));
    const ys = counts.slice(0, 200).map((c) => Math.log(c));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let num = 0;
    let den = 0;
    for (let i = 0; i < xs.length; i++) {
      num += (xs[i]! - mx) * (ys[i]! - my);
      den += (xs[i]! - mx) ** 2;
    }
    expect(num / den).toBeGreaterThan(-ZIPF_S - 0.1);
    expect(num / den).toBeLessThan(-ZIPF_S + 0.1);
  });

  it('makes frequent words shorter than rare ones', () => {
    const { words } = frequencies(corpus);
    const byRank = [...words.entries()].sort((a, b) => b[1] - a[1]).map(([w]) => w.length);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(byRank.slice(0, 20))).toBeLessThan(5.5);
    expect(mean(byRank.slice(1_000))).toBeGreaterThan(7.5);
  });

  it('refuses what it cannot draw', () => {
    expect(() => makeCorpus({ sentences: 0 })).toThrow(RangeError);
    expect(() => makeCorpus({ vocabulary: 1, sentences: 100 })).toThrow(/distinct sentences/);
  });
});

describe('word count on the realistic corpus', () => {
  it("reads config 'corpus'", () => {
    expect(corpusName(undefined)).toBe('demo');
    expect(corpusName('realistic')).toBe('realistic');
    expect(() => corpusName('shakespeare')).toThrow(RangeError);
    expect(corpusSentences('demo')).toBe(SENTENCES);
    expect(corpusSentences('realistic')).toEqual(corpus);
  });

  /** Exact word counts of the first n sentences of the corpus. */
  function exactCounts(n: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) for (const w of corpus[i % corpus.length]!.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
    return counts;
  }

  it.each([true, false])('counts every word of the corpus exactly (acking %s)', async (acking) => {
    const n = 3_000;
    const topology = await loadTopology('topologies/word-count.ts');
    const config = acking ? { sentences: n, corpus: 'realistic' } : { sentences: n, corpus: 'realistic', acking: false, ackers: 0 };
    const result = await completeTopology(topology, { config });
    expect(result.errors).toEqual([]);
    const sentences = result.emitted('sentences').map((v) => v[0]);
    expect(sentences).toEqual(corpus.slice(0, n));
    const spout = result.metrics.components.find((c) => c.id === 'sentences')!;
    // Untracked sentences are never acked.
    expect(spout.acked).toBe(acking ? n : 0);
    const final = new Map<string, number>();
    for (const [word, count] of result.emitted('count') as [string, number][]) if (count > (final.get(word) ?? 0)) final.set(word, count);
    expect(final).toEqual(exactCounts(n));
  });
});
