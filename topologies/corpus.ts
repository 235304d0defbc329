/**
 * A realistic stream of sentences for word count, generated at start-up from
 * a seed: distinct sentences of 4 to 16 words over a vocabulary of made-up,
 * pronounceable lowercase words (3 to 10 letters, the frequent ones shorter),
 * drawn with Zipf-like frequencies (rank r has weight 1 / r^ZIPF_S).
 *
 * Why not a handful of literal sentences: V8 caches the result of
 * String.prototype.split when the string and the separator are both
 * internalized, which string literals are. Splitting the same 8 literal
 * sentences over and over hits that cache every time, so a plain loop runs
 * several times faster than on text that arrives from outside, and any ratio
 * against it is meaningless. The sentences here are built at runtime by
 * joining words, like text decoded from a socket: fresh, non-internalized
 * strings, split for real on every pass.
 *
 * Deterministic: the same options give the same sentences in the same order
 * (in every thread and process), from a PRNG of its own (mulberry32).
 */

export interface CorpusOptions {
  /** Distinct sentences (default 10,000). */
  sentences?: number;
  /** Distinct words, each used at least once (default 2,000). */
  vocabulary?: number;
  /** PRNG seed (default 1). */
  seed?: number;
}

/** Zipf exponent: rank r is drawn with weight 1 / r^ZIPF_S. */
export const ZIPF_S = 1.07;
export const MIN_WORDS = 4;
export const MAX_WORDS = 16;
export const MIN_LETTERS = 3;
export const MAX_LETTERS = 10;

/** mulberry32: a small, fast 32-bit PRNG; returns a function giving floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'y', 'z', 'br', 'ch', 'cl', 'dr', 'fl', 'gr', 'pl', 'pr', 'sh', 'sl', 'st', 'th', 'tr'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'i', 'o', 'ai', 'ea', 'ee', 'oo', 'ou'];
const CODAS = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'd', 'k', 'nd', 'st', 'ng', 'rt'];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/**
 * The length of the word of this rank (1 = most frequent): frequent words are
 * short (3 to 5 letters), rare ones long (8 to 10), as in real text, where
 * the most used words are the shortest.
 */
function targetLength(rank: number, rand: () => number): number {
  const base = MIN_LETTERS + Math.min(5, Math.floor(Math.log2(rank) / 2));
  return Math.min(MAX_LETTERS, base + Math.floor(rand() * 3));
}

/** One pronounceable word of exactly `length` letters: syllables of an onset, a vowel and now and then a coda. */
function makeWord(length: number, rand: () => number): string {
  for (;;) {
    let w = '';
    while (w.length < length) {
      w += pick(rand, ONSETS) + pick(rand, VOWELS);
      if (rand() < 0.3) w += pick(rand, CODAS);
    }
    if (w.length === length) return w;
  }
}

/** `n` distinct words, index 0 the most frequent rank. */
export function makeVocabulary(n: number, rand: () => number): string[] {
  const words: string[] = [];
  const seen = new Set<string>();
  while (words.length < n) {
    const w = makeWord(targetLength(words.length + 1, rand), rand);
    if (seen.has(w)) continue;
    seen.add(w);
    words.push(w);
  }
  return words;
}

/** Cumulative Zipf weights of ranks 1..n (index i: ranks 1..i+1). */
function zipfCumulative(n: number, s: number): Float64Array {
  const c = new Float64Array(n);
  let total = 0;
  for (let r = 1; r <= n; r++) {
    total += 1 / r ** s;
    c[r - 1] = total;
  }
  return c;
}

/** A rank index (0-based) drawn from the cumulative weights by binary search. */
function drawRank(cumulative: Float64Array, rand: () => number): number {
  const u = rand() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * `sentences` distinct sentences of 4 to 16 words (uniform), words drawn
 * from a vocabulary of `vocabulary` words with Zipf-like frequencies. So that
 * every vocabulary word occurs, the first `vocabulary` sentences each carry
 * the word of their index at a random position in place of one draw (one
 * extra occurrence per word: it hardly moves the distribution; the rarest
 * words would otherwise be expected only a few times in 100,000 draws).
 * Sentences are joined at runtime: fresh strings, not internalized literals.
 */
export function makeCorpus(options: CorpusOptions = {}): string[] {
  const n = options.sentences ?? 10_000;
  const v = options.vocabulary ?? 2_000;
  const seed = options.seed ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`corpus sentences must be a positive integer, got ${String(n)}`);
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`corpus vocabulary must be a positive integer, got ${String(v)}`);
  const rand = mulberry32(seed);
  const vocab = makeVocabulary(v, rand);
  const cumulative = zipfCumulative(v, ZIPF_S);
  const out: string[] = [];
  const seen = new Set<string>();
  const words: string[] = [];
  let repeats = 0;
  while (out.length < n) {
    const length = MIN_WORDS + Math.floor(rand() * (MAX_WORDS - MIN_WORDS + 1));
    words.length = 0;
    for (let i = 0; i < length; i++) words.push(vocab[drawRank(cumulative, rand)]!);
    if (out.length < v) words[Math.floor(rand() * length)] = vocab[out.length]!;
    const sentence = words.join(' ');
    // A repeat (a few short sentences of common words) is drawn again.
    if (seen.has(sentence)) {
      if (++repeats > 100_000) throw new RangeError(`corpus: cannot draw ${n} distinct sentences from ${v} words`);
      continue;
    }
    repeats = 0;
    seen.add(sentence);
    out.push(sentence);
  }
  return out;
}
