/**
 * Word count with state that survives crashes: the counts are keyed state
 * (one ValueState per word), written in barrier checkpoints to the embedded
 * store under .squall/state/stateful-word-count (or --state-dir), and the
 * sentence spout records its position in each checkpoint. With `ackers: 0`
 * this is checkpoint mode: after a crash or a kill -9, a restart restores
 * the last completed checkpoint and rewinds the spout to where it stood, so
 * every sentence is counted exactly once.
 *
 *   npx squall run topologies/stateful-word-count.ts --set sentences=200000
 *   npx squall run topologies/stateful-word-count.ts --duration 10 --state-dir /tmp/wc-state
 *
 * Config: `sentences` (0, the default: unbounded), `corpus` (demo or
 * realistic) as in word-count.ts; `checkpointIntervalMs` (1000 here).
 */
import { TopologyBuilder } from '../src/index.ts';
import type { Bolt, OutputCollector, OutputDeclarer, TopologyContext, Tuple, ValueState } from '../src/index.ts';
import { SentenceSpout, SplitBolt } from './word-count.ts';

/** Counts words in keyed state: the key is the word (the fields grouping's field). */
export class StatefulCountBolt implements Bolt {
  private collector!: OutputCollector;
  private count!: ValueState<number>;

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word', 'count']);
  }

  prepare(context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    this.count = context.state.value<number>('count');
  }

  execute(input: Tuple): void {
    const n = (this.count.get() ?? 0) + 1;
    this.count.set(n);
    this.collector.emit([input.values[0], n], input);
    this.collector.ack(input);
  }
}

const builder = new TopologyBuilder('stateful-word-count');
builder.setSpout('sentences', () => new SentenceSpout(), { parallelism: 1 });
builder.setBolt('split', () => new SplitBolt(), { parallelism: 2 }).shuffleGrouping('sentences');
builder.setBolt('count', () => new StatefulCountBolt(), { parallelism: 2 }).fieldsGrouping('split', ['word']);

export default builder.build({ ackers: 0, checkpointIntervalMs: 1000, acking: false });
