import type { Bolt, OutputCollector } from '../bolt/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { Tuple } from '../tuple/index.ts';

/** Where CaptureBolt tasks record what they receive. */
export class TupleCapture {
  readonly tuples: Tuple[] = [];
  /** The values received, in arrival order. */
  values(): unknown[][] {
    return this.tuples.map((t) => [...t.values]);
  }
}

/**
 * A sink that records every tuple it receives in a TupleCapture and acks it.
 * It records on the thread it runs on: for topologies spread over worker
 * threads, read completeTopology's emitted tuples instead.
 */
export class CaptureBolt implements Bolt {
  private collector!: OutputCollector;

  constructor(private readonly capture: TupleCapture) {}

  declareOutputFields(_d: OutputDeclarer): void {}

  prepare(_context: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }

  execute(input: Tuple): void {
    this.capture.tuples.push(input);
    this.collector.ack(input);
  }
}
