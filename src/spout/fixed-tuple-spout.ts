import type { Spout, SpoutOutputCollector } from './spout.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import { DEFAULT_STREAM } from '../tuple/index.ts';

/** Tuples per stream: an array of value arrays is the default stream's. */
export type FixedTuples = readonly unknown[][] | Readonly<Record<string, readonly unknown[][]>>;

/**
 * Emits a fixed list of tuples, each once, with a message id, and counts the
 * acks and fails (it does not replay: a fail is final, as in Storm's
 * FixedTupleSpout). With several tasks, tuple i goes to task i % tasks, so
 * every tuple is emitted exactly once by the component.
 */
export class FixedTupleSpout implements Spout {
  private readonly queue: { stream: string; values: unknown[] }[] = [];
  private readonly all: { stream: string; values: unknown[] }[];
  private collector!: SpoutOutputCollector;
  private pos = 0;
  acked = 0;
  failed = 0;
  /** Message ids (positions in this task's list) that failed. */
  readonly failedIds: number[] = [];

  constructor(
    tuples: FixedTuples,
    private readonly streams: Readonly<Record<string, readonly string[]>>,
  ) {
    this.all = [];
    if (Array.isArray(tuples)) {
      for (const v of tuples) this.all.push({ stream: DEFAULT_STREAM, values: v });
    } else {
      for (const [stream, list] of Object.entries(tuples as Record<string, unknown[][]>)) {
        for (const v of list) this.all.push({ stream, values: v });
      }
    }
  }

  declareOutputFields(d: OutputDeclarer): void {
    for (const [stream, fields] of Object.entries(this.streams)) {
      if (stream === DEFAULT_STREAM) d.declare(fields);
      else d.declareStream(stream, fields);
    }
  }

  open(context: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
    const n = context.componentTasks.length;
    for (let i = context.taskIndex; i < this.all.length; i += n) this.queue.push(this.all[i]!);
  }

  nextTuple(): void {
    if (this.pos >= this.queue.length) return;
    const id = this.pos++;
    const t = this.queue[id]!;
    this.collector.emitTo(t.stream, t.values, id);
  }

  ack(): void {
    this.acked++;
  }

  fail(msgId: unknown): void {
    this.failed++;
    this.failedIds.push(msgId as number);
  }

  isDone(): boolean {
    return this.pos >= this.queue.length && this.acked + this.failed === this.queue.length;
  }
}
