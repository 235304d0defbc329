/**
 * Small components for topology tests: a spout and bolts that do nothing but
 * declare streams, and scripted ones whose emits a test writes inline.
 */
import { BasicBolt } from '../../src/index.ts';
import type {
  BasicOutputCollector,
  Bolt,
  OutputCollector,
  OutputDeclarer,
  Spout,
  SpoutOutputCollector,
  TopologyContext,
  Tuple,
} from '../../src/index.ts';

/** One declared stream: its fields, and whether it is direct. */
export interface StreamSpec {
  fields: readonly string[];
  direct?: boolean;
}

/** Streams keyed by id; 'default' is declared with declare(). */
export type Streams = Record<string, StreamSpec>;

function declareAll(d: OutputDeclarer, streams: Streams): void {
  for (const [id, s] of Object.entries(streams)) {
    const options = s.direct ? { direct: true } : undefined;
    if (id === 'default') d.declare(s.fields, options);
    else d.declareStream(id, s.fields, options);
  }
}

/** A spout that declares streams and emits nothing: enough to build with. */
export class SilentSpout implements Spout {
  constructor(private readonly streams: Streams = { default: { fields: ['key', 'n'] } }) {}
  declareOutputFields(d: OutputDeclarer): void {
    declareAll(d, this.streams);
  }
  open(): void {}
  nextTuple(): void {}
}

/** A basic bolt that declares streams and emits nothing. */
export class SilentBolt extends BasicBolt {
  constructor(private readonly streams: Streams = { default: { fields: ['word'] } }) {
    super();
  }
  declareOutputFields(d: OutputDeclarer): void {
    declareAll(d, this.streams);
  }
  execute(_input: Tuple, _out: BasicOutputCollector): void {}
}

export type BoltScript = (input: Tuple, collector: OutputCollector, context: TopologyContext) => void;

/**
 * Runs `script` on each input, then acks the input (unless the script settled
 * it). A SquallError the script throws is kept in `thrown` before it reaches
 * the executor, so a test can read fields the error report does not carry.
 */
export class ScriptedBolt implements Bolt {
  private collector!: OutputCollector;
  private context!: TopologyContext;

  constructor(
    private readonly streams: Streams,
    private readonly script: BoltScript,
    private readonly thrown: unknown[] = [],
  ) {}

  declareOutputFields(d: OutputDeclarer): void {
    declareAll(d, this.streams);
  }

  prepare(context: TopologyContext, collector: OutputCollector): void {
    this.context = context;
    this.collector = collector;
  }

  execute(input: Tuple): void {
    try {
      this.script(input, this.collector, this.context);
    } catch (err) {
      this.thrown.push(err);
      throw err;
    }
    this.collector.ack(input);
  }
}

export type SpoutScript = (call: number, collector: SpoutOutputCollector, context: TopologyContext) => void;

/**
 * A finite spout: `nextTuple` runs `script(call)` for calls 0 .. calls-1 and
 * counts acks and fails. Errors the script throws are kept in `thrown`.
 */
export class ScriptedSpout implements Spout {
  private collector!: SpoutOutputCollector;
  private context!: TopologyContext;
  private call = 0;

  constructor(
    private readonly streams: Streams,
    private readonly calls: number,
    private readonly script: SpoutScript,
    private readonly thrown: unknown[] = [],
    private readonly heard: { acked: unknown[]; failed: unknown[] } = { acked: [], failed: [] },
  ) {}

  declareOutputFields(d: OutputDeclarer): void {
    declareAll(d, this.streams);
  }

  open(context: TopologyContext, collector: SpoutOutputCollector): void {
    this.context = context;
    this.collector = collector;
  }

  nextTuple(): void {
    if (this.call >= this.calls) return;
    const call = this.call++;
    try {
      this.script(call, this.collector, this.context);
    } catch (err) {
      this.thrown.push(err);
      throw err;
    }
  }

  ack(msgId: unknown): void {
    this.heard.acked.push(msgId);
  }

  fail(msgId: unknown): void {
    this.heard.failed.push(msgId);
  }

  isDone(): boolean {
    return this.call >= this.calls;
  }
}
