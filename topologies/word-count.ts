/**
 * The classic: sentences → split (shuffle) → count (fields on word).
 * Every sentence is emitted with a message id and replayed until its whole
 * tree is acked, so each word is counted at least once.
 *
 *   npx squall run topologies/word-count.ts --duration 10
 *   npx squall run topologies/word-count.ts --set sentences=100000 --json
 *   npx squall run topologies/word-count.ts --set corpus=realistic --set acking=false --set ackers=0
 *
 * Config:
 * - `sentences`: how many to emit; 0, the default, runs until killed.
 * - `corpus`: what the spout emits round-robin. 'demo' (the default): the 8
 *   SENTENCES below. 'realistic': 10,000 distinct generated sentences with
 *   Zipf-like word frequencies (topologies/corpus.ts), what the benchmarks
 *   use: splitting the same few literal strings over and over is not what
 *   text from outside costs (V8 caches split on internalized strings).
 * - `acking` (default true): emit each sentence with a message id, tracked
 *   and replayed until acked; false emits without one (at most once). As in
 *   topologies/const-null.ts, the acker count is fixed when the topology is
 *   built: add `--set ackers=0` for no acker task at all (the benchmark does).
 */
import { BasicBolt, ReplayingSpout, TopologyBuilder } from '../src/index.ts';
import type { BasicOutputCollector, Message, OutputDeclarer, TopologyContext, Tuple } from '../src/index.ts';
import { makeCorpus } from './corpus.ts';

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

export type CorpusName = 'demo' | 'realistic';

let realistic: readonly string[] | undefined;

/**
 * The sentences of a corpus: 'demo' is SENTENCES; 'realistic' is
 * makeCorpus() with its defaults (10,000 sentences, 2,000 words, seed 1),
 * generated on first use and shared by every task of the thread.
 */
export function corpusSentences(name: CorpusName): readonly string[] {
  if (name === 'demo') return SENTENCES;
  return (realistic ??= makeCorpus());
}

/** Read config `corpus`. */
export function corpusName(value: unknown): CorpusName {
  if (value === undefined || value === null) return 'demo';
  const s = String(value).trim().toLowerCase();
  if (s === 'demo' || s === 'realistic') return s;
  throw new RangeError(`config corpus is ${JSON.stringify(value)}; use demo or realistic`);
}

/** Read a boolean setting that may arrive as a boolean, a number or a string (--set acking=false). */
function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  const s = String(value).trim().toLowerCase();
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  throw new RangeError(`config ${name} is ${JSON.stringify(value)}; use true or false`);
}

/**
 * Emits the corpus (config `corpus`) round-robin; with `sentences` > 0 it
 * stops after that many. With `acking` false it emits without message ids.
 */
export class SentenceSpout extends ReplayingSpout<number> {
  private next = 0;
  private limit = 0;
  private lines: readonly string[] = SENTENCES;
  private acking = true;

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['sentence']);
  }

  override open(context: TopologyContext, collector: Parameters<ReplayingSpout['open']>[1]): void {
    super.open(context, collector);
    const total = Number(context.config['sentences'] ?? 0);
    this.lines = corpusSentences(corpusName(context.config['corpus']));
    this.acking = flag('acking', context.config['acking'], true);
    // Split the total over the spout's tasks: task i emits ids i, i+n, i+2n, ...
    this.next = context.taskIndex;
    this.limit = total > 0 ? total : Infinity;
  }

  override nextTuple(): void {
    if (this.acking) {
      super.nextTuple();
      return;
    }
    this.resumeFromCheckpoint();
    // Untracked: nothing to keep for a replay, so emit straight to the collector.
    if (this.next >= this.limit) return;
    const id = this.next;
    this.next += this.context.componentTasks.length;
    this.collector.emit([this.lines[id % this.lines.length]]);
  }

  protected nextMessage(): Message<number> | undefined {
    if (this.next >= this.limit) return undefined;
    const id = this.next;
    this.next += this.context.componentTasks.length;
    return { id, values: [this.lines[id % this.lines.length]] };
  }

  protected override isExhausted(): boolean {
    return this.next >= this.limit;
  }

  /** Checkpoints record the next id, and a restore goes back to it. */
  protected override position(): number {
    return this.next;
  }

  protected override seek(position: unknown): void {
    this.next = position as number;
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
