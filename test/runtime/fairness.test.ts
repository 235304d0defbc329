/**
 * Fair shares of time, and tracking that never waits behind user work. On a
 * host whose slices were counted in messages, a slow bolt held its thread
 * for 64 of its tuples at a time while the acker on the same host got 64
 * messages a round; the acker fell behind, so trees whose every tuple was
 * already acked sat in its queue until they timed out, and were replayed
 * for nothing. Whatever the queueing, a tree may only time out while some
 * tuple of it is still unacked. Real time here (the work is real).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { submit, TopologyBuilder } from '../../src/index.ts';
import type { Bolt, OutputCollector, OutputDeclarer, TopologyRun, Tuple } from '../../src/index.ts';
import { CountingSpout } from '../helpers.ts';

/** Busy for `ms` of real time per tuple, then acks it, noting when. */
class SlowBolt implements Bolt {
  static ackedAt = new Map<number, number>();
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
    if (this.ms > 0) SlowBolt.ackedAt.set(t.values[0] as number, performance.now());
  }
}

/** Notes when each tree failed (timed out: nothing here fails explicitly). */
class TimedSpout extends CountingSpout {
  static failedAt = new Map<number, number>();
  override fail(id: unknown): void {
    super.fail(id);
    TimedSpout.failedAt.set(id as number, performance.now());
  }
}

let run: TopologyRun | undefined;
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
  run = undefined;
});

describe('fairness', () => {
  it('a bolt taking 1 ms a tuple does not hold the acker on its host back: no tree times out after all of it was acked', async () => {
    CountingSpout.instances = [];
    SlowBolt.ackedAt.clear();
    TimedSpout.failedAt.clear();
    const N = 2500;
    const b = new TopologyBuilder('slow');
    b.setSpout('spout', () => new TimedSpout(N));
    b.setBolt('slow', () => new SlowBolt(1)).shuffleGrouping('spout');
    b.setBolt('fast', () => new SlowBolt(0)).shuffleGrouping('spout');
    // 1,000 trees in flight at ~1 ms each: about a second from emit to done,
    // against a timeout of 0.5 s (expiry within 0.5-0.75 s). Many trees time
    // out; none may do so once its tuples were acked.
    run = await submit(b.build(), { config: { messageTimeoutMs: 500 } });
    const [spout] = CountingSpout.instances;
    const deadline = performance.now() + 60_000;
    while (spout!.acked.length + spout!.failed.length < N && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(spout!.acked.length + spout!.failed.length).toBe(N);
    expect(TimedSpout.failedAt.size).toBeGreaterThan(0); // the bound was tight enough to matter
    const ackedThenTimedOut = [...TimedSpout.failedAt].filter(([id, at]) => {
      const acked = SlowBolt.ackedAt.get(id);
      // 50 ms: the ack may still be on its way (a slice, its flush, a rotation between turns).
      return acked !== undefined && acked < at - 50;
    });
    expect(ackedThenTimedOut.length).toBe(0);
  }, 90_000);
});
