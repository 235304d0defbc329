import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SeededRandom, SimulatedClock, submit, TopologyBuilder } from '../../src/index.ts';
import type { TopologyRun } from '../../src/index.ts';
import { AckBolt, CountingSpout, HoldBolt, settle, until } from '../helpers.ts';

let run: TopologyRun | undefined;
beforeEach(() => {
  CountingSpout.instances = [];
  HoldBolt.instances = [];
});
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
  run = undefined;
});

function holdTopology(count: number, tracked = true) {
  const b = new TopologyBuilder('hold');
  b.setSpout('spout', () => new CountingSpout(count, tracked));
  b.setBolt('hold', () => new HoldBolt()).shuffleGrouping('spout');
  return b.build();
}

describe('spout contract', () => {
  it('acks a tree once its last tuple is acked, and fails it at once on an explicit fail', async () => {
    run = await submit(holdTopology(10), { clock: new SimulatedClock(), seed: 1, stepping: 'manual' });
    const [spout] = CountingSpout.instances;
    const [hold] = HoldBolt.instances;
    settle(run, () => hold!.held.length === 10, 'tuples held');
    expect(spout!.acked).toEqual([]);
    const held = hold!.held.splice(0);
    for (const t of held.slice(0, 6)) hold!.collector.ack(t);
    for (const t of held.slice(6)) hold!.collector.fail(t);
    settle(run, () => spout!.acked.length + spout!.failed.length === 10, 'outcomes');
    expect(spout!.acked).toEqual([0, 1, 2, 3, 4, 5]);
    expect(spout!.failed).toEqual([6, 7, 8, 9]);
    expect(spout!.overlap).toBe(false);
    const m = run.metrics().components.find((c) => c.id === 'spout')!;
    expect(m).toMatchObject({ acked: 6, failed: 4, timedOut: 0, pending: 0 });
  });

  it('times trees out on simulated time and counts timeouts apart from fails', async () => {
    const clock = new SimulatedClock();
    run = await submit(holdTopology(5), { clock, random: new SeededRandom(2), config: { messageTimeoutMs: 1000 }, stepping: 'manual' });
    const [spout] = CountingSpout.instances;
    settle(run, () => HoldBolt.instances[0]!.held.length === 5, 'tuples held');
    clock.advance(999);
    settle(run);
    expect(spout!.failed).toEqual([]);
    clock.advance(600); // expiry falls within [T, 1.5 T]
    settle(run, () => spout!.failed.length === 5, 'timeouts');
    const m = run.metrics().components.find((c) => c.id === 'spout')!;
    expect(m).toMatchObject({ acked: 0, failed: 0, timedOut: 5, pending: 0 });
  });

  it('holds nextTuple back at maxSpoutPending trees in flight', async () => {
    run = await submit(holdTopology(1000), { config: { maxSpoutPending: 7 }, clock: new SimulatedClock(), stepping: 'manual' });
    const [hold] = HoldBolt.instances;
    settle(run, () => hold!.held.length === 7, 'seven held');
    settle(run);
    expect(hold!.held.length).toBe(7);
    expect(run.pending()).toBe(7);
    hold!.ackAll();
    settle(run, () => hold!.held.length === 7 && CountingSpout.instances[0]!.acked.length === 7, 'next seven');
  });

  it('does not track tuples emitted without a message id', async () => {
    run = await submit(holdTopology(3, false), { clock: new SimulatedClock(), stepping: 'manual' });
    const [spout] = CountingSpout.instances;
    const [hold] = HoldBolt.instances;
    settle(run, () => hold!.held.length === 3, 'held');
    hold!.failAll();
    settle(run);
    expect(spout!.failed).toEqual([]);
    expect(run.pending()).toBe(0);
  });

  it('acks on emit when tracking is off (ackers: 0), never inside nextTuple', async () => {
    run = await submit(holdTopology(4), { config: { ackers: 0 }, clock: new SimulatedClock(), stepping: 'manual' });
    const [spout] = CountingSpout.instances;
    settle(run, () => spout!.acked.length === 4, 'acks');
    expect(spout!.overlap).toBe(false);
    expect(run.pending()).toBe(0);
  });

  it('stops calling nextTuple while deactivated and resumes on activate', async () => {
    run = await submit(holdTopology(0), { active: false, clock: new SimulatedClock(), stepping: 'manual' });
    const [spout] = CountingSpout.instances;
    settle(run);
    expect(run.status).toBe('inactive');
    expect(spout!.nextTupleCalls).toBe(0);
    run.activate();
    settle(run, () => spout!.nextTupleCalls > 0, 'polls');
    expect(spout!.activations).toBe(1);
    run.deactivate();
    settle(run, () => spout!.deactivations === 1, 'deactivate hook');
    const calls = spout!.nextTupleCalls;
    settle(run);
    settle(run);
    expect(spout!.nextTupleCalls).toBe(calls);
  });

  it('backs off a spout with nothing to emit instead of spinning', async () => {
    run = await submit(holdTopology(0));
    const [spout] = CountingSpout.instances;
    await new Promise((r) => setTimeout(r, 500));
    // A busy loop would call nextTuple hundreds of thousands of times in 0.5 s;
    // the idle backoff (up to spoutIdleMaxMs = 32 ms) allows a few dozen.
    expect(spout!.nextTupleCalls).toBeGreaterThan(0);
    expect(spout!.nextTupleCalls).toBeLessThan(200);
  });

  it('measures complete latency on the injected clock', async () => {
    const clock = new SimulatedClock();
    run = await submit(holdTopology(4), { clock, random: new SeededRandom(3), stepping: 'manual' });
    const [hold] = HoldBolt.instances;
    settle(run, () => hold!.held.length === 4, 'held');
    clock.advance(40);
    hold!.ackAll();
    settle(run, () => CountingSpout.instances[0]!.acked.length === 4, 'acks');
    const m = run.metrics().components.find((c) => c.id === 'spout')!;
    expect(m.completeLatencyMs!.p50).toBeCloseTo(40, 0);
    expect(m.completeLatencyMs!.p99).toBeCloseTo(40, 0);
  });

  it('drains trees in flight on a graceful kill, then closes spouts and cleans up bolts', async () => {
    const b = new TopologyBuilder('drain');
    b.setSpout('spout', () => new CountingSpout(1_000_000));
    b.setBolt('ack', () => new AckBolt(), { parallelism: 2 }).shuffleGrouping('spout');
    b.setBolt('hold', () => new HoldBolt()).shuffleGrouping('spout');
    run = await submit(b.build(), { config: { maxSpoutPending: 50 } });
    const [spout] = CountingSpout.instances;
    const [hold] = HoldBolt.instances;
    await until(() => hold!.held.length === 50, 'pending full');
    const killed = run.kill({ waitMs: 10_000 });
    expect(run.status).toBe('killing');
    await until(() => spout!.deactivations === 1, 'deactivated');
    expect(spout!.closed).toBe(false);
    hold!.ackAll();
    const final = await killed;
    expect(run.status).toBe('killed');
    expect(spout!.closed).toBe(true);
    expect(hold!.cleanedUp).toBe(true);
    expect(final.totals.pending).toBe(0);
    expect(spout!.acked.length).toBe(spout!.next);
  });

  it('refuses lifecycle calls that make no sense in the current state', async () => {
    run = await submit(holdTopology(0));
    await run.kill({ waitMs: 0 });
    expect(() => run!.activate()).toThrow(expect.objectContaining({ code: 'E_BAD_STATE' }));
    expect(() => run!.deactivate()).toThrow(expect.objectContaining({ code: 'E_BAD_STATE' }));
  });
});
