import { afterEach, describe, expect, it } from 'vitest';
import { loadTopologyModule } from '../../src/topology/module.ts';
import { CREDIT_TUPLES } from '../../src/runtime/transport.ts';
import { BasicBolt, submit, TopologyBuilder } from '../../src/index.ts';
import type { BasicOutputCollector, OutputDeclarer, Spout, SpoutOutputCollector, TopologyRun, Tuple } from '../../src/index.ts';

class Firehose implements Spout {
  private collector!: SpoutOutputCollector;
  private n = 0;
  declareOutputFields(d: OutputDeclarer) {
    d.declare(['n']);
  }
  open(_c: unknown, collector: SpoutOutputCollector) {
    this.collector = collector;
  }
  nextTuple() {
    this.collector.emit([this.n++]);
  }
}

class FanOut extends BasicBolt {
  declareOutputFields(d: OutputDeclarer) {
    d.declare(['n']);
  }
  execute(input: Tuple, out: BasicOutputCollector) {
    for (let i = 0; i < 10; i++) out.emit([input.values[0]]);
  }
}

/** About 100 times slower per tuple than the spout: a busy wait of 20 µs. */
class Slow extends BasicBolt {
  declareOutputFields() {}
  execute() {
    const end = performance.now() + 0.02;
    while (performance.now() < end) {}
  }
}

let run: TopologyRun | undefined;
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
});

describe('backpressure', () => {
  it('keeps every mailbox within its capacity (plus one execute of fan-out) under a slow sink', async () => {
    const capacity = 200;
    const b = new TopologyBuilder('firehose');
    b.setSpout('spout', () => new Firehose());
    b.setBolt('fan', () => new FanOut()).shuffleGrouping('spout');
    b.setBolt('slow', () => new Slow()).shuffleGrouping('fan');
    run = await submit(b.build(), { config: { ackers: 0, mailboxCapacity: capacity } });
    let maxFan = 0;
    let maxSlow = 0;
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 5));
      const m = run.metrics().components;
      maxFan = Math.max(maxFan, m.find((c) => c.id === 'fan')!.queued);
      maxSlow = Math.max(maxSlow, m.find((c) => c.id === 'slow')!.queued);
    }
    const metrics = run.metrics().components;
    const executed = metrics.find((c) => c.id === 'slow')!.executed;
    expect(executed).toBeGreaterThan(1000); // it really ran
    expect(maxFan).toBeLessThanOrEqual(capacity);
    expect(maxSlow).toBeLessThanOrEqual(capacity + 9);
    // The spout was held back: it emitted little more than the slow bolt took in.
    const spoutEmitted = metrics.find((c) => c.id === 'spout')!.emitted;
    expect(spoutEmitted * 10).toBeLessThanOrEqual(executed + capacity * 10 + capacity + 9);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 * 1024 * 1024);
    // Where back pressure starts shows in the snapshot: the spout and the fan-out bolt were held back, the sink never.
    const bp = new Map(metrics.map((c) => [c.id, c.backPressuredMs ?? 0]));
    expect(bp.get('spout')! + bp.get('fan')!).toBeGreaterThan(0);
    expect(bp.get('slow')).toBe(0);
  });
});

describe('backpressure across worker threads', () => {
  it('keeps queues bounded and memory flat while a sink on another thread is 100 times slower than the spout', async () => {
    const topology = await loadTopologyModule('test/fixtures/topologies/firehose.ts');
    run = await submit(topology, { threads: 2 });
    expect(run.plan.hostOfTask[run.plan.componentTasks.get('b-slow')![0]!]).not.toBe(run.plan.hostOfTask[run.plan.componentTasks.get('a-spout')![0]!]);
    const capacity = topology.config.mailboxCapacity;
    const rss: number[] = [];
    let maxSlow = 0;
    let maxFan = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await run.refresh();
      const m = run.metrics().components;
      maxSlow = Math.max(maxSlow, m.find((c) => c.id === 'b-slow')!.queued);
      maxFan = Math.max(maxFan, m.find((c) => c.id === 'c-fan')!.queued);
      rss.push(process.memoryUsage().rss);
    }
    const m = run.metrics().components;
    const executed = m.find((c) => c.id === 'b-slow')!.executed;
    const emitted = m.find((c) => c.id === 'a-spout')!.emitted;
    expect(executed).toBeGreaterThan(10_000);
    // The sink's mailbox holds at most its capacity plus what one credit window let in.
    expect(maxSlow).toBeLessThanOrEqual(capacity + CREDIT_TUPLES + 10);
    expect(maxFan).toBeLessThanOrEqual(capacity);
    // The spout was held back across the thread boundary: what it emitted, times the fan-out, is what the sink
    // executed plus what the bounded queues and credit windows can hold.
    expect(emitted * 10).toBeLessThanOrEqual(executed + 10 * capacity + capacity + CREDIT_TUPLES + 10);
    // Memory flat: the last second's resident size is within 40 MB of the second one's.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const early = mean(rss.slice(10, 20));
    const late = mean(rss.slice(30, 40));
    expect(late - early).toBeLessThan(40 * 1024 * 1024);
  }, 60_000);
});
