/**
 * Storm-perf's ConstSpout → NullBolt: a spout that emits the same short tuple
 * on every nextTuple, and a bolt that acks it and emits nothing. With no user
 * work on either side, its throughput is what the runtime itself costs per
 * tuple: emit, routing, mailbox, execute, and (with acking) the acker's
 * init/ack/complete round trip.
 *
 *   npx squall run topologies/const-null.ts --duration 10
 *   npx squall run topologies/const-null.ts --set acking=false --set ackers=0
 *
 * Config: `acking` (default true): emit with a message id (an incrementing
 * number) so every tuple's tree is tracked, or without one.
 *
 * Ackers: the module is built with `ackers: 1`, which acking needs. Without
 * acking, Storm-perf runs with no acker executors at all, and so does the
 * benchmark (bench/benchmarks/const-null.ts passes {@link constNullConfig}):
 * an idle acker task still costs the host one empty slice per pass, and "no
 * acking" should measure transport alone. The module cannot drop the acker by
 * itself when `--set acking=false` is given, because the acker count is fixed
 * when the topology is built and the override only reaches the components;
 * add `--set ackers=0` on the command line for the same figures as the bench.
 */
import { TopologyBuilder } from '../src/index.ts';
import type { Bolt, OutputCollector, OutputDeclarer, Spout, SpoutOutputCollector, TopologyConfig, TopologyContext, Tuple } from '../src/index.ts';

/** The one value every tuple carries (as in Storm-perf, a short constant string). */
export const CONST_VALUE = 'some data';

/** Read a boolean setting that may arrive as a boolean, a number or a string (--set acking=false). */
function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  const s = String(value).trim().toLowerCase();
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  throw new RangeError(`config acking is ${JSON.stringify(value)}; use true or false`);
}

/** Emits CONST_VALUE on every call, with an incrementing message id when acking. */
export class ConstSpout implements Spout {
  private collector!: SpoutOutputCollector;
  private acking = true;
  private nextId = 0;
  // One array for every emit: values are passed by reference and treated as
  // read-only downstream, so the spout allocates nothing of its own per tuple.
  private readonly values = [CONST_VALUE];

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['value']);
  }

  open(context: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
    this.acking = flag(context.config['acking'], true);
  }

  nextTuple(): void {
    if (this.acking) this.collector.emit(this.values, this.nextId++);
    else this.collector.emit(this.values);
  }

  // Nothing to do on ack; fail would be a replay in a real spout, but a
  // constant stream has nothing worth replaying.
  ack(_msgId: unknown): void {}
  fail(_msgId: unknown): void {}
}

/** Acks every input and emits nothing. */
export class NullBolt implements Bolt {
  private collector!: OutputCollector;

  declareOutputFields(_d: OutputDeclarer): void {}

  prepare(_context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }

  execute(input: Tuple): void {
    this.collector.ack(input);
  }
}

/** Config overrides for one variant: an acker only when tuples are tracked. */
export function constNullConfig(acking: boolean): Partial<TopologyConfig> {
  return { acking, ackers: acking ? 1 : 0 };
}

const builder = new TopologyBuilder('const-null');
builder.setSpout('spout', () => new ConstSpout(), { parallelism: 1 });
builder.setBolt('null', () => new NullBolt(), { parallelism: 1 }).shuffleGrouping('spout');

export default builder.build(constNullConfig(true));
