import { describe, expect, it } from 'vitest';
import { completeTopology } from '../../src/testing/index.ts';
import { SENTENCES } from '../../topologies/word-count.ts';
import { MODES, loadTopology } from '../support/modes.ts';

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

/**
 * Replay backoff for the flaky topology, the same in every mode. Threads run
 * on the real clock, where the topology's defaults (50 ms doubling to 2 s)
 * would make the 100,000-sentence run wait mostly on backoff; local mode's
 * SimulatedClock skips the waits either way.
 */
const QUICK_REPLAYS = { replayBackoffMs: 5, replayMaxBackoffMs: 50 };

describe.each(MODES)('at-least-once delivery ($mode)', (mode) => {
  it('counts exactly when nothing fails', async () => {
    const n = 20_000;
    const topology = await loadTopology('topologies/word-count.ts');
    const result = await completeTopology(topology, { threads: mode.threads, config: { sentences: n } });
    expect(result.errors).toEqual([]);
    const sentences = result.metrics.components.find((c) => c.id === 'sentences')!;
    expect(sentences.acked).toBe(n);
    expect(sentences.failed).toBe(0);
    expect(sentences.timedOut).toBe(0);
    // The same exact counts in every mode: each word counted once, none lost, none replayed.
    expect(finalCounts(result.emitted('count'))).toEqual(exactCounts(n));
    const words = [...exactCounts(n).values()].reduce((a, b) => a + b, 0);
    expect(result.emitted('count')).toHaveLength(words);
  });

  it('acks every sentence and loses no word when 5% of tuples fail and 1% of executes throw', async () => {
    const n = 100_000;
    const topology = await loadTopology('topologies/flaky-word-count.ts');
    const result = await completeTopology(topology, {
      threads: mode.threads,
      config: { sentences: n, failRate: 0.05, throwRate: 0.01, ...QUICK_REPLAYS },
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
