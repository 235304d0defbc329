/**
 * Failure handling, shown: word count where bolts fail tuples at random and
 * throw now and then, and the spout replays every failed sentence until its
 * whole tree is acked. Nothing is lost; words of replayed sentences may be
 * counted more than once (at-least-once).
 *
 *   npx squall run topologies/flaky-word-count.ts --set sentences=20000
 *
 * Config: `sentences` (0 = unbounded), `failRate` (chance a bolt fails its
 * input, default 0.05), `throwRate` (chance execute throws, default 0.01),
 * `replayBackoffMs` / `replayMaxBackoffMs` (default 50 / 2000).
 */
import { ReplayingSpout, TopologyBuilder } from '../src/index.ts';
import type { Bolt, Message, OutputCollector, OutputDeclarer, TopologyContext, Tuple } from '../src/index.ts';
import { SENTENCES } from './word-count.ts';

/** Emits [id, sentence]; replays failures with backoff, never gives up. */
export class NumberedSentenceSpout extends ReplayingSpout<number> {
  private next = 0;
  private limit = Infinity;

  constructor() {
    super({ retryInitialDelayMs: 50, retryMaxDelayMs: 2_000 });
  }

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['id', 'sentence']);
  }

  override open(context: TopologyContext, collector: Parameters<ReplayingSpout['open']>[1]): void {
    super.open(context, collector);
    const total = Number(context.config['sentences'] ?? 0);
    this.next = context.taskIndex;
    this.limit = total > 0 ? total : Infinity;
    this.setReplayOptions({
      retryInitialDelayMs: Number(context.config['replayBackoffMs'] ?? 50),
      retryMaxDelayMs: Number(context.config['replayMaxBackoffMs'] ?? 2_000),
    });
  }

  protected nextMessage(): Message<number> | undefined {
    if (this.next >= this.limit) return undefined;
    const id = this.next;
    this.next += this.context.componentTasks.length;
    return { id, values: [id, SENTENCES[id % SENTENCES.length]] };
  }

  protected override isExhausted(): boolean {
    return this.next >= this.limit;
  }
}

/** The failures a flaky bolt injects, drawn from the run's (injectable) random source. */
abstract class FlakyBolt implements Bolt {
  protected collector!: OutputCollector;
  private failRate = 0;
  private throwRate = 0;
  private random!: TopologyContext['random'];

  abstract declareOutputFields(d: OutputDeclarer): void;
  protected abstract work(input: Tuple): void;

  prepare(context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    this.random = context.random;
    this.failRate = Number(context.config['failRate'] ?? 0.05);
    this.throwRate = Number(context.config['throwRate'] ?? 0.01);
  }

  execute(input: Tuple): void {
    const r = this.random.float();
    if (r < this.throwRate) throw new Error(`injected crash in ${this.constructor.name}`);
    if (r < this.throwRate + this.failRate) {
      this.collector.fail(input);
      return;
    }
    this.work(input);
    this.collector.ack(input);
  }
}

export class FlakySplit extends FlakyBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word']);
  }
  protected work(input: Tuple): void {
    for (const w of input.getString('sentence').split(' ')) this.collector.emit([w], input);
  }
}

export class FlakyCount extends FlakyBolt {
  private readonly counts = new Map<string, number>();
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word', 'count']);
  }
  protected work(input: Tuple): void {
    const word = input.getString('word');
    const n = (this.counts.get(word) ?? 0) + 1;
    this.counts.set(word, n);
    this.collector.emit([word, n], input);
  }
}

const builder = new TopologyBuilder('flaky-word-count');
builder.setSpout('sentences', () => new NumberedSentenceSpout());
builder.setBolt('split', () => new FlakySplit(), { parallelism: 2 }).shuffleGrouping('sentences');
builder.setBolt('count', () => new FlakyCount(), { parallelism: 2 }).fieldsGrouping('split', ['word']);

export default builder.build();
