/**
 * Latency at a trickle: a spout that emits at a steady rate paced on the
 * clock (default 1,000 tuples/s), every tuple with a message id, into a bolt
 * that acks it. Nothing queues, so the spout's complete latency is the
 * runtime's round trip for one tuple: emit, hand-off (across threads when
 * spout and bolt are on different hosts), execute, ack, the acker's
 * completion back to the spout, and how promptly an idle host wakes up.
 *
 *   npx squall run topologies/trickle.ts --threads 2 --duration 10
 *
 * Config: `rate` (tuples per second, default 1000). The topology sets
 * `spoutIdleMaxMs: 1`, so between tuples the idle spout is polled every
 * millisecond instead of backing off up to 32 ms, which would bunch the
 * emits.
 *
 * Placement with 2 threads and the even strategy (task ids in sorted
 * component-id order): sink → host 0, spout → host 1, the acker → host 0.
 * Spout and bolt are on different threads.
 */
import { TopologyBuilder } from '../src/index.ts';
import { NullBolt } from './const-null.ts';
import type { Clock, OutputDeclarer, Spout, SpoutOutputCollector, TopologyContext } from '../src/index.ts';

export const DEFAULT_RATE = 1000;

/**
 * Emits [n] with message id n so that, at any moment, `rate` x seconds since
 * the first nextTuple have been emitted (catching up one emit per call if it
 * fell behind). Restarts its schedule on activate.
 */
export class PacedSpout implements Spout {
  private collector!: SpoutOutputCollector;
  private clock!: Clock;
  private perMs = DEFAULT_RATE / 1000;
  private startMs = -1;
  private sent = 0;

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['n']);
  }

  open(context: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
    this.clock = context.clock;
    const rate = Number(context.config['rate'] ?? DEFAULT_RATE);
    if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`config rate is ${JSON.stringify(context.config['rate'])}; use a positive number of tuples per second`);
    this.perMs = rate / 1000;
  }

  nextTuple(): void {
    const now = this.clock.now();
    if (this.startMs < 0) {
      this.startMs = now;
      this.sent = 0;
    }
    // Tuple k (0-based) is due at startMs + k / perMs.
    if (this.sent > (now - this.startMs) * this.perMs) return;
    const n = this.sent++;
    this.collector.emit([n], n);
  }

  activate(): void {
    this.startMs = -1;
  }

  ack(_msgId: unknown): void {}
  fail(_msgId: unknown): void {}
}

const builder = new TopologyBuilder('trickle');
builder.setSpout('spout', () => new PacedSpout(), { parallelism: 1 });
builder.setBolt('sink', () => new NullBolt(), { parallelism: 1 }).shuffleGrouping('spout');

export default builder.build({ spoutIdleMaxMs: 1 });
