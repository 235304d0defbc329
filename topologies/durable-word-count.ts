/**
 * Word count that survives crashed threads: the pattern every at-least-once
 * topology needs when a host can die, shown with files instead of Kafka.
 *
 * - The spout's source of record is durable: sentence k of task t is a pure
 *   function of (t, k), and the spout commits the contiguous prefix of acked
 *   messages to a file (as a Kafka spout commits offsets). A restarted spout
 *   resumes from its committed offset; what was in flight is emitted again.
 * - The sink writes counts to an append-only log BEFORE it acks. A crash
 *   after the write and before the ack replays the tuples: counts can only
 *   come out higher than exact, never lower.
 *
 *   npx squall run topologies/durable-word-count.ts --threads 2 --set sentences=100000 --set stateDir=/tmp/dwc
 *
 * With checkpoints on (`--set checkpointIntervalMs=1000`), the spout also
 * records its position in each checkpoint (ReplayingSpout's position/seek)
 * and a restore resumes from it.
 *
 * Config: `stateDir` (required: where offsets and tallies go), `sentences`
 * (0 = unbounded), `failRate` (chance the split bolt fails its input,
 * default 0), `commitEveryMs` (default 100), `flushEvery` (tuples per sink
 * write, default 500), `replayBackoffMs` (default 20).
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplayingSpout, TopologyBuilder } from '../src/index.ts';
import type { Bolt, Message, OutputCollector, OutputDeclarer, SpoutOutputCollector, TopologyContext, Tuple } from '../src/index.ts';
import { SENTENCES } from './word-count.ts';

function stateDirOf(context: TopologyContext): string {
  const dir = context.config['stateDir'];
  if (typeof dir !== 'string' || dir === '') {
    throw new Error(`${context.componentId}: config stateDir is required (where offsets and tallies are kept): --set stateDir=/some/dir`);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Task t's k-th message is sentence id t + k * tasks: emitted in k order, committed as a prefix of k. */
export class DurableSentenceSpout extends ReplayingSpout<number> {
  private file = '';
  private tasks = 1;
  private limit = Infinity;
  /** Next k to emit, the committed prefix, and acked k beyond it. */
  private next = 0;
  private committed = 0;
  private readonly ackedAhead = new Set<number>();
  private lastCommitMs = 0;
  private commitEveryMs = 100;

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['id', 'sentence']);
  }

  override open(context: TopologyContext, collector: SpoutOutputCollector): void {
    super.open(context, collector);
    this.file = join(stateDirOf(context), `offset-${context.componentId}-${context.taskIndex}`);
    this.tasks = context.componentTasks.length;
    const total = Number(context.config['sentences'] ?? 0);
    // This task's share of ids below total: those with id % tasks == taskIndex.
    this.limit = total > 0 ? Math.ceil((total - context.taskIndex) / this.tasks) : Infinity;
    this.commitEveryMs = Number(context.config['commitEveryMs'] ?? 100);
    this.setReplayOptions({ retryInitialDelayMs: Number(context.config['replayBackoffMs'] ?? 20), retryMaxDelayMs: 1_000 });
    try {
      this.committed = Number(readFileSync(this.file, 'utf8')) || 0;
    } catch {
      this.committed = 0;
    }
    this.next = this.committed;
  }

  protected nextMessage(): Message<number> | undefined {
    this.maybeCommit();
    if (this.next >= this.limit) return undefined;
    const k = this.next++;
    const id = this.context.taskIndex + k * this.tasks;
    return { id: k, values: [id, SENTENCES[id % SENTENCES.length]] };
  }

  protected override onAck(k: number): void {
    if (k < this.committed) return;
    this.ackedAhead.add(k);
    while (this.ackedAhead.delete(this.committed)) this.committed++;
  }

  protected override isExhausted(): boolean {
    return this.next >= this.limit;
  }

  /** With checkpoints (checkpointIntervalMs > 0): each checkpoint records the next k, and a restore resumes there. */
  protected override position(): number {
    return this.next;
  }

  /** The checkpoint wins over the offset file: what came after it is emitted again. */
  protected override seek(position: unknown): void {
    this.next = position as number;
    this.committed = this.next;
    this.ackedAhead.clear();
  }

  override isDone(): boolean {
    this.maybeCommit();
    return super.isDone();
  }

  deactivate(): void {
    this.commit();
  }

  close(): void {
    this.commit();
  }

  private maybeCommit(): void {
    const now = this.context.clock.now();
    if (now - this.lastCommitMs >= this.commitEveryMs) this.commit();
  }

  private commit(): void {
    this.lastCommitMs = this.context.clock.now();
    // Write then rename: a crash leaves the old offset or the new one, never half of one.
    writeFileSync(`${this.file}.tmp`, String(this.committed));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

export class SplitBolt implements Bolt {
  private collector!: OutputCollector;
  private failRate = 0;
  private random!: TopologyContext['random'];

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word']);
  }
  prepare(context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    this.random = context.random;
    this.failRate = Number(context.config['failRate'] ?? 0);
  }
  execute(input: Tuple): void {
    if (this.failRate > 0 && this.random.float() < this.failRate) {
      this.collector.fail(input);
      return;
    }
    for (const w of input.getString('sentence').split(' ')) this.collector.emit([w], input);
    this.collector.ack(input);
  }
}

/** Counts words in batches, appends each batch's counts to its log, then acks the batch. */
export class TallyBolt implements Bolt {
  private collector!: OutputCollector;
  private file = '';
  private flushEvery = 500;
  private readonly batch: Tuple[] = [];

  declareOutputFields(_d: OutputDeclarer): void {}
  prepare(context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    // One log per task and process start, so a restarted task never interleaves with its past.
    this.file = join(stateDirOf(context), `tally-${context.taskId}-${context.runId}-${process.hrtime.bigint()}.log`);
    this.flushEvery = Number(context.config['flushEvery'] ?? 500);
  }
  execute(input: Tuple): void {
    if (!input.isTick) this.batch.push(input);
    if (this.batch.length >= this.flushEvery || (input.isTick && this.batch.length > 0)) this.flush();
  }
  cleanup(): void {
    if (this.batch.length > 0) this.flush();
  }
  private flush(): void {
    const counts = new Map<string, number>();
    for (const t of this.batch) counts.set(t.values[0] as string, (counts.get(t.values[0] as string) ?? 0) + 1);
    let text = '';
    for (const [w, n] of counts) text += `${w} ${n}\n`;
    appendFileSync(this.file, text);
    for (const t of this.batch) this.collector.ack(t);
    this.batch.length = 0;
  }
}

/** Sum every tally log in a state dir: word → count. */
export function readTallies(stateDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of readdirSync(stateDir)) {
    if (!f.startsWith('tally-')) continue;
    for (const line of readFileSync(join(stateDir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const [w, n] = line.split(' ');
      out.set(w!, (out.get(w!) ?? 0) + Number(n));
    }
  }
  return out;
}

/** The committed offsets of the spout's tasks. */
export function readOffsets(stateDir: string): number[] {
  return readdirSync(stateDir)
    .filter((f) => f.startsWith('offset-') && !f.endsWith('.tmp'))
    .map((f) => Number(readFileSync(join(stateDir, f), 'utf8')));
}

const builder = new TopologyBuilder('durable-word-count');
builder.setSpout('sentences', () => new DurableSentenceSpout());
builder.setBolt('split', () => new SplitBolt(), { parallelism: 2 }).shuffleGrouping('sentences');
builder.setBolt('tally', () => new TallyBolt(), { parallelism: 2, tickFrequencyMs: 50 }).fieldsGrouping('split', ['word']);

export default builder.build({ maxSpoutPending: 2000 });
