/**
 * Counting events per key per minute of event time: a spout emits events
 * (key, ts) over 10,000 keys with Zipf-like frequencies, event time going
 * forward 1 ms per 50 events (50,000 events a second of event time) with up
 * to 50 ms of disorder, and watermarks from
 * the `ts` field; a windowed bolt counts each key's events in tumbling
 * one-minute windows. `build({ windows: false })` makes the same topology
 * with a plain keyed count in ValueState instead: the same work without
 * windows, what the benchmark compares with.
 *
 *   npx squall run topologies/windowed-count.ts --duration 10
 *
 * Config: `keys` (default 10,000), `events` (0, the default: unbounded).
 */
import { BasicBolt, TopologyBuilder, tumbling, WindowedBolt } from '../src/index.ts';
import type { BasicOutputCollector, OutputDeclarer, Spout, SpoutOutputCollector, TopologyContext, Tuple, ValueState } from '../src/index.ts';

/** A Zipf-like sequence of key indexes (seeded, deterministic): key k has weight 1/(k+1). */
export function zipfKeys(keys: number, length: number, seed = 1): Uint32Array {
  const cdf = new Float64Array(keys);
  let sum = 0;
  for (let k = 0; k < keys; k++) cdf[k] = sum += 1 / (k + 1);
  let s = seed >>> 0 || 1;
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = ((s >>> 0) / 4294967296) * sum;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

export class EventSpout implements Spout {
  private collector!: SpoutOutputCollector;
  private names: string[] = [];
  private seq!: Uint32Array;
  private i = 0;
  private limit = Infinity;
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key', 'ts']);
  }
  open(context: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
    const keys = Number(context.config['keys'] ?? 10_000);
    this.names = Array.from({ length: keys }, (_, k) => `user-${k}`);
    this.seq = zipfKeys(keys, 1 << 18, 7 + context.taskIndex);
    const events = Number(context.config['events'] ?? 0);
    this.limit = events > 0 ? events : Infinity;
  }
  nextTuple(): void {
    for (let k = 0; k < 16 && this.i < this.limit; k++) {
      const i = this.i++;
      // 50 events per ms of event time (50,000 a second), up to 50 ms out of order.
      this.collector.emit([this.names[this.seq[i & ((1 << 18) - 1)]!]!, Math.floor(i / 50) - ((i * 31) % 50)]);
    }
  }
  isDone(): boolean {
    return this.i >= this.limit;
  }
}

/** The same count without windows: one ValueState per key. */
export class KeyedCount extends BasicBolt {
  private count!: ValueState<number>;
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key', 'count']);
  }
  override prepare(context: TopologyContext): void {
    this.count = context.state.value<number>('count');
  }
  execute(_input: Tuple, _out: BasicOutputCollector): void {
    this.count.set((this.count.get() ?? 0) + 1);
  }
}

export class Sink extends BasicBolt {
  declareOutputFields(): void {}
  execute(): void {}
}

function flag(v: unknown): boolean {
  return !(v === false || v === 'false' || v === 0 || v === '0');
}

export function build(config: Record<string, unknown> = {}) {
  const b = new TopologyBuilder('windowed-count');
  b.setSpout('events', () => new EventSpout(), { watermarks: { timestampField: 'ts', maxOutOfOrdernessMs: 50, intervalMs: 50 } });
  const windows = flag(config['windows']);
  b.setBolt(
    'count',
    () =>
      windows
        ? new WindowedBolt({ window: tumbling(60_000), time: { field: 'ts' }, reduce: (a: number, x: number) => a + x, value: () => 1 })
        : new KeyedCount(),
    { parallelism: 1 },
  ).fieldsGrouping('events', ['key']);
  b.setBolt('sink', () => new Sink()).shuffleGrouping('count');
  return b.build({ ackers: 0, ...config });
}

export default build();
