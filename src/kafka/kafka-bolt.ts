import type { Bolt, OutputCollector } from '../bolt/index.ts';
import { invariant } from '../errors/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { Tuple } from '../tuple/index.ts';
import { createKafkaClient } from './client/index.ts';
import { badConfig, brokersOf, nonNegativeInt, optString, positiveInt } from './config.ts';
import type { KafkaClient, KafkaClientOptions, KafkaProducerLike, ProducerRecord, TopicRecords } from './client/index.ts';

export interface KafkaBoltOptions {
  /** Bootstrap brokers; else `context.config['kafka.brokers']` (a list, or a comma-separated string). */
  brokers?: readonly string[];
  /** Else `context.config['kafka.clientId']`, else 'squall-<topology>-<component>'. */
  clientId?: string;
  /** Other client settings (ssl, sasl, timeouts, retry, logLevel); brokers/clientId above win. */
  client?: Partial<KafkaClientOptions>;
  /** The one topic to write to; else `context.config['kafka.topic']`. */
  topic?: string;
  /** The topic of each tuple; wins over `topic`. */
  topicFor?: (tuple: Tuple) => string;
  /**
   * The record of each tuple. Default: key from field 'key' if declared,
   * value from field 'value' if declared, else the first field; strings and
   * Buffers as they are, anything else as JSON.
   */
  map?: (tuple: Tuple) => ProducerRecord;
  /** Flush a batch once it holds this many records (default 500, or `kafka.batchSize`). */
  batchSize?: number;
  /** Flush a batch this long after its first record (real time; default 5, or `kafka.lingerMs`). */
  lingerMs?: number;
  /** Sends in flight at once (default 4, or `kafka.maxInFlightBatches`); full batches wait their turn. */
  maxInFlightBatches?: number;
  /** Idempotent producer (default false, or `kafka.idempotent`). */
  idempotent?: boolean;
  /** Replace kafkajs: build the client from the resolved options. */
  createClient?: (options: KafkaClientOptions) => KafkaClient;
}

interface Batch {
  readonly tuples: Tuple[];
  readonly topics: string[];
  readonly records: ProducerRecord[];
}

/**
 * A sink bolt that writes each input as a record to Kafka, with acks = all,
 * and acks the input only once Kafka has acknowledged the write of its
 * batch; if the send of a batch rejects, it fails every input of the batch
 * (the spout replays them) and reports the error (code E_KAFKA). It emits
 * nothing.
 *
 * Inputs are batched: a batch is sent when it holds `batchSize` records or
 * `lingerMs` after its first record (a real-time timer, not the topology
 * clock: it paces I/O, not semantics). At most `maxInFlightBatches` sends
 * are in flight; full batches wait in the bolt. What waits in the bolt is
 * bounded by the spouts' `maxSpoutPending`: an input stays unacked until its
 * batch is written, so the spouts stop emitting once that many trees are in
 * flight (with `ackers: 0` nothing is tracked and that bound is gone).
 *
 * Delivery is at-least-once: a failed batch may be partly written, and is
 * written again on replay; a replayed record lands after records sent later.
 * `cleanup` sends what is buffered, waits for every send, then disconnects.
 */
export class KafkaBolt implements Bolt {
  private collector!: OutputCollector;
  private producer: KafkaProducerLike | undefined;
  private topic: string | undefined;
  private topicFor: ((tuple: Tuple) => string) | undefined;
  private map: (tuple: Tuple) => ProducerRecord = defaultMap;
  private batchSize = 500;
  private lingerMs = 5;
  private maxInFlight = 4;

  private open: Batch | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Full batches waiting for a send slot, oldest first. */
  private readonly waiting: Batch[] = [];
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly options: KafkaBoltOptions = {}) {}

  declareOutputFields(_declarer: OutputDeclarer): void {}

  async prepare(context: TopologyContext, collector: OutputCollector): Promise<void> {
    this.collector = collector;
    const o = this.options;
    const c = context.config;
    const where = `KafkaBolt '${context.componentId}'`;
    this.topicFor = o.topicFor;
    this.topic = o.topic ?? optString(c, 'kafka.topic', where);
    if (this.topicFor === undefined && (this.topic === undefined || this.topic === '')) {
      throw badConfig(where, 'topic', this.topic, "a topic name: set options.topic, options.topicFor, or config 'kafka.topic'");
    }
    if (o.map !== undefined) this.map = o.map;
    this.batchSize = positiveInt(o.batchSize ?? c['kafka.batchSize'] ?? 500, 'batchSize', where);
    this.lingerMs = nonNegativeInt(o.lingerMs ?? c['kafka.lingerMs'] ?? 5, 'lingerMs', where);
    this.maxInFlight = positiveInt(o.maxInFlightBatches ?? c['kafka.maxInFlightBatches'] ?? 4, 'maxInFlightBatches', where);
    const idempotent = o.idempotent ?? c['kafka.idempotent'] ?? false;
    if (typeof idempotent !== 'boolean') throw badConfig(where, 'idempotent', idempotent, 'true or false');
    const brokers = o.brokers ?? brokersOf(c['kafka.brokers']);
    if (brokers === undefined) throw badConfig(where, 'brokers', c['kafka.brokers'], "a list of 'host:port': set options.brokers or config 'kafka.brokers'");
    const clientId = o.clientId ?? optString(c, 'kafka.clientId', where) ?? `squall-${context.topologyName}-${context.componentId}`;
    const client = (o.createClient ?? createKafkaClient)({ ...o.client, brokers, clientId });
    const producer = client.producer({ idempotent });
    await producer.connect();
    this.producer = producer;
  }

  execute(input: Tuple): void {
    if (input.isTick) {
      this.collector.ack(input);
      return;
    }
    // Map first: a throw fails this input alone (the executor reports it).
    const topic = this.topicFor !== undefined ? this.topicFor(input) : this.topic!;
    const record = this.map(input);
    let b = this.open;
    if (b === null) {
      b = this.open = { tuples: [], topics: [], records: [] };
      if (this.lingerMs > 0) this.timer = setTimeout(this.onLinger, this.lingerMs);
    }
    b.tuples.push(input);
    b.topics.push(topic);
    b.records.push(record);
    if (b.records.length >= this.batchSize || this.lingerMs === 0) this.flush();
  }

  async cleanup(): Promise<void> {
    this.flush();
    if (this.inFlight > 0 || this.waiting.length > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
      });
    }
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await producer.disconnect();
  }

  private readonly onLinger = (): void => {
    this.timer = undefined;
    this.flush();
  };

  /** Close the open batch and send it, or queue it while the send slots are full. */
  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const b = this.open;
    if (b === null) return;
    this.open = null;
    if (this.inFlight < this.maxInFlight) this.send(b);
    else this.waiting.push(b);
  }

  private send(b: Batch): void {
    const producer = this.producer;
    invariant(producer !== undefined, 'KafkaBolt sent a batch before prepare connected the producer or after cleanup');
    this.inFlight++;
    producer.send(groupByTopic(b)).then(
      () => this.settle(b, null),
      (err: unknown) => this.settle(b, err),
    );
  }

  private settle(b: Batch, err: unknown): void {
    this.inFlight--;
    if (this.inFlight < 0) invariant(false, `KafkaBolt has ${this.inFlight} sends in flight`);
    const tuples = b.tuples;
    if (err === null) {
      for (let i = 0; i < tuples.length; i++) this.collector.ack(tuples[i]!);
    } else {
      // One report per failed batch, not per tuple.
      this.collector.reportError(err);
      for (let i = 0; i < tuples.length; i++) this.collector.fail(tuples[i]!);
    }
    const next = this.waiting.shift();
    if (next !== undefined) this.send(next);
    else if (this.inFlight === 0 && this.idle !== undefined) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }
}

/** Records grouped by topic, each topic's in input order. */
function groupByTopic(b: Batch): TopicRecords[] {
  const byTopic = new Map<string, ProducerRecord[]>();
  for (let i = 0; i < b.records.length; i++) {
    const t = b.topics[i]!;
    let list = byTopic.get(t);
    if (list === undefined) byTopic.set(t, (list = []));
    list.push(b.records[i]!);
  }
  const out: TopicRecords[] = [];
  for (const [topic, records] of byTopic) out.push({ topic, records });
  return out;
}

/** Key from field 'key' if declared, value from field 'value' if declared, else the first field. */
export function defaultMap(tuple: Tuple): ProducerRecord {
  const key = tuple.contains('key') ? toBytes(tuple.get('key')) : null;
  const value = toBytes(tuple.contains('value') ? tuple.get('value') : tuple.getValue(0));
  return { key, value };
}

/**
 * A value as Kafka bytes: strings and Buffers as they are, other byte views
 * (a Buffer that crossed a thread arrives as a Uint8Array) as a Buffer over
 * the same memory, null and undefined as null, anything else as JSON.
 */
export function toBytes(v: unknown): Buffer | string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return JSON.stringify(v);
}
