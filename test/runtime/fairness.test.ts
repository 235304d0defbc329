/**
 * Fair shares of time: a slow bolt must not hold tracking back. On a host
 * whose slices were counted in messages, a slow bolt held the thread for 64
 * of its tuples at a time while the acker on the same host got through 64
 * messages a round; it fell behind, and trees whose every tuple was acked
 * in time still timed out and replayed. Real time here (the work is real), with bounds
 * that fail if tracking lags: a tree is acked about 1 ms after its emit
 * plus the queue ahead of it (at most maxSpoutPending ms), well inside the
 * timeout, so any timeout is tracking's fault.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { submit, TopologyBuilder } from '../../src/index.ts';
import type { Bolt, OutputCollector, OutputDeclarer, TopologyRun, Tuple } from '../../src/index.ts';
import { CountingSpout } from '../helpers.ts';

/** Busy for `ms` of real time per tuple, then acks it. */
class SlowBolt implements Bolt {
  private collector!: OutputCollector;
  constructor(private readonly ms: number) {}
  declareOutputFields(_d: OutputDeclarer): void {}
  prepare(_c: unknown, collector: OutputCollector): void {
    this.collector = collector;
  }
  execute(t: Tuple): void {
    const until = performance.now() + this.ms;
    while (performance.now() < until) {
      // the work
    }
    this.collector.ack(t);
  }
}

let run: TopologyRun | undefined;
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
  run = undefined;
});

describe('fairness', () => {
  it('a bolt taking 4 ms a tuple does not starve the acker on its host: no acked tree times out', async () => {
    CountingSpout.instances = [];
    const N = 400;
    const b = new TopologyBuilder('slow');
    b.setSpout('spout', () => new CountingSpout(N));
    b.setBolt('slow', () => new SlowBolt(4)).shuffleGrouping('spout');
    b.setBolt('fast', () => new SlowBolt(0)).shuffleGrouping('spout');
    b.setBolt('faster', () => new SlowBolt(0)).shuffleGrouping('spout');
    // At most 100 trees in flight: ~400 ms of queue ahead of a tree at the
    // slow bolt, against a timeout of 1 s (expiry within 1-1.5 s). Each tree
    // makes four tracking records (an init, three acks): an acker given 64
    // messages a round while the slow bolt takes 64 x 4 ms falls seconds behind.
    run = await submit(b.build(), { config: { maxSpoutPending: 100, messageTimeoutMs: 1000 } });
    const [spout] = CountingSpout.instances;
    const deadline = performance.now() + 60_000;
    while (spout!.acked.length + spout!.failed.length < N && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const m = run.metrics().components.find((c) => c.id === 'spout')!;
    expect(m.timedOut).toBe(0);
    expect(spout!.failed).toEqual([]);
    expect(spout!.acked.length).toBe(N);
    // Complete latency stays near the queue at the slow bolt (~400 ms), far
    // from the timeout it used to reach.
    expect(m.completeLatencyMs!.p99).toBeLessThan(1000);
  }, 90_000);
});
