import type { Spout, SpoutOutputCollector } from '../spout/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import { createKafkaClient } from './client/index.ts';
import type { ConsumedRecord, ConsumerListener, KafkaConsumerLike } from './client/index.ts';
import { stringRecords } from './deserializers.ts';
import type { RecordDeserializer } from './deserializers.ts';
import { OffsetTracker } from './offset-tracker.ts';
import type { TopicPartition } from './offset-tracker.ts';
import { Committer } from './spout/committer.ts';
import { FirstPoller } from './spout/first-poll.ts';
import { resolveSpoutOptions } from './spout/options.ts';
import type { KafkaGuarantee, KafkaSpoutOptions } from './spout/options.ts';
import { Partitions } from './spout/partitions.ts';
import type { Part } from './spout/partitions.ts';
import { Pending, Retries } from './spout/retries.ts';
import { newCounters } from './spout/stats.ts';
import type { KafkaSpoutStats } from './spout/stats.ts';

export type { FirstPoll, KafkaGuarantee, KafkaRetryOptions, KafkaSpoutOptions } from './spout/options.ts';
export type { KafkaSpoutStats } from './spout/stats.ts';

/**
 * Reads Kafka topics as a member of a consumer group and emits one tuple per
 * record (see {@link RecordDeserializer} for the fields). Give the spout a
 * parallelism: each task is a group member and owns some partitions; more
 * `squall run` processes with the same group id share them too.
 *
 * At-least-once by default: offsets are committed by an {@link OffsetTracker}
 * (only the contiguous prefix of finished offsets, per partition) on a
 * period, when a rebalance starts, on deactivate and on close. A failed
 * record is retried with exponential backoff; when `maxRetries` run out, or
 * it cannot be deserialized, it goes to `deadLetterTopic` (headers say
 * where it came from and why) or, without one, is reported and skipped.
 *
 * Backpressure: fetching runs on its own; a partition is paused when it has
 * `maxBufferedPerPartition` records waiting to be emitted (which happens
 * when `maxSpoutPending` or full mailboxes stop `nextTuple`) or
 * `maxUncommittedPerPartition` offsets not committed, and resumed when both
 * drain. The member keeps heartbeating while paused.
 *
 * Several spout tasks on one thread each keep their own consumer.
 *
 * The parts, in ./spout/: the options and their checks (options.ts), the
 * owned partitions and their pausing (partitions.ts), where a first poll
 * starts (first-poll.ts), the offset commits (committer.ts) and what becomes
 * of failed records (retries.ts). This class wires them to the consumer and
 * to the tuple path.
 */
export class KafkaSpout implements Spout {
  private collector!: SpoutOutputCollector;
  private consumer: KafkaConsumerLike | undefined;
  private tracker: OffsetTracker | undefined;
  private deserializer: RecordDeserializer;
  private guarantee: KafkaGuarantee = 'at-least-once';
  private partitions!: Partitions;
  private firstPoll!: FirstPoller;
  private committer!: Committer;
  private retries!: Retries;
  private timers: ReturnType<typeof setInterval>[] = [];
  private closed = false;
  private readonly counters = newCounters();

  constructor(private readonly options: KafkaSpoutOptions = {}) {
    this.deserializer = options.deserializer ?? stringRecords;
  }

  declareOutputFields(declarer: OutputDeclarer): void {
    declarer.declare(this.deserializer.fields);
  }

  async open(context: TopologyContext, collector: SpoutOutputCollector): Promise<void> {
    this.collector = collector;
    const o = this.options;
    const s = resolveSpoutOptions(o, context);
    this.guarantee = s.guarantee;
    if (s.guarantee === 'at-least-once') this.tracker = new OffsetTracker({ maxUncommittedPerPartition: s.maxUncommittedPerPartition });
    const reportError = (err: unknown): void => this.collector.reportError(err);
    const isClosed = (): boolean => this.closed;
    const consumerNow = (): KafkaConsumerLike | undefined => this.consumer;
    this.partitions = new Partitions(consumerNow, s.maxBufferedPerPartition, this.tracker, this.counters);
    this.retries = new Retries(context.clock, s.retry, `KafkaSpout '${context.componentId}'`, s.deadLetterTopic, collector, this.tracker, this.counters, isClosed);
    this.committer = new Committer({
      consumer: consumerNow,
      partitions: this.partitions,
      tracker: this.tracker,
      guarantee: s.guarantee,
      marker: s.marker,
      counters: this.counters,
      onCommit: o.onCommit,
      reportError,
      isClosed,
    });

    const client = (o.createClient ?? createKafkaClient)({ ...o.client, brokers: s.brokers, clientId: s.clientId });
    if (s.deadLetterTopic !== undefined) {
      const dlq = client.producer();
      await dlq.connect();
      this.retries.dlq = dlq;
    }
    const consumer = client.consumer({
      groupId: s.groupId,
      fromBeginning: FirstPoller.fromBeginning(s.firstPoll),
      sessionTimeoutMs: s.sessionTimeoutMs,
      heartbeatIntervalMs: s.heartbeatIntervalMs,
      maxWaitTimeMs: s.maxWaitTimeMs,
      ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
    });
    this.consumer = consumer;
    this.firstPoll = new FirstPoller(s.firstPoll, s.marker, consumer, reportError, isClosed);
    try {
      await consumer.connect();
      await consumer.subscribe(s.topics);
    } catch (err) {
      // The runtime closes what opened; this did not: leave no consumer (or dead-letter producer) connected.
      await this.close().catch(() => {});
      throw err;
    }
    this.timers.push(setInterval(() => this.partitions.reconcilePauses(), 20));
    if (s.guarantee !== 'at-most-once') this.timers.push(setInterval(() => void this.committer.commit(), s.commitIntervalMs));
    for (const t of this.timers) t.unref?.();
    // Join in the background: a join waits for every member of the group
    // (other tasks of this spout, on other threads too), and those cannot
    // join while their host is still opening this task.
    consumer.run(this.listener).catch((err: unknown) => {
      if (!this.closed) this.collector.reportError(err);
    });
  }

  // -- the tuple path -------------------------------------------------------

  nextTuple(): void {
    // Retries go before new records.
    if (this.retries.emitDue()) return;
    const part = this.partitions.nextReady();
    if (part !== undefined) this.emitRecord(part, part.shift());
  }

  private emitRecord(part: Part, rec: ConsumedRecord): void {
    const tracker = this.tracker;
    if (tracker !== undefined && !tracker.emitted(rec.topic, rec.partition, rec.offset)) return;
    let values: unknown[];
    try {
      values = this.deserializer.deserialize(rec);
    } catch (err) {
      this.retries.undeserializable(part, rec, err);
      return;
    }
    this.counters.emitted++;
    if (part.emittedNext <= rec.offset) part.emittedNext = rec.offset + 1;
    if (tracker !== undefined) this.collector.emit(values, new Pending(rec, part, values));
    else this.collector.emit(values);
  }

  ack(msgId: unknown): void {
    const p = msgId as Pending;
    this.counters.acked++;
    if (p.part.owned) this.tracker!.ack(p.rec.topic, p.rec.partition, p.rec.offset);
  }

  fail(msgId: unknown): void {
    this.retries.fail(msgId as Pending);
  }

  // -- lifecycle ------------------------------------------------------------

  deactivate(): void {
    void this.committer.commit();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // Opened (open resolved or failed part way) before anything is there to commit or disconnect.
    if (this.committer !== undefined) await this.committer.commit();
    const consumer = this.consumer;
    this.consumer = undefined;
    const dlq = this.retries?.dlq;
    if (this.retries !== undefined) this.retries.dlq = undefined;
    try {
      if (consumer !== undefined) await consumer.disconnect();
    } finally {
      if (dlq !== undefined) await dlq.disconnect();
    }
  }

  stats(): KafkaSpoutStats {
    let buffered = 0;
    let paused = 0;
    const list = this.partitions?.list ?? [];
    for (const p of list) {
      buffered += p.buffered;
      if (p.paused) paused++;
    }
    return {
      owned: list.map((p) => ({ topic: p.topic, partition: p.partition })),
      buffered,
      paused,
      ...this.counters,
    };
  }

  // -- the consumer's side (event loop, off the tuple path) ------------------

  private readonly listener: ConsumerListener = {
    onRecords: (topic, partition, records) => this.onRecords(topic, partition, records),
    onRebalancing: () => {
      this.counters.rebalances++;
      // Still the owner: commit what is done before the partitions may move.
      void this.committer.commit();
    },
    onAssigned: (assignment) => this.onAssigned(assignment),
    onCrash: (error) => this.collector.reportError(error),
  };

  private onRecords(topic: string, partition: number, records: ConsumedRecord[]): void | Promise<void> {
    const part = this.partitions.get(topic, partition);
    if (part === undefined || !part.owned || part.holding || records.length === 0) return;
    // Drop what was seen already (a kept partition fetched again from its
    // committed offset after a rebalance, or a fetch that crossed a seek).
    let first = 0;
    while (first < records.length && records[first]!.offset < part.next) first++;
    if (first === records.length) return;
    const fresh = first === 0 ? records : records.slice(first);
    const last = fresh[fresh.length - 1]!.offset;
    if (this.tracker !== undefined && !part.tracked) {
      this.tracker.assign(topic, partition, fresh[0]!.offset);
      part.tracked = true;
    }
    if (this.guarantee === 'at-most-once') {
      // Commit before emitting: a crash after this loses the batch, never repeats it.
      return this.committer.commitFetched(this.consumer!, topic, partition, last + 1).then((committed) => {
        if (committed) {
          if (part.owned && last >= part.next) {
            part.next = last + 1;
            this.partitions.enqueue(part, fresh);
          }
        } else if (part.owned && part.next >= 0) {
          // Read it again: nothing of it was emitted.
          this.consumer?.seek(topic, partition, part.next);
        }
      });
    }
    part.next = last + 1;
    this.partitions.enqueue(part, fresh);
  }

  private onAssigned(assignment: TopicPartition[]): void {
    const consumer = this.consumer;
    if (consumer === undefined) return;
    this.counters.joins++;
    this.committer.revoked(this.partitions.dropAllBut(assignment), consumer);
    const added = this.partitions.own(assignment, consumer);
    this.firstPoll.added(added);
  }
}
