/**
 * The classic: sentences → split (shuffle) → count (fields on word).
 * Every sentence is emitted with a message id and replayed until its whole
 * tree is acked, so each word is counted at least once.
 *
 *   npx squall run topologies/word-count.ts --duration 10
 *   npx squall run topologies/word-count.ts --set sentences=100000 --json
 *
 * Config: `sentences` (how many to emit; 0, the default, runs until killed).
 */
import { BasicBolt, ReplayingSpout, TopologyBuilder } from '../src/index.ts';
import type { BasicOutputCollector, Message, OutputDeclarer, TopologyContext, Tuple } from '../src/index.ts';

export const SENTENCES = [
  'the cow jumped over the moon',
  'an apple a day keeps the doctor away',
  'four score and seven years ago',
  'snow white and the seven dwarfs',
  'i am at two with nature',
  'the quick brown fox jumps over the lazy dog',
  'a stitch in time saves nine',
  'all that glitters is not gold',
];

/** Emits SENTENCES round-robin; with `sentences` > 0 it stops after that many. */
export class SentenceSpout extends ReplayingSpout<number> {
  private next = 0;
  private limit = 0;

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['sentence']);
  }

  override open(context: TopologyContext, collector: Parameters<ReplayingSpout['open']>[1]): void {
    super.open(context, collector);
    const total = Number(context.config['sentences'] ?? 0);
    // Split the total over the spout's tasks: task i emits ids i, i+n, i+2n, ...
    this.next = context.taskIndex;
    this.limit = total > 0 ? total : Infinity;
  }

  protected nextMessage(): Message<number> | undefined {
    if (this.next >= this.limit) return undefined;
    const id = this.next;
    this.next += this.context.componentTasks.length;
    return { id, values: [SENTENCES[id % SENTENCES.length]] };
  }

  protected override isExhausted(): boolean {
    return this.next >= this.limit;
  }
}

export class SplitBolt extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word']);
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    const words = (input.values[0] as string).split(' ');
    for (let i = 0; i < words.length; i++) out.emit([words[i]]);
  }
}

export class CountBolt extends BasicBolt {
  readonly counts = new Map<string, number>();
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word', 'count']);
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    const word = input.values[0] as string;
    const n = (this.counts.get(word) ?? 0) + 1;
    this.counts.set(word, n);
    out.emit([word, n]);
  }
}

const builder = new TopologyBuilder('word-count');
builder.setSpout('sentences', () => new SentenceSpout(), { parallelism: 1 });
builder.setBolt('split', () => new SplitBolt(), { parallelism: 2 }).shuffleGrouping('sentences');
builder.setBolt('count', () => new CountBolt(), { parallelism: 2 }).fieldsGrouping('split', ['word']);

export default builder.build();
