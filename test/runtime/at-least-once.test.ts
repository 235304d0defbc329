import { describe, expect, it } from 'vitest';
import { completeTopology } from '../../src/testing/index.ts';
import flaky from '../../topologies/flaky-word-count.ts';
import wordCount, { SENTENCES } from '../../topologies/word-count.ts';

/** The exact word counts of sentences 0..n-1 as the spouts number them. */
function exactCounts(n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    for (const w of SENTENCES[i % SENTENCES.length]!.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

/** Final count per word: the highest count the count bolt emitted for it. */
function finalCounts(emitted: unknown[][]): Map<string, number> {
  const out = new Map<string, number>();
  for (const [word, n] of emitted as [string, number][]) if (n > (out.get(word) ?? 0)) out.set(word, n);
  return out;
}

describe('at-least-once delivery', () => {
  it('counts exactly when nothing fails', async () => {
    const n = 20_000;
    const result = await completeTopology(wordCount, { config: { sentences: n } });
    const sentences = result.metrics.components.find((c) => c.id === 'sentences')!;
    expect(sentences.acked).toBe(n);
    expect(sentences.failed).toBe(0);
    expect(sentences.timedOut).toBe(0);
    expect(finalCounts(result.emitted('count'))).toEqual(exactCounts(n));
  });

  it('acks every sentence and loses no word when 5% of tuples fail and 1% of executes throw', async () => {
    const n = 100_000;
    const result = await completeTopology(flaky, {
      config: { sentences: n, failRate: 0.05, throwRate: 0.01 },
      seed: 7,
      timeoutMs: 120_000,
    });
    const spout = result.metrics.components.find((c) => c.id === 'sentences')!;
    // Every message id was eventually acked, once each.
    expect(spout.acked).toBe(n);
    const ids = new Set(result.emitted('sentences').map((v) => v[0] as number));
    expect(ids.size).toBe(n);
    // The failures really happened and were replayed.
    expect(spout.failed).toBeGreaterThan(n * 0.2);
    expect(spout.emitted).toBe(n + spout.failed + (spout.timedOut ?? 0));
    expect(result.errors.some((e) => e.message.startsWith('injected crash'))).toBe(true);
    // No word lost: every count at least the exact count.
    const exact = exactCounts(n);
    const got = finalCounts(result.emitted('count'));
    for (const [word, count] of exact) expect(got.get(word) ?? 0).toBeGreaterThanOrEqual(count);
  }, 180_000);
});
