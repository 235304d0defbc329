import { SquallError } from '../../errors/index.ts';
import type { Clock } from '../../runtime/index.ts';
import { RetryQueue } from '../../spout/index.ts';
import type { RetryPolicy, SpoutOutputCollector } from '../../spout/index.ts';
import type { ConsumedRecord, KafkaProducerLike } from '../client/index.ts';
import type { OffsetTracker } from '../offset-tracker.ts';
import type { Part } from './partitions.ts';
import type { SpoutCounters } from './stats.ts';

/** A tracked record in flight: the message id the spout emits it with. */
export class Pending {
  /** Failures so far. */
  attempts = 0;
  constructor(
    readonly rec: ConsumedRecord,
    readonly part: Part,
    /** The tuple values; null for a record that could not be deserialized. */
    readonly values: unknown[] | null,
  ) {}
}

/** A dead-letter write that failed is tried again after this long at least. */
const DEAD_LETTER_RETRY_MIN_MS = 100;

/**
 * What becomes of records that fail. A failed record waits in a
 * {@link RetryQueue} (exponential backoff on the topology clock) and is
 * emitted again before new records. Past `maxRetries`, or at once for a
 * record that cannot be deserialized, it is given up on: written to the
 * dead-letter topic, with headers saying where it came from and why (its
 * offset counts as done once the write is acknowledged; a failed write is
 * tried again), or, without one, reported and skipped. Failures of records
 * of a partition this task no longer owns are dropped: the new owner reads
 * them again from the committed offset.
 */
export class Retries {
  private readonly queue: RetryQueue<Pending>;
  /** The dead-letter producer, once connected; undefined after close. */
  dlq: KafkaProducerLike | undefined;

  constructor(
    clock: Clock,
    policy: RetryPolicy,
    where: string,
    private readonly deadLetterTopic: string | undefined,
    private readonly collector: SpoutOutputCollector,
    private readonly tracker: OffsetTracker | undefined,
    private readonly counters: SpoutCounters,
    private readonly isClosed: () => boolean,
  ) {
    this.queue = new RetryQueue(clock, policy, where);
  }

  /**
   * Emit the record whose retry is due first, if one is due. True if this
   * used the call (the record was emitted, or dropped as its partition is
   * no longer owned).
   */
  emitDue(): boolean {
    const p = this.queue.poll();
    if (p === undefined) return false;
    if (p.part.owned && p.values !== null) {
      this.counters.retried++;
      this.collector.emit(p.values, p);
    }
    return true;
  }

  /** The tuple tree of a tracked record failed. */
  fail(p: Pending): void {
    // A partition given up in a rebalance: its new owner reads the record again.
    if (!p.part.owned) return;
    p.attempts++;
    if (this.queue.fail(p, p.attempts)) return;
    const r = p.rec;
    const maxRetries = this.queue.policy.maxRetries;
    this.giveUp(
      p,
      new SquallError({
        code: 'E_KAFKA_GAVE_UP',
        message: `record ${r.topic}/${r.partition}/${r.offset} failed ${p.attempts} times (maxRetries ${maxRetries})${this.fate()}`,
        details: { topic: r.topic, partition: r.partition, offset: r.offset, attempts: p.attempts },
      }),
    );
  }

  /** The deserializer threw for this record: give up on it at once. */
  undeserializable(part: Part, rec: ConsumedRecord, err: unknown): void {
    const e = new SquallError(
      {
        code: 'E_KAFKA_UNDESERIALIZABLE',
        message: `record ${rec.topic}/${rec.partition}/${rec.offset} could not be deserialized: ${(err as Error)?.message ?? String(err)}${this.fate()}`,
        details: { topic: rec.topic, partition: rec.partition, offset: rec.offset },
      },
      { cause: err },
    );
    this.giveUp(new Pending(rec, part, null), e);
  }

  private fate(): string {
    return this.deadLetterTopic !== undefined ? `; sent to ${this.deadLetterTopic}` : '; skipped (set deadLetterTopic to keep such records)';
  }

  /** Dead-letter (once the write is confirmed) or skip a record; either way its offset counts as done. */
  private giveUp(p: Pending, error: SquallError): void {
    const r = p.rec;
    if (this.dlq === undefined || this.deadLetterTopic === undefined) {
      this.collector.reportError(error);
      this.counters.skipped++;
      if (p.part.owned) this.tracker?.skip(r.topic, r.partition, r.offset);
      return;
    }
    const headers: Record<string, Buffer | string> = {};
    const h = r.headers;
    if (h !== null) for (const k in h) if (h[k] !== undefined) headers[k] = h[k]!;
    headers['squall.source'] = `${r.topic}/${r.partition}/${r.offset}`;
    headers['squall.error.code'] = error.code;
    headers['squall.error'] = error.message;
    const topic = this.deadLetterTopic;
    this.dlq.send([{ topic, records: [{ key: r.key, value: r.value, headers }] }]).then(
      () => {
        this.counters.deadLettered++;
        if (p.part.owned) this.tracker?.skip(r.topic, r.partition, r.offset);
      },
      (err: unknown) => {
        // Not written: keep the offset pending and try the dead-letter write again later.
        this.collector.reportError(err);
        if (!this.isClosed() && p.part.owned) {
          setTimeout(() => this.giveUp(p, error), Math.max(this.queue.policy.retryInitialDelayMs, DEAD_LETTER_RETRY_MIN_MS)).unref?.();
        }
      },
    );
  }
}
