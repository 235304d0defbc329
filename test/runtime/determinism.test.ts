/**
 * Deterministic local runs: a seed, a simulated clock and manual stepping
 * make a run the same every time; submit options that cannot apply to the
 * mode are refused, never silently ignored.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, SimulatedClock, submit, TopologyBuilder } from '../../src/index.ts';
import { completeTopology } from '../../src/testing/index.ts';
import topology from '../../topologies/word-count.ts';
import { makeCorpus } from '../../topologies/corpus.ts';
import { CountingSpout, HoldBolt } from '../helpers.ts';

const input = makeCorpus({ sentences: 40, seed: 3 }).map((s) => [s]);

describe('deterministic local runs', () => {
  it('gives the same emits in the same order for the same seed, through shuffle and fields groupings', async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await completeTopology(topology, { mockedSources: { sentences: input }, seed: 11 }));
    const split = runs[0]!.emitted('split');
    expect(split.length).toBeGreaterThan(160); // 40 sentences of 4 to 16 words
    for (const r of runs.slice(1)) {
      expect(r.emitted('split')).toEqual(split);
      expect(r.emitted('count')).toEqual(runs[0]!.emitted('count'));
    }
  });

  it('spreads a shuffle differently for another seed (the seed is used, not ignored)', async () => {
    const orders = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = await completeTopology(topology, { mockedSources: { sentences: input }, seed });
      orders.add(JSON.stringify(r.emitted('split')));
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('settles a manual run step by step: nothing moves between settles, timeouts only when the clock moves', async () => {
    CountingSpout.instances = [];
    HoldBolt.instances = [];
    const b = new TopologyBuilder('steps');
    b.setSpout('spout', () => new CountingSpout(5));
    b.setBolt('hold', () => new HoldBolt()).shuffleGrouping('spout');
    const clock = new SimulatedClock();
    const run = await submit(b.build(), { clock, seed: 1, stepping: 'manual', config: { messageTimeoutMs: 1000 } });
    try {
      const [hold] = HoldBolt.instances;
      expect(hold!.held.length).toBe(0); // nothing ran yet: the run waits for the caller
      expect(run.settle()).toBeGreaterThan(0);
      expect(hold!.held.length).toBe(5);
      expect(run.settle()).toBe(0);
      expect(run.isQuiet()).toBe(true);
      clock.advance(1600);
      run.settle();
      expect(CountingSpout.instances[0]!.failed.sort()).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await run.kill({ waitMs: 0 });
    }
  });

  it('fails a run that cannot complete at once with E_NOT_COMPLETED, without waiting', async () => {
    class NeverDone extends CountingSpout {
      override isDone(): boolean {
        return false;
      }
    }
    const b = new TopologyBuilder('stuck');
    b.setSpout('spout', () => new NeverDone(3));
    b.setBolt('hold', () => new HoldBolt()).shuffleGrouping('spout');
    // Tracking off: nothing pending, so no timer is set; the spout says it is never done.
    const t0 = performance.now();
    await expect(completeTopology(b.build(), { config: { ackers: 0 } })).rejects.toMatchObject({
      code: 'E_NOT_COMPLETED',
      message: expect.stringContaining('nothing is left to run and no timer is set'),
    });
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('submit options', () => {
  const t = () => {
    const b = new TopologyBuilder('opts');
    b.setSpout('spout', () => new CountingSpout(0));
    return b.build();
  };

  it.each([
    ['strategy', { strategy: { name: 'x', place: () => [] } }],
    ['threadHeapMb', { threadHeapMb: 256 }],
    ['maxHostRestarts', { maxHostRestarts: 3 }],
  ])('refuses %s in local mode with E_BAD_CONFIG saying it applies to threads', async (key, options) => {
    await expect(submit(t(), options as never)).rejects.toMatchObject({ code: 'E_BAD_CONFIG', message: expect.stringContaining(`${key} applies to worker threads`) });
  });

  it('refuses a clock, a random source or manual stepping with threads, and a seed with a random source', async () => {
    const withSource = { ...t(), source: { file: 'x.ts', exportName: 'default' } };
    await expect(submit(withSource, { threads: 2, clock: new SimulatedClock() })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', message: expect.stringContaining('clock') });
    await expect(submit(withSource, { threads: 2, random: new SeededRandom(1) })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', message: expect.stringContaining('give a seed') });
    await expect(submit(withSource, { threads: 2, stepping: 'manual' })).rejects.toMatchObject({ code: 'E_BAD_CONFIG' });
    await expect(submit(t(), { seed: 1, random: new SeededRandom(1) })).rejects.toMatchObject({ code: 'E_BAD_CONFIG' });
  });

  it('refuses settle() on a run that schedules itself', async () => {
    const run = await submit(t());
    try {
      expect(() => run.settle()).toThrow(expect.objectContaining({ code: 'E_BAD_STATE' }));
    } finally {
      await run.kill({ waitMs: 0 });
    }
  });
});
