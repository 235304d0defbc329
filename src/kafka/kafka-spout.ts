import type { Spout, SpoutOutputCollector } from '../spout/index.ts';
import { SquallError } from '../errors/index.ts';
import type { RestoredState } from '../state/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import { createKafkaClient } from './client/index.ts';
import type { ConsumedRecord, ConsumerListener, KafkaConsumerLike, PartitionCommit } from './client/index.ts';
import { stringRecords } from './deserializers.ts';
import type { RecordDeserializer } from './deserializers.ts';
import { OffsetTracker } from './offset-tracker.ts';
import type { TopicPartition } from './offset-tracker.ts';
import { Committer } from './spout/committer.ts';
import { EventTimeTracker, timeOf } from './spout/event-time.ts';
import type { EventTimeSettings } from './spout/event-time.ts';
import { FirstPoller } from './spout/first-poll.ts';
import { resolveSpoutOptions } from './spout/options.ts';
import type { KafkaGuarantee, KafkaSpoutOptions } from './spout/options.ts';
import { Partitions, partKey } from './spout/partitions.ts';
import type { Part } from './spout/partitions.ts';
import { Pending, Retries } from './spout/retries.ts';
import { newCounters } from './spout/stats.ts';
import type { KafkaSpoutStats } from './spout/stats.ts';

export type { FirstPoll, KafkaGuarantee, KafkaRetryOptions, KafkaSpoutOptions } from './spout/options.ts';
export type { KafkaSpoutStats, KafkaEventTimeStats } from './spout/stats.ts';
export type { KafkaEventTimeOptions } from './spout/event-time.ts';

/**
 * A KafkaSpout task's position in a checkpoint (what snapshotState
 * returns): per topic-partition, the next offset to emit. It also carries
 * the restored positions of partitions the task has not owned since the
 * restore, so a checkpoint taken before a rebalance handed them out keeps
 * them; on restore the union of every task's positions is taken, the
 * highest offset per partition winning.
 */
export interface KafkaSpoutPosition {
  readonly kind: 'squall.kafka-spout';
  readonly v: 1;
  /** [topic, partition, next offset]. */
  readonly offsets: readonly (readonly [string, number, number])[];
  /**
   * With the `eventTime` option: [topic, partition, watermark] for the
   * partitions of `offsets` that have one, the watermark of what was emitted
   * before the offset. Absent in positions written without it; a restore
   * without it starts those partitions with no watermark.
   */
  readonly watermarks?: readonly (readonly [string, number, number])[];
  /**
   * How many of `offsets`, from the first, are partitions the task owned at
   * the barrier; the rest are restored positions it carried. After a
   * restore the owned ones hold the watermark of the new task they map to
   * until it owns them again (the `eventTime.restoreHoldMs` option). Absent
   * in positions written without it: all are taken as owned.
   */
  readonly owned?: number;
}

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
  /** Checkpoint mode: positions are snapshotted, and the group gets the completed checkpoints' positions only. */
  private checkpointing = false;
  /** Restored positions of partitions this task has not owned since the restore (partition key -> position). */
  private restored = new Map<string, PartitionCommit>();
  /** Owned partitions' positions per checkpoint taken and not yet completed or aborted. */
  private readonly positionsAt = new Map<number, PartitionCommit[]>();
  /** With `eventTime`: the watermark per partition, and the task's. */
  private eventTime: EventTimeTracker | null = null;
  /** The `eventTime.timestamp` function (null: the record's timestamp). */
  private timestampOf: EventTimeSettings['timestampOf'] = null;
  /** Why the last event-time function threw (reported with the first bad timestamp). */
  private timestampError: unknown = undefined;
  /** Restored watermarks of the partitions in `restored` that had one (partition key -> watermark). */
  private restoredWatermarks = new Map<string, number>();
  /** Per old task of the restored checkpoint: the partitions it owned then (they hold the watermark of the task they map to). */
  private restoredOwners: { readonly taskIndex: number; readonly parts: readonly string[] }[] = [];
  private stopWatermarks: (() => void) | null = null;
  /** Records to emit before the watermark is worked out from the tuple path (`eventTime.intervalRecords`). */
  private recordsToWatermark = 0;
  private componentId = '';

  constructor(private readonly options: KafkaSpoutOptions = {}) {
    this.deserializer = options.deserializer ?? stringRecords;
  }

  declareOutputFields(declarer: OutputDeclarer): void {
    declarer.declare(this.deserializer.fields);
  }

  /**
   * Before open, when the run restores a checkpoint: remember every task's
   * positions (the highest per partition); each partition is sought to its
   * position when the group assigns it to this task, now or after a later
   * rebalance, and the checkpoint's position wins over the group's
   * committed offset.
   */
  restoreState(state: RestoredState): void {
    this.checkpointing = true;
    const restored = new Map<string, PartitionCommit>();
    const watermarks = new Map<string, number>();
    const owners: { taskIndex: number; parts: string[] }[] = [];
    for (const { taskIndex, value } of state.all) {
      const v = value as Partial<KafkaSpoutPosition> | null | undefined;
      if (
        v === null ||
        v === undefined ||
        v.kind !== 'squall.kafka-spout' ||
        v.v !== 1 ||
        !Array.isArray(v.offsets) ||
        (v.watermarks !== undefined && !Array.isArray(v.watermarks)) ||
        (v.owned !== undefined && !(Number.isInteger(v.owned) && v.owned >= 0 && v.owned <= v.offsets.length))
      ) {
        throw new SquallError({
          code: 'E_BAD_STATE',
          message: `KafkaSpout: the position of task ${taskIndex} in checkpoint ${state.checkpointId} is not a KafkaSpout's; was the component's type changed? Restore with the component as it was, or drop its state`,
          details: { checkpointId: state.checkpointId, taskIndex },
        });
      }
      const wms = new Map<string, number>();
      for (const [topic, partition, wm] of v.watermarks ?? []) wms.set(partKey(topic, partition), wm);
      const ownedThen = v.offsets.slice(0, v.owned ?? v.offsets.length).map(([topic, partition]) => partKey(topic, partition));
      owners.push({ taskIndex, parts: ownedThen });
      for (const [topic, partition, offset] of v.offsets) {
        const k = partKey(topic, partition);
        const had = restored.get(k);
        const wm = wms.get(k);
        // The watermark goes with the position it was taken at.
        if (had === undefined || had.offset < offset) {
          restored.set(k, { topic, partition, offset });
          if (wm === undefined) watermarks.delete(k);
          else watermarks.set(k, wm);
        } else if (had.offset === offset && wm !== undefined && !(wm <= (watermarks.get(k) ?? -Infinity))) {
          watermarks.set(k, wm);
        }
      }
    }
    this.restored = restored;
    this.restoredWatermarks = watermarks;
    this.restoredOwners = owners;
  }

  /**
   * Checkpoint n's barrier: the position of every owned partition (the next
   * offset to emit; everything before it was emitted before this call) and
   * the restored positions of partitions not owned since the restore.
   */
  snapshotState(checkpointId: number): KafkaSpoutPosition {
    this.checkpointing = true;
    const owned: PartitionCommit[] = [];
    const offsets: [string, number, number][] = [];
    const watermarks: [string, number, number][] = [];
    const et = this.eventTime;
    for (const part of this.partitions?.list ?? []) {
      if (!part.owned || part.holding || part.position < 0) continue;
      owned.push({ topic: part.topic, partition: part.partition, offset: part.position });
      offsets.push([part.topic, part.partition, part.position]);
      if (et !== null && part.time !== null) {
        const wm = et.watermarkOf(part.time);
        if (Number.isFinite(wm)) watermarks.push([part.topic, part.partition, wm]);
      }
    }
    for (const [k, r] of this.restored) {
      offsets.push([r.topic, r.partition, r.offset]);
      const wm = this.restoredWatermarks.get(k);
      if (wm !== undefined) watermarks.push([r.topic, r.partition, wm]);
    }
    this.positionsAt.set(checkpointId, owned);
    const base = { kind: 'squall.kafka-spout', v: 1, offsets, owned: owned.length } as const;
    return watermarks.length > 0 ? { ...base, watermarks } : base;
  }

  /** Checkpoint n is durable: commit its positions to the group (for lag monitoring; restores use the checkpoint's). */
  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const positions = this.positionsAt.get(checkpointId);
    for (const id of [...this.positionsAt.keys()]) if (id <= checkpointId) this.positionsAt.delete(id);
    if (positions !== undefined && this.committer !== undefined && !this.closed) await this.committer.commitPositions(positions);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.positionsAt.delete(checkpointId);
  }

  async open(context: TopologyContext, collector: SpoutOutputCollector): Promise<void> {
    this.collector = collector;
    this.componentId = context.componentId;
    const o = this.options;
    const s = resolveSpoutOptions(o, context);
    const interval = context.config['checkpointIntervalMs'];
    if (typeof interval === 'number' && interval > 0) this.checkpointing = true;
    this.guarantee = s.guarantee;
    if (s.eventTime !== null) {
      this.eventTime = new EventTimeTracker(s.eventTime, context.clock);
      this.timestampOf = s.eventTime.timestampOf;
      this.recordsToWatermark = s.eventTime.intervalRecords;
      this.holdRestored(this.eventTime, s.eventTime.restoreHoldMs, context);
    }
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
      checkpointing: () => this.checkpointing,
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
    // Watermarks on the topology clock, not in nextTuple: they must go on
    // when nextTuple is not called (maxSpoutPending reached, waiting for
    // windows to fire and ack).
    if (this.eventTime !== null) this.stopWatermarks = context.clock.every(this.eventTime.intervalMs, this.tickWatermark);
    // Join in the background: a join waits for every member of the group
    // (other tasks of this spout, on other threads too), and those cannot
    // join while their host is still opening this task.
    consumer.run(this.listener).catch((err: unknown) => {
      if (!this.closed) this.collector.reportError(err);
    });
  }

  /**
   * After a restore: the partitions that old task j owned at the checkpoint
   * hold the watermark of new task j mod p (every old task maps to exactly
   * one new task, so every owned partition is held by one task), at their
   * checkpointed watermarks, until the group gives them back to this task or
   * `restoreHoldMs` passes. Partitions the old task only carried are left
   * to the task that owned them.
   */
  private holdRestored(et: EventTimeTracker, holdMs: number, context: TopologyContext): void {
    const owners = this.restoredOwners;
    this.restoredOwners = [];
    if (holdMs <= 0 || owners.length === 0) return;
    const p = context.componentTasks.length;
    const until = context.clock.now() + holdMs;
    for (const { taskIndex, parts } of owners) {
      if (taskIndex % p !== context.taskIndex) continue;
      for (const k of parts) {
        const r = this.restored.get(k);
        if (r !== undefined) et.hold(r.topic, r.partition, this.restoredWatermarks.get(k), until);
      }
    }
  }

  // -- the tuple path -------------------------------------------------------

  nextTuple(): void {
    // Retries go before new records.
    if (this.retries.emitDue()) return;
    const part = this.partitions.nextReady();
    if (part !== undefined) {
      const rec = part.shift();
      part.position = rec.offset + 1;
      this.emitRecord(part, rec);
    }
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
    const time = part.time;
    if (time !== null && !this.eventTime!.observe(time, this.timestampOf === null ? rec.timestamp : this.eventTimeOf(rec, values))) this.badTimestamp(rec);
    if (tracker !== undefined) this.collector.emit(values, new Pending(rec, part, values));
    else this.collector.emit(values);
    // Every intervalRecords records, after the record went out (a watermark
    // sent before it could pass it): work the watermark out, send it if it moved.
    if (time !== null && --this.recordsToWatermark === 0) {
      this.recordsToWatermark = this.eventTime!.intervalRecords;
      this.tickWatermark();
    }
  }

  /** The `eventTime.timestamp` function's time for a record; NaN if it threw or gave no number. */
  private eventTimeOf(rec: ConsumedRecord, values: readonly unknown[]): number {
    try {
      return timeOf(this.timestampOf!(rec, values));
    } catch (err) {
      this.timestampError = err;
      return NaN;
    }
  }

  /** A record whose event time is not a finite number: emitted, counted; the first one of the task is reported. */
  private badTimestamp(rec: ConsumedRecord): void {
    const cause = this.timestampError;
    this.timestampError = undefined;
    if (this.eventTime!.bad !== 1) return;
    const why = cause === undefined ? 'eventTime.timestamp gave no finite number of ms' : `eventTime.timestamp threw: ${cause instanceof Error ? cause.message : String(cause)}`;
    const error = new SquallError(
      {
        code: 'E_KAFKA_BAD_TIMESTAMP',
        component: this.componentId,
        message: `KafkaSpout '${this.componentId}': record ${rec.topic}/${rec.partition}/${rec.offset} has no event time (${why}); it is emitted and does not move the watermark. Later ones are counted in stats().eventTime.badTimestamps, not reported`,
        details: { topic: rec.topic, partition: rec.partition, offset: rec.offset },
      },
      cause !== undefined ? { cause } : undefined,
    );
    this.collector.reportError(error);
  }

  /** Every intervalMs of the topology clock, and every intervalRecords records emitted: work out the task's watermark and send it if it moved. */
  private readonly tickWatermark = (): void => {
    const et = this.eventTime;
    if (et === null || this.closed || !et.tick()) return;
    try {
      this.collector.emitWatermark(et.watermark, et.idle);
    } catch (err) {
      this.collector.reportError(err);
    }
  };

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
    this.stopWatermarks?.();
    this.stopWatermarks = null;
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
    let lag = 0;
    for (const p of list) if (p.owned) lag += p.lag;
    return {
      owned: list.map((p) => ({ topic: p.topic, partition: p.partition })),
      buffered,
      paused,
      ...this.counters,
      lag,
      eventTime: this.eventTimeStats(),
    };
  }

  /** Records at the broker in this task's partitions that it has not emitted yet (the runtime's snapshot reads it). */
  lag(): number {
    let lag = 0;
    for (const p of this.partitions?.list ?? []) if (p.owned) lag += p.lag;
    return lag;
  }

  private eventTimeStats(): KafkaSpoutStats['eventTime'] {
    const et = this.eventTime;
    if (et === null) return null;
    return {
      watermark: et.watermark,
      idle: et.idle,
      partitions: et.partitions.map((p) => ({ topic: p.topic, partition: p.partition, watermark: et.watermarkOf(p), idle: p.idle })),
      held: et.held,
      late: et.late,
      badTimestamps: et.bad,
    };
  }

  // -- the consumer's side (event loop, off the tuple path) ------------------

  private readonly listener: ConsumerListener = {
    onRecords: (topic, partition, records, highWatermark) => this.onRecords(topic, partition, records, highWatermark),
    onRebalancing: () => {
      this.counters.rebalances++;
      // Still the owner: commit what is done before the partitions may move.
      void this.committer.commit();
    },
    onAssigned: (assignment) => this.onAssigned(assignment),
    onCrash: (error) => this.collector.reportError(error),
  };

  private onRecords(topic: string, partition: number, records: ConsumedRecord[], highWatermark?: number): void | Promise<void> {
    const part = this.partitions.get(topic, partition);
    if (part !== undefined && highWatermark !== undefined && Number.isFinite(highWatermark) && highWatermark > part.highWatermark) part.highWatermark = highWatermark;
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
    const dropped = this.partitions.dropAllBut(assignment);
    this.committer.revoked(dropped, consumer);
    const et = this.eventTime;
    if (et !== null) for (const part of dropped) et.remove(part.topic, part.partition);
    const added = this.partitions.own(assignment, consumer);
    const fresh: Part[] = [];
    const restored: Part[] = [];
    for (const part of added) {
      const k = partKey(part.topic, part.partition);
      const r = this.restored.get(k);
      if (r === undefined) {
        // No watermark until its first record: it holds the task's where it is.
        if (et !== null) part.time = et.add(part.topic, part.partition, part);
        fresh.push(part);
        continue;
      }
      // The checkpoint's position wins over the group's committed offset, and its watermark goes with it.
      if (et !== null) part.time = et.add(part.topic, part.partition, part, this.restoredWatermarks.get(k));
      this.restored.delete(k);
      this.restoredWatermarks.delete(k);
      consumer.seek(part.topic, part.partition, r.offset);
      part.next = r.offset;
      part.position = r.offset;
      restored.push(part);
    }
    this.firstPoll.claim(restored);
    this.firstPoll.added(fresh);
    et?.assigned();
  }
}
