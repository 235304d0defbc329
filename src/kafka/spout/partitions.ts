import type { ConsumedRecord, KafkaConsumerLike } from '../client/index.ts';
import type { OffsetTracker, TopicPartition } from '../offset-tracker.ts';
import type { Backlog, PartitionTime } from './event-time.ts';
import type { SpoutCounters } from './stats.ts';

export const partKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** One partition a spout task owns. */
export class Part implements Backlog {
  /** Fetched records not yet emitted: queue[head..]. */
  queue: ConsumedRecord[] = [];
  head = 0;
  /** The next offset expected from Kafka; records below it were seen already (-1: none seen yet). */
  next = -1;
  /** Emitted position, for the `none` guarantee's commits. */
  emittedNext = -1;
  /** The next offset to take from the buffer: every record below it was emitted (or skipped); -1 until one was taken or the partition was sought. The checkpoint position. */
  position = -1;
  committedNext = -1;
  paused = false;
  /** Waiting for the first-poll seek: records that arrive are dropped. */
  holding = false;
  owned = true;
  /** Assigned in the offset tracker (on its first records). */
  tracked = false;
  /** Its event time, when the spout tracks event time. */
  time: PartitionTime | null = null;
  /** The partition's end (the broker's high watermark) as of the last fetch; -1 before one. */
  highWatermark = -1;

  /** Records at the broker this task has not emitted yet: the end less the next to emit (0 before a fetch). */
  get lag(): number {
    if (this.highWatermark < 0) return 0;
    const from = this.next >= 0 ? this.next - this.buffered : this.position;
    return from < 0 ? 0 : Math.max(0, this.highWatermark - from);
  }
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get buffered(): number {
    return this.queue.length - this.head;
  }

  /** Records waiting to be emitted, or none can come now (paused, or waiting for its first-poll seek): not idle. */
  get backlogged(): boolean {
    return this.head < this.queue.length || this.paused || this.holding;
  }

  /** The first buffered record, taken off the queue; the caller checked there is one. */
  shift(): ConsumedRecord {
    const rec = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as ConsumedRecord;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return rec;
  }
}

/**
 * The partitions one spout task owns, their fetched records waiting to be
 * emitted, and pausing: a partition is paused when it has
 * `maxBufferedPerPartition` records waiting, or as many offsets not committed
 * as the offset tracker allows (counting the fetched ones); it resumes once
 * both drain (the buffer to half). The member keeps heartbeating while paused.
 */
export class Partitions {
  private readonly byKey = new Map<string, Part>();
  /** The owned partitions, in the order nextTuple visits them. */
  list: Part[] = [];
  private cursor = 0;

  constructor(
    private readonly consumer: () => KafkaConsumerLike | undefined,
    private readonly maxBuffered: number,
    private readonly tracker: OffsetTracker | undefined,
    private readonly counters: SpoutCounters,
  ) {}

  get(topic: string, partition: number): Part | undefined {
    return this.byKey.get(partKey(topic, partition));
  }

  /** Whether the partition is owned now. */
  owns(topic: string, partition: number): boolean {
    return this.byKey.get(partKey(topic, partition))?.owned === true;
  }

  /** The next partition, round robin, with a record to emit; undefined when none has one. */
  nextReady(): Part | undefined {
    const list = this.list;
    const n = list.length;
    for (let k = 0; k < n; k++) {
      if (this.cursor >= n) this.cursor = 0;
      const part = list[this.cursor++]!;
      if (part.head < part.queue.length) return part;
    }
    return undefined;
  }

  /** Fetched records, in offset order, to be emitted; pauses the partition if that fills it. */
  enqueue(part: Part, records: ConsumedRecord[]): void {
    if (part.head === part.queue.length) {
      part.queue = records;
      part.head = 0;
    } else {
      for (let i = 0; i < records.length; i++) part.queue.push(records[i]!);
    }
    const b = part.buffered;
    if (b > this.counters.maxBufferedSeen) this.counters.maxBufferedSeen = b;
    // Checked here, as records arrive, so a fast fetch loop stops within one fetch.
    if (!part.paused && this.full(part)) this.setPaused(part, true);
  }

  /**
   * Too much waiting on this partition: fetched records not yet emitted, or
   * offsets not committed, counting fetched ones (they will be emitted).
   */
  private full(part: Part): boolean {
    const b = part.buffered;
    if (b >= this.maxBuffered) return true;
    return this.tracker !== undefined && this.tracker.shouldPause(part.topic, part.partition, b);
  }

  /** Pause partitions with too much buffered or uncommitted; resume them once both drain. Called on a short period. */
  reconcilePauses(): void {
    for (const part of this.list) {
      if (part.holding) continue;
      const full = this.full(part);
      if (!part.paused && full) this.setPaused(part, true);
      else if (part.paused && !full && part.buffered <= this.maxBuffered / 2) this.setPaused(part, false);
    }
  }

  private setPaused(part: Part, paused: boolean): void {
    part.paused = paused;
    if (paused) {
      this.counters.pauses++;
      this.consumer()?.pause([part]);
    } else {
      this.counters.resumes++;
      this.consumer()?.resume([part]);
    }
  }

  /**
   * A rebalance ended and the member owns `assignment`: drop every partition
   * not in it (marked not owned, so late acks and failures for it are
   * ignored) and return them.
   */
  dropAllBut(assignment: readonly TopicPartition[]): Part[] {
    const now = new Set<string>();
    for (const tp of assignment) now.add(partKey(tp.topic, tp.partition));
    const dropped: Part[] = [];
    for (const [k, part] of this.byKey) {
      if (now.has(k)) continue;
      part.owned = false;
      this.byKey.delete(k);
      dropped.push(part);
    }
    return dropped;
  }

  /**
   * Own `assignment`: partitions kept go on where they were (kafkajs reads a
   * kept partition again from its committed offset, so seek it back, and
   * pause it again if it was); returns the new ones.
   */
  own(assignment: readonly TopicPartition[], consumer: KafkaConsumerLike): Part[] {
    const added: Part[] = [];
    for (const tp of assignment) {
      const k = partKey(tp.topic, tp.partition);
      const kept = this.byKey.get(k);
      if (kept !== undefined) {
        if (kept.next >= 0) consumer.seek(kept.topic, kept.partition, kept.next);
        if (kept.paused) consumer.pause([tp]);
        continue;
      }
      const part = new Part(tp.topic, tp.partition);
      this.byKey.set(k, part);
      added.push(part);
    }
    this.list = [...this.byKey.values()];
    return added;
  }
}
