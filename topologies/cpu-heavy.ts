/**
 * CPU-bound work spread over tasks: a spout emits small keys with message
 * ids, and a hashing bolt with two tasks (shuffle grouping) hashes each key
 * with a deterministic pure-JS hash (FNV-1a of the key, then many rounds of
 * the murmur3 finalizer mix), about 60 µs per tuple, then acks it. The runtime's
 * own cost per tuple is a few microseconds, so throughput is the bolt's CPU:
 * on two worker threads each thread runs one hash task, and the figure shows
 * how well the runtime spreads CPU work (the benchmark's speedup, 2 threads
 * over 1).
 *
 *   npx squall run topologies/cpu-heavy.ts --threads 2 --duration 10
 *
 * Config: `rounds` (hash passes per tuple, default {@link DEFAULT_ROUNDS}).
 *
 * Placement with 2 threads and the even strategy (task ids in sorted
 * component-id order): hash[0] → host 0, hash[1] → host 1, spout → host 0,
 * the acker → host 1; each thread has one hash task.
 */
import { TopologyBuilder } from '../src/index.ts';
import type { Bolt, OutputCollector, OutputDeclarer, Spout, SpoutOutputCollector, TopologyContext, Tuple } from '../src/index.ts';

/** About 62 µs per tuple on the 2-core benchmark machine (3.1 ns a round). */
export const DEFAULT_ROUNDS = 20_000;

/** The keys the spout cycles through: short strings, like a small message. */
export const KEYS: readonly string[] = Array.from({ length: 1024 }, (_, i) => `key-${i}`);

/**
 * 32-bit FNV-1a of `s`, then `rounds` rounds of the murmur3 finalizer mix
 * (xor-shift, multiply, twice; the round number xored in). Deterministic,
 * allocation-free int32 work whose cost is linear in `rounds`.
 *
 * Its cost must not depend on the thread or the run, or the benchmark's 2
 * over 1 thread ratio measures the JIT rather than the runtime. With h
 * starting at 0x811c9dc5, a constant above 2^31, the cost per call came out
 * either ~62 or ~122 µs depending on the worker thread and the run (the
 * compiler could carry h as a double through the loop, depending on how it
 * compiled the function); starting from `0x811c9dc5 | 0`, a signed 32-bit
 * value like every later h, it costs ~62 µs within a few percent on every
 * thread.
 */
export function hashRounds(s: string, rounds: number): number {
  // Signed 32-bit from the start, like every later value of h (see above).
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  for (let r = 0; r < rounds; r++) {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= r;
  }
  return h >>> 0;
}

function positiveInt(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`config ${name} is ${JSON.stringify(value)}; use a whole number >= 1`);
  return n;
}

/** Emits [key] with an incrementing message id, as fast as it is let. */
export class KeySpout implements Spout {
  private collector!: SpoutOutputCollector;
  private next = 0;

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key']);
  }

  open(_context: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
  }

  nextTuple(): void {
    const n = this.next++;
    this.collector.emit([KEYS[n & 1023]], n);
  }

  ack(_msgId: unknown): void {}
  fail(_msgId: unknown): void {}
}

/** Hashes its input `rounds` times and acks it; emits nothing. */
export class HashBolt implements Bolt {
  private collector!: OutputCollector;
  private rounds = DEFAULT_ROUNDS;
  /** Every hash folded in, so the work is observably used. */
  digest = 0;

  declareOutputFields(_d: OutputDeclarer): void {}

  prepare(context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    this.rounds = positiveInt(context.config['rounds'], DEFAULT_ROUNDS, 'rounds');
  }

  execute(input: Tuple): void {
    this.digest ^= hashRounds(input.values[0] as string, this.rounds);
    this.collector.ack(input);
  }
}

const builder = new TopologyBuilder('cpu-heavy');
builder.setSpout('spout', () => new KeySpout(), { parallelism: 1 });
builder.setBolt('hash', () => new HashBolt(), { parallelism: 2 }).shuffleGrouping('spout');

export default builder.build();
