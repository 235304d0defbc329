/** Small components and waits shared by the runtime tests. */
import type { Bolt, OutputCollector, OutputDeclarer, Spout, SpoutOutputCollector, TopologyContext, Tuple } from '../src/index.ts';

/** Wait until `cond` holds, polling the event loop; fail after `maxMs` of real time. */
export async function until(cond: () => boolean, what = 'condition', maxMs = 10_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Manual stepping: run every task until nothing moves, then check `cond`.
 * Nothing is waited for: what settling does not bring about, only a move of
 * the simulated clock can, so a condition that does not hold fails at once.
 */
export function settle(run: { settle(): number }, cond: () => boolean = () => true, what = 'condition'): void {
  run.settle();
  if (!cond()) throw new Error(`after settling, still waiting for ${what}`);
}

/** A spout that emits `count` tuples [i] with message id i and records what it hears. */
export class CountingSpout implements Spout {
  static instances: CountingSpout[] = [];
  collector!: SpoutOutputCollector;
  context!: TopologyContext;
  next = 0;
  readonly acked: unknown[] = [];
  readonly failed: unknown[] = [];
  nextTupleCalls = 0;
  inNextTuple = false;
  overlap = false;
  activations = 0;
  deactivations = 0;
  closed = false;

  constructor(
    private readonly count: number,
    private readonly tracked = true,
  ) {}

  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['n']);
  }
  open(context: TopologyContext, collector: SpoutOutputCollector): void {
    this.context = context;
    this.collector = collector;
    CountingSpout.instances.push(this);
  }
  nextTuple(): void {
    this.inNextTuple = true;
    this.nextTupleCalls++;
    if (this.next < this.count) {
      const n = this.next++;
      this.collector.emit([n], this.tracked ? n : undefined);
    }
    this.inNextTuple = false;
  }
  ack(id: unknown): void {
    if (this.inNextTuple) this.overlap = true;
    this.acked.push(id);
  }
  fail(id: unknown): void {
    if (this.inNextTuple) this.overlap = true;
    this.failed.push(id);
  }
  activate(): void {
    this.activations++;
  }
  deactivate(): void {
    this.deactivations++;
  }
  close(): void {
    this.closed = true;
  }
  isDone(): boolean {
    return this.next >= this.count && this.acked.length + this.failed.length >= this.count;
  }
}

/** A bolt that holds every input until the test acks or fails it through `held`. */
export class HoldBolt implements Bolt {
  static instances: HoldBolt[] = [];
  collector!: OutputCollector;
  readonly held: Tuple[] = [];
  readonly ticks: Tuple[] = [];
  cleanedUp = false;

  declareOutputFields(_d: OutputDeclarer): void {}
  prepare(_c: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    HoldBolt.instances.push(this);
  }
  execute(input: Tuple): void {
    if (input.isTick) this.ticks.push(input);
    else this.held.push(input);
  }
  cleanup(): void {
    this.cleanedUp = true;
  }
  ackAll(): void {
    for (const t of this.held.splice(0)) this.collector.ack(t);
  }
  failAll(): void {
    for (const t of this.held.splice(0)) this.collector.fail(t);
  }
}

/** A bolt that acks every input at once. */
export class AckBolt implements Bolt {
  collector!: OutputCollector;
  declareOutputFields(_d: OutputDeclarer): void {}
  prepare(_c: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }
  execute(input: Tuple): void {
    this.collector.ack(input);
  }
}
