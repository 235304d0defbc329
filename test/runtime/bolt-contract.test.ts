import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BasicBolt, FailedError, SeededRandom, SimulatedClock, submit, TopologyBuilder } from '../../src/index.ts';
import type { BasicOutputCollector, Bolt, OutputCollector, OutputDeclarer, TopologyContext, TopologyRun, Tuple } from '../../src/index.ts';
import { completeTopology } from '../../src/testing/index.ts';
import { AckBolt, CountingSpout, HoldBolt, settle } from '../helpers.ts';

let run: TopologyRun | undefined;
beforeEach(() => {
  CountingSpout.instances = [];
  HoldBolt.instances = [];
});
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
  run = undefined;
});

describe('bolt contract', () => {
  it('delivers tick tuples to every task at its tick frequency on simulated time', async () => {
    const clock = new SimulatedClock();
    const b = new TopologyBuilder('ticks');
    b.setSpout('spout', () => new CountingSpout(0));
    b.setBolt('hold', () => new HoldBolt(), { parallelism: 2, tickFrequencyMs: 100 }).shuffleGrouping('spout');
    run = await submit(b.build(), { clock, stepping: 'manual' });
    clock.advance(1000);
    settle(run, () => HoldBolt.instances.every((h) => h.ticks.length === 10), 'ten ticks each');
    const tick = HoldBolt.instances[0]!.ticks[0]!;
    expect(tick.isTick).toBe(true);
    expect(tick.sourceComponent).toBe('__system');
    expect(HoldBolt.instances[0]!.held).toEqual([]);
  });

  it('keeps a tree alive past its timeout while the bolt calls resetTimeout', async () => {
    const clock = new SimulatedClock();
    const b = new TopologyBuilder('reset');
    b.setSpout('spout', () => new CountingSpout(1));
    b.setBolt('hold', () => new HoldBolt()).shuffleGrouping('spout');
    run = await submit(b.build(), { clock, random: new SeededRandom(4), config: { messageTimeoutMs: 1000 }, stepping: 'manual' });
    const [hold] = HoldBolt.instances;
    const [spout] = CountingSpout.instances;
    settle(run, () => hold!.held.length === 1, 'held');
    for (let i = 0; i < 10; i++) {
      hold!.collector.resetTimeout(hold!.held[0]!);
      settle(run);
      clock.advance(400);
      settle(run);
    }
    expect(spout!.failed).toEqual([]);
    hold!.ackAll();
    settle(run, () => spout!.acked.length === 1, 'acked after 4 s of simulated work');
  });

  it('basic bolts ack after execute and fail on FailedError without reporting it', async () => {
    class Picky extends BasicBolt {
      declareOutputFields(d: OutputDeclarer) {
        d.declare(['n']);
      }
      execute(input: Tuple, out: BasicOutputCollector) {
        const n = input.getNumber('n');
        if (n % 3 === 0) throw new FailedError('multiple of three');
        if (n % 3 === 1) throw new Error('boom');
        out.emit([n]);
      }
    }
    const b = new TopologyBuilder('basic');
    b.setSpout('spout', () => new CountingSpout(30));
    b.setBolt('picky', () => new Picky()).shuffleGrouping('spout');
    b.setBolt('sink', () => new AckBolt()).shuffleGrouping('picky');
    const result = await completeTopology(b.build());
    const spout = result.metrics.components.find((c) => c.id === 'spout')!;
    expect(spout.acked).toBe(10);
    expect(spout.failed).toBe(20);
    expect(result.emitted('picky').map((v) => v[0])).toEqual([2, 5, 8, 11, 14, 17, 20, 23, 26, 29]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ component: 'picky', message: 'boom', count: 10 });
  });

  it('completes a tree anchored to several inputs only when all of them are done', async () => {
    /** Joins inputs in pairs: one output anchored to both. */
    class Pair implements Bolt {
      private collector!: OutputCollector;
      private first: Tuple | null = null;
      declareOutputFields(d: OutputDeclarer) {
        d.declare(['a', 'b']);
      }
      prepare(_c: TopologyContext, collector: OutputCollector) {
        this.collector = collector;
      }
      execute(input: Tuple) {
        if (this.first === null) {
          this.first = input;
          return;
        }
        this.collector.emit([this.first.values[0], input.values[0]], [this.first, input]);
        this.collector.ack(this.first);
        this.collector.ack(input);
        this.first = null;
      }
    }
    const b = new TopologyBuilder('join');
    b.setSpout('spout', () => new CountingSpout(2));
    b.setBolt('pair', () => new Pair()).globalGrouping('spout');
    b.setBolt('hold', () => new HoldBolt()).shuffleGrouping('pair');
    run = await submit(b.build(), { clock: new SimulatedClock(), random: new SeededRandom(5), stepping: 'manual' });
    const [hold] = HoldBolt.instances;
    const [spout] = CountingSpout.instances;
    settle(run, () => hold!.held.length === 1, 'pair emitted');
    settle(run);
    expect(spout!.acked).toEqual([]);
    hold!.failAll();
    settle(run, () => spout!.failed.length === 2, 'both roots failed');
    expect(spout!.failed.sort()).toEqual([0, 1]);
  });

  it('fails the input and reports the error when execute throws, and goes on', async () => {
    class Thrower implements Bolt {
      private collector!: OutputCollector;
      declareOutputFields() {}
      prepare(_c: TopologyContext, collector: OutputCollector) {
        this.collector = collector;
      }
      execute(input: Tuple) {
        if (input.getNumber('n') === 3) throw new TypeError('bad input 3');
        this.collector.ack(input);
      }
    }
    const b = new TopologyBuilder('thrower');
    b.setSpout('spout', () => new CountingSpout(6));
    b.setBolt('t', () => new Thrower()).shuffleGrouping('spout');
    const result = await completeTopology(b.build());
    const spout = result.metrics.components.find((c) => c.id === 'spout')!;
    expect(spout).toMatchObject({ acked: 5, failed: 1 });
    expect(result.errors[0]).toMatchObject({ component: 't', message: 'bad input 3' });
    expect(result.errors[0]!.stack).toContain('TypeError');
  });

  it('ignores a second ack or fail of the same tuple', async () => {
    class Twice implements Bolt {
      private collector!: OutputCollector;
      declareOutputFields() {}
      prepare(_c: TopologyContext, collector: OutputCollector) {
        this.collector = collector;
      }
      execute(input: Tuple) {
        this.collector.ack(input);
        this.collector.ack(input);
        this.collector.fail(input);
      }
    }
    const b = new TopologyBuilder('twice');
    b.setSpout('spout', () => new CountingSpout(20));
    b.setBolt('t', () => new Twice()).shuffleGrouping('spout');
    const result = await completeTopology(b.build());
    const spout = result.metrics.components.find((c) => c.id === 'spout')!;
    expect(spout).toMatchObject({ acked: 20, failed: 0, timedOut: 0 });
    expect(result.metrics.components.find((c) => c.id === 't')).toMatchObject({ acked: 20, failed: 0 });
  });
});
