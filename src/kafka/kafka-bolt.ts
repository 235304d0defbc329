import type { Bolt, OutputCollector } from '../bolt/index.ts';
import { invariant } from '../errors/index.ts';
import type { RestoredState } from '../state/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { Tuple } from '../tuple/index.ts';
import { createKafkaClient } from './client/index.ts';
import { badConfig, brokersOf, nonNegativeInt, optString, positiveInt } from './config.ts';
import type { KafkaClient, KafkaClientOptions, KafkaProducerLike, ProducerRecord, TopicRecords } from './client/index.ts';
import { TransactionalWriter, walFor } from './transactional-writer.ts';
import type { RestoredWal, TransactionalOptions, TransactionalSnapshot } from './transactional-writer.ts';

export type { TransactionalOptions, TransactionalSnapshot } from './transactional-writer.ts';

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
  /**
   * Exactly-once output in checkpoint mode: one Kafka transaction per
   * checkpoint and sink task, committed when the checkpoint completes
   * (see docs/exactly-once.md). Needs `checkpointIntervalMs` > 0. Consumers
   * of the output must read with read_committed (kafkajs's default).
   */
  transactional?: TransactionalOptions;
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
 *
 * With `transactional: { idPrefix }` (checkpoint mode) delivery is
 * exactly-once for read_committed consumers instead: one Kafka transaction
 * per checkpoint and task, pre-committed at the barrier (snapshotState),
 * committed when the checkpoint completes, sent again from the checkpoint's
 * write-ahead log on a restore unless its marker says it committed; inputs
 * are acked as soon as they are buffered (./transactional-writer.ts,
 * docs/exactly-once.md).
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
  /** Transactional mode only. */
  private writer: TransactionalWriter | undefined;
  private restored: RestoredState | undefined;

  constructor(private readonly options: KafkaBoltOptions = {}) {}

  /** Transactional mode: remember the checkpoint's write-ahead log; prepare commits what it left pending. */
  restoreState(state: RestoredState): void {
    this.restored = state;
  }

  /**
   * Transactional mode: pre-commit. The open transaction is flushed, with
   * checkpoint n's marker, and waits for n to complete; the returned
   * promise holds the input until then, and resolves with the write-ahead
   * log of every transaction still pending (the operator state).
   */
  snapshotState(checkpointId: number): Promise<TransactionalSnapshot> | undefined {
    return this.writer?.snapshot(checkpointId);
  }

  /** Transactional mode: commit every transaction pending for a checkpoint <= n. */
  notifyCheckpointComplete(checkpointId: number): Promise<void> | undefined {
    return this.writer?.complete(checkpointId);
  }

  /** Transactional mode: checkpoint n's records move into the next transaction, and n's is aborted. */
  notifyCheckpointAborted(checkpointId: number): Promise<void> | undefined {
    return this.writer?.aborted(checkpointId);
  }

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
    if (o.transactional !== undefined) {
      const t = o.transactional as Partial<TransactionalOptions> | null;
      if (t === null || typeof t !== 'object') throw badConfig(where, 'transactional', t, 'an object with idPrefix (and optionally poolSize, transactionTimeoutMs, markerTopic)');
      if (typeof t.idPrefix !== 'string' || t.idPrefix.trim() === '' || /\s/.test(t.idPrefix)) {
        throw badConfig(
          where,
          'transactional.idPrefix',
          t.idPrefix,
          'a non-empty string without spaces, unique to this deployment and the same on every restart (it names the transactional ids that fence a dead run\'s producers)',
        );
      }
      const poolSize = positiveInt(t.poolSize ?? 3, 'transactional.poolSize', where);
      if (poolSize < 2) throw badConfig(where, 'transactional.poolSize', poolSize, 'at least 2 (one open transaction, one waiting for its checkpoint)');
      const interval = c['checkpointIntervalMs'];
      if (typeof interval !== 'number' || interval <= 0) {
        throw badConfig(where, 'checkpointIntervalMs', interval, 'above 0 in the topology config: a transactional KafkaBolt commits when a checkpoint completes, so without checkpoints nothing would ever be visible to read_committed consumers');
      }
      const checkpointTimeout = typeof c['checkpointTimeoutMs'] === 'number' ? c['checkpointTimeoutMs'] : 60_000;
      const transactionTimeoutMs = positiveInt(t.transactionTimeoutMs ?? 600_000, 'transactional.transactionTimeoutMs', where);
      if (transactionTimeoutMs <= interval + checkpointTimeout) {
        throw badConfig(
          where,
          'transactional.transactionTimeoutMs',
          transactionTimeoutMs,
          `above checkpointIntervalMs + checkpointTimeoutMs (${interval + checkpointTimeout} ms), or the broker aborts transactions before their checkpoint can complete; keep it at most the broker's transaction.max.timeout.ms (15 min by default)`,
        );
      }
      const markerTopic = t.markerTopic ?? this.topic;
      if (typeof markerTopic !== 'string' || markerTopic === '') {
        throw badConfig(where, 'transactional.markerTopic', markerTopic, 'an existing topic (with topicFor alone there is no default): its partition 0 carries the commit markers as consumer-group offsets');
      }
      let wal: RestoredWal | null = null;
      if (this.restored !== undefined) wal = walFor(this.restored, context.taskIndex, context.componentTasks.length, where);
      this.restored = undefined;
      const writer = new TransactionalWriter({
        idPrefix: t.idPrefix,
        poolSize,
        transactionTimeoutMs,
        markerTopic,
        componentId: context.componentId,
        taskIndex: context.taskIndex,
        batchSize: this.batchSize,
        lingerMs: this.lingerMs,
        client,
        reportError: (err) => this.collector.reportError(err),
      });
      await writer.start(wal);
      this.writer = writer;
      return;
    }
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
    const writer = this.writer;
    if (writer !== undefined) {
      // The write-ahead log and the checkpoint, not this ack, make the record durable.
      writer.add(topic, record);
      this.collector.ack(input);
      return;
    }
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
    const writer = this.writer;
    this.writer = undefined;
    if (writer !== undefined) {
      await writer.close();
      return;
    }
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
