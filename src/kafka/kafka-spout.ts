import { SquallError } from '../errors/index.ts';
import type { Spout, SpoutOutputCollector } from '../spout/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { Clock } from '../runtime/index.ts';
import { createKafkaClient } from './client.ts';
import type {
  ConsumedRecord,
  ConsumerListener,
  KafkaClient,
  KafkaClientOptions,
  KafkaConsumerLike,
  KafkaProducerLike,
  PartitionCommit,
} from './client.ts';
import { badConfig, brokersOf, optString, positiveInt } from './config.ts';
import { stringRecords } from './deserializers.ts';
import type { RecordDeserializer } from './deserializers.ts';
import { OffsetTracker } from './offset-tracker.ts';
import type { TopicPartition } from './offset-tracker.ts';

/**
 * - `at-least-once` (default): every record is tracked; an offset is
 *   committed once it and every offset before it are acked (or dead-lettered
 *   or skipped); failed records are retried.
 * - `at-most-once`: each fetched batch is committed before any of it is
 *   emitted; nothing is tracked or retried; a crash loses what was fetched
 *   and not yet processed.
 * - `none`: nothing is tracked; the read position is committed on the
 *   commit period, whatever became of the records.
 */
export type KafkaGuarantee = 'at-least-once' | 'at-most-once' | 'none';

/**
 * Where this run starts reading a partition:
 * - `committed-or-earliest` (default) / `committed-or-latest`: from the
 *   group's committed offset; with none, from the first / the next record.
 * - `earliest` / `latest`: from the first / the next record, ignoring
 *   offsets that earlier runs committed. Offsets this run commits are
 *   honoured, so a partition that moves between this run's tasks (or
 *   threads) continues where it was. Other processes are other runs: with
 *   several processes in one group, use a committed strategy.
 */
export type FirstPoll = 'committed-or-earliest' | 'committed-or-latest' | 'earliest' | 'latest';

export interface KafkaRetryOptions {
  /** Delay before the first retry (default 100 ms, topology clock). */
  initialDelayMs?: number;
  /** Each further retry waits this much longer (default 2). */
  multiplier?: number;
  /** Cap on the delay (default 10000 ms). */
  maxDelayMs?: number;
  /** Retries before giving up on a record (default Infinity: never). */
  maxRetries?: number;
}

export interface KafkaSpoutOptions {
  /** Topic names or patterns (matched once, at start); else config `kafka.topics` (a list or comma-separated). */
  topics?: readonly (string | RegExp)[];
  /** Else config `kafka.brokers`. */
  brokers?: readonly string[];
  /** Else config `kafka.clientId`, else 'squall-<topology>-<component>'. */
  clientId?: string;
  /** Other client settings (ssl, sasl, timeouts, retry, logLevel). */
  client?: Partial<KafkaClientOptions>;
  /** Consumer group; else config `kafka.groupId`, else 'squall-<topology>'. All tasks of the spout join it. */
  groupId?: string;
  /** Record -> tuple values (default {@link stringRecords}). */
  deserializer?: RecordDeserializer;
  /** Default 'at-least-once' (config `kafka.guarantee`). */
  guarantee?: KafkaGuarantee;
  /** Default 'committed-or-earliest' (config `kafka.firstPoll`). */
  firstPoll?: FirstPoll;
  /** Commit period in ms, real time (default 1000, config `kafka.commitIntervalMs`). */
  commitIntervalMs?: number;
  /** Pause a partition with this many emitted offsets not yet committed (default 100000). */
  maxUncommittedPerPartition?: number;
  /** Pause a partition with this many fetched records not yet emitted (default 5000); resume at half. */
  maxBufferedPerPartition?: number;
  retry?: KafkaRetryOptions;
  /** Where records go when retries run out or they cannot be deserialized (config `kafka.deadLetterTopic`). Without it they are reported and skipped. */
  deadLetterTopic?: string;
  /** Consumer session timeout (default 30000; config `kafka.sessionTimeoutMs`). */
  sessionTimeoutMs?: number;
  /** Default a third of the session timeout, at most 3000. */
  heartbeatIntervalMs?: number;
  /**
   * Longest fetch wait (default 100; config `kafka.maxWaitTimeMs`). Also how
   * long kafkajs sleeps when every owned partition is paused, so it bounds
   * how soon a resumed partition is fetched again.
   */
  maxWaitTimeMs?: number;
  /** Bytes per partition per fetch (default 1 MiB). */
  maxBytesPerPartition?: number;
  /** Called after each successful commit, with what was committed. */
  onCommit?: (commits: readonly PartitionCommit[]) => void;
  /** Replace kafkajs: build the client from the resolved options. */
  createClient?: (options: KafkaClientOptions) => KafkaClient;
}

/** What one KafkaSpout task has done; for tests, dashboards and the curious. */
export interface KafkaSpoutStats {
  /** Partitions owned now. */
  owned: TopicPartition[];
  /** Fetched records not yet emitted, over all owned partitions. */
  buffered: number;
  /** The most ever buffered for one partition. */
  maxBufferedSeen: number;
  /** Partitions paused now. */
  paused: number;
  pauses: number;
  resumes: number;
  emitted: number;
  acked: number;
  retried: number;
  deadLettered: number;
  skipped: number;
  commits: number;
  commitFailures: number;
  /** Rebalances this member saw begin. */
  rebalances: number;
  /** Times this member (re)joined the group and got an assignment. */
  joins: number;
}

/** One partition this task owns. */
class Part {
  /** Fetched records not yet emitted: queue[head..]. */
  queue: ConsumedRecord[] = [];
  head = 0;
  /** The next offset expected from Kafka; records below it were seen already (-1: none seen yet). */
  next = -1;
  /** Emitted position, for the `none` guarantee's commits. */
  emittedNext = -1;
  committedNext = -1;
  paused = false;
  /** Waiting for the first-poll seek: records that arrive are dropped. */
  holding = false;
  owned = true;
  /** Assigned in the offset tracker (on its first records). */
  tracked = false;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
  get buffered(): number {
    return this.queue.length - this.head;
  }
}

/** A tracked record in flight: the message id the spout emits with. */
class Pending {
  attempts = 0;
  due = 0;
  constructor(
    readonly rec: ConsumedRecord,
    readonly part: Part,
    readonly values: unknown[] | null,
  ) {}
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

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
 */
export class KafkaSpout implements Spout {
  private collector!: SpoutOutputCollector;
  private clock!: Clock;
  private consumer: KafkaConsumerLike | undefined;
  private dlq: KafkaProducerLike | undefined;
  private tracker: OffsetTracker | undefined;
  private deserializer: RecordDeserializer;
  private guarantee: KafkaGuarantee = 'at-least-once';
  private firstPoll: FirstPoll = 'committed-or-earliest';
  private maxBuffered = 5000;
  private retryInitial = 100;
  private retryMultiplier = 2;
  private retryMax = 10_000;
  private maxRetries = Number.POSITIVE_INFINITY;
  private deadLetterTopic: string | undefined;
  private groupId = '';
  /** Commit metadata: which run committed an offset (first-poll strategies read it). */
  private marker = '';

  private readonly parts = new Map<string, Part>();
  private list: Part[] = [];
  private cursor = 0;
  private readonly everAssigned = new Set<string>();
  private readonly retries = new RetryHeap();
  /** Commits that failed, to try again with the next one (key -> commit). */
  private readonly failedCommits = new Map<string, PartitionCommit>();
  private committing: Promise<void> | null = null;
  private commitAgain = false;
  private timers: ReturnType<typeof setInterval>[] = [];
  private closed = false;

  private readonly counters = {
    maxBufferedSeen: 0,
    pauses: 0,
    resumes: 0,
    emitted: 0,
    acked: 0,
    retried: 0,
    deadLettered: 0,
    skipped: 0,
    commits: 0,
    commitFailures: 0,
    rebalances: 0,
    joins: 0,
  };

  constructor(private readonly options: KafkaSpoutOptions = {}) {
    this.deserializer = options.deserializer ?? stringRecords;
  }

  declareOutputFields(declarer: OutputDeclarer): void {
    declarer.declare(this.deserializer.fields);
  }

  async open(context: TopologyContext, collector: SpoutOutputCollector): Promise<void> {
    this.collector = collector;
    this.clock = context.clock;
    const o = this.options;
    const c = context.config;
    const where = `KafkaSpout '${context.componentId}'`;

    const topics = o.topics ?? brokersOf(c['kafka.topics']);
    if (topics === undefined || topics.length === 0) {
      throw badConfig(where, 'topics', c['kafka.topics'], "a list of topics or patterns: set options.topics or config 'kafka.topics'");
    }
    const brokers = o.brokers ?? brokersOf(c['kafka.brokers']);
    if (brokers === undefined) throw badConfig(where, 'brokers', c['kafka.brokers'], "a list of 'host:port': set options.brokers or config 'kafka.brokers'");
    const clientId = o.clientId ?? optString(c, 'kafka.clientId', where) ?? `squall-${context.topologyName}-${context.componentId}`;
    this.groupId = o.groupId ?? optString(c, 'kafka.groupId', where) ?? `squall-${context.topologyName}`;
    this.guarantee = oneOf(o.guarantee ?? c['kafka.guarantee'] ?? 'at-least-once', ['at-least-once', 'at-most-once', 'none'], 'guarantee', where);
    this.firstPoll = oneOf(
      o.firstPoll ?? c['kafka.firstPoll'] ?? 'committed-or-earliest',
      ['committed-or-earliest', 'committed-or-latest', 'earliest', 'latest'],
      'firstPoll',
      where,
    );
    const commitIntervalMs = positiveInt(o.commitIntervalMs ?? c['kafka.commitIntervalMs'] ?? 1000, 'commitIntervalMs', where);
    const maxUncommitted = positiveInt(o.maxUncommittedPerPartition ?? c['kafka.maxUncommittedPerPartition'] ?? 100_000, 'maxUncommittedPerPartition', where);
    this.maxBuffered = positiveInt(o.maxBufferedPerPartition ?? c['kafka.maxBufferedPerPartition'] ?? 5000, 'maxBufferedPerPartition', where);
    const r = o.retry ?? {};
    this.retryInitial = nonNegative(r.initialDelayMs ?? 100, 'retry.initialDelayMs', where);
    this.retryMultiplier = nonNegative(r.multiplier ?? 2, 'retry.multiplier', where);
    this.retryMax = nonNegative(r.maxDelayMs ?? 10_000, 'retry.maxDelayMs', where);
    this.maxRetries = nonNegative(r.maxRetries ?? c['kafka.maxRetries'] ?? Number.POSITIVE_INFINITY, 'retry.maxRetries', where);
    this.deadLetterTopic = o.deadLetterTopic ?? optString(c, 'kafka.deadLetterTopic', where);
    const sessionTimeoutMs = positiveInt(o.sessionTimeoutMs ?? c['kafka.sessionTimeoutMs'] ?? 30_000, 'sessionTimeoutMs', where);
    const heartbeatIntervalMs = positiveInt(
      o.heartbeatIntervalMs ?? c['kafka.heartbeatIntervalMs'] ?? Math.min(3000, Math.floor(sessionTimeoutMs / 3)),
      'heartbeatIntervalMs',
      where,
    );
    const maxWaitTimeMs = positiveInt(o.maxWaitTimeMs ?? c['kafka.maxWaitTimeMs'] ?? 100, 'maxWaitTimeMs', where);
    this.marker = `squall:${context.topologyName}:${context.runId}`;
    if (this.guarantee === 'at-least-once') this.tracker = new OffsetTracker({ maxUncommittedPerPartition: maxUncommitted });

    const client = (o.createClient ?? createKafkaClient)({ ...o.client, brokers, clientId });
    if (this.deadLetterTopic !== undefined) {
      const dlq = client.producer();
      await dlq.connect();
      this.dlq = dlq;
    }
    const consumer = client.consumer({
      groupId: this.groupId,
      fromBeginning: this.firstPoll !== 'committed-or-latest' && this.firstPoll !== 'latest',
      sessionTimeoutMs,
      heartbeatIntervalMs,
      maxWaitTimeMs,
      ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe(topics);
    this.timers.push(setInterval(() => this.reconcilePauses(), 20));
    if (this.guarantee !== 'at-most-once') this.timers.push(setInterval(() => void this.commit(), commitIntervalMs));
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
    if (this.retries.size > 0 && this.retries.peekDue() <= this.clock.now()) {
      const p = this.retries.pop();
      if (p.part.owned && p.values !== null) {
        this.counters.retried++;
        this.collector.emit(p.values, p);
      }
      return;
    }
    const list = this.list;
    const n = list.length;
    for (let k = 0; k < n; k++) {
      if (this.cursor >= n) this.cursor = 0;
      const part = list[this.cursor++]!;
      if (part.head < part.queue.length) {
        const rec = part.queue[part.head]!;
        part.queue[part.head++] = undefined as unknown as ConsumedRecord;
        if (part.head === part.queue.length) {
          part.queue = [];
          part.head = 0;
        }
        this.emitRecord(part, rec);
        return;
      }
    }
  }

  private emitRecord(part: Part, rec: ConsumedRecord): void {
    const tracker = this.tracker;
    if (tracker !== undefined && !tracker.emitted(rec.topic, rec.partition, rec.offset)) return;
    let values: unknown[];
    try {
      values = this.deserializer.deserialize(rec);
    } catch (err) {
      const e = new SquallError(
        {
          code: 'E_KAFKA_UNDESERIALIZABLE',
          message: `record ${rec.topic}/${rec.partition}/${rec.offset} could not be deserialized: ${(err as Error)?.message ?? String(err)}${this.deadLetterTopic !== undefined ? `; sent to ${this.deadLetterTopic}` : '; skipped (set deadLetterTopic to keep such records)'}`,
          details: { topic: rec.topic, partition: rec.partition, offset: rec.offset },
        },
        { cause: err },
      );
      this.giveUp(new Pending(rec, part, null), e);
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
    const p = msgId as Pending;
    // A partition given up in a rebalance: its new owner reads the record again.
    if (!p.part.owned) return;
    p.attempts++;
    if (p.attempts > this.maxRetries) {
      const r = p.rec;
      this.giveUp(
        p,
        new SquallError({
          code: 'E_KAFKA_GAVE_UP',
          message: `record ${r.topic}/${r.partition}/${r.offset} failed ${p.attempts} times (maxRetries ${this.maxRetries})${this.deadLetterTopic !== undefined ? `; sent to ${this.deadLetterTopic}` : '; skipped (set deadLetterTopic to keep such records)'}`,
          details: { topic: r.topic, partition: r.partition, offset: r.offset, attempts: p.attempts },
        }),
      );
      return;
    }
    const delay = Math.min(this.retryMax, this.retryInitial * this.retryMultiplier ** (p.attempts - 1));
    p.due = this.clock.now() + delay;
    this.retries.push(p);
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
        if (!this.closed && p.part.owned) setTimeout(() => this.giveUp(p, error), Math.max(this.retryInitial, 100)).unref?.();
      },
    );
  }

  // -- lifecycle ------------------------------------------------------------

  deactivate(): void {
    void this.commit();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.commit();
    const consumer = this.consumer;
    this.consumer = undefined;
    const dlq = this.dlq;
    this.dlq = undefined;
    try {
      if (consumer !== undefined) await consumer.disconnect();
    } finally {
      if (dlq !== undefined) await dlq.disconnect();
    }
  }

  stats(): KafkaSpoutStats {
    let buffered = 0;
    let paused = 0;
    for (const p of this.list) {
      buffered += p.buffered;
      if (p.paused) paused++;
    }
    return {
      owned: this.list.map((p) => ({ topic: p.topic, partition: p.partition })),
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
      void this.commit();
    },
    onAssigned: (assignment) => this.onAssigned(assignment),
    onCrash: (error) => this.collector.reportError(error),
  };

  private onRecords(topic: string, partition: number, records: ConsumedRecord[]): void | Promise<void> {
    const part = this.parts.get(key(topic, partition));
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
      return this.consumer!.commit([{ topic, partition, offset: last + 1, metadata: this.marker }]).then(
        () => {
          this.counters.commits++;
          if (part.owned && last >= part.next) {
            part.next = last + 1;
            this.enqueue(part, fresh);
          }
        },
        (err: unknown) => {
          this.counters.commitFailures++;
          this.collector.reportError(err);
          // Read it again: nothing of it was emitted.
          if (part.owned && part.next >= 0) this.consumer?.seek(topic, partition, part.next);
        },
      );
    }
    part.next = last + 1;
    this.enqueue(part, fresh);
  }

  private enqueue(part: Part, records: ConsumedRecord[]): void {
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

  private onAssigned(assignment: TopicPartition[]): void {
    const consumer = this.consumer;
    if (consumer === undefined) return;
    this.counters.joins++;
    const now = new Set<string>();
    for (const tp of assignment) now.add(key(tp.topic, tp.partition));
    const lateCommits: PartitionCommit[] = [];
    for (const [k, part] of this.parts) {
      if (now.has(k)) continue;
      // Revoked. Its offsets were committed when the rebalance began; commit
      // anything done since: an offset is only ever committed once everything
      // before it is done, so this cannot lose a record (at worst the new
      // owner repeats some).
      part.owned = false;
      this.parts.delete(k);
      this.failedCommits.delete(k);
      const off = this.tracker?.revoke(part.topic, part.partition) ?? null;
      if (off !== null) lateCommits.push({ topic: part.topic, partition: part.partition, offset: off, metadata: this.marker });
    }
    if (lateCommits.length > 0) consumer.commit(lateCommits).catch(() => {});
    const fresh: Part[] = [];
    for (const tp of assignment) {
      const k = key(tp.topic, tp.partition);
      const kept = this.parts.get(k);
      if (kept !== undefined) {
        // kafkajs reads a kept partition again from its committed offset: go on from where we are.
        if (kept.next >= 0) consumer.seek(kept.topic, kept.partition, kept.next);
        if (kept.paused) consumer.pause([tp]);
        continue;
      }
      const part = new Part(tp.topic, tp.partition);
      this.parts.set(k, part);
      if (!this.everAssigned.has(k) && (this.firstPoll === 'earliest' || this.firstPoll === 'latest')) fresh.push(part);
      this.everAssigned.add(k);
    }
    this.list = [...this.parts.values()];
    if (fresh.length > 0) this.applyFirstPoll(fresh);
  }

  /** `earliest`/`latest`: hold the partitions, and seek them unless this run committed them. */
  private applyFirstPoll(parts: Part[]): void {
    const consumer = this.consumer!;
    for (const p of parts) p.holding = true;
    consumer.pause(parts);
    const topics = [...new Set(parts.map((p) => p.topic))];
    const release = (p: Part) => {
      p.holding = false;
      if (p.owned && !p.paused) consumer.resume([p]);
    };
    void Promise.all(
      topics.map(async (topic) => {
        const [committed, bounds] = await Promise.all([consumer.committed(topic), consumer.bounds(topic)]);
        for (const p of parts) {
          if (p.topic !== topic || !p.owned) continue;
          const c = committed.find((x) => x.partition === p.partition);
          const b = bounds.find((x) => x.partition === p.partition);
          // This run's own commit wins; else the strategy's end of the partition.
          const target =
            c !== undefined && c.offset >= 0 && c.metadata === this.marker ? c.offset : b === undefined ? -1 : this.firstPoll === 'earliest' ? b.low : b.high;
          // Seek either way: records that arrived while held were dropped,
          // and kafkajs has moved its position past them.
          if (target >= 0) {
            consumer.seek(p.topic, p.partition, target);
            p.next = target;
          }
          release(p);
        }
      }),
    ).catch((err: unknown) => {
      // Could not look: keep the partitions held (paused) and look again.
      if (this.closed) return;
      this.collector.reportError(err);
      const still = parts.filter((p) => p.owned && p.holding);
      if (still.length > 0) setTimeout(() => !this.closed && this.applyFirstPoll(still.filter((p) => p.owned)), 1000).unref?.();
    });
  }

  /** Pause partitions with too much buffered or uncommitted; resume them once both drain. */
  private reconcilePauses(): void {
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
      this.consumer?.pause([part]);
    } else {
      this.counters.resumes++;
      this.consumer?.resume([part]);
    }
  }

  /** Commit what may be committed now; one commit in flight at a time. Never rejects. */
  private commit(): Promise<void> {
    if (this.committing !== null) {
      this.commitAgain = true;
      return this.committing;
    }
    const run = async (): Promise<void> => {
      do {
        this.commitAgain = false;
        await this.commitOnce();
      } while (this.commitAgain);
    };
    this.committing = run().finally(() => {
      this.committing = null;
    });
    return this.committing;
  }

  private async commitOnce(): Promise<void> {
    const consumer = this.consumer;
    if (consumer === undefined) return;
    const byKey = new Map<string, PartitionCommit>(this.failedCommits);
    this.failedCommits.clear();
    if (this.tracker !== undefined) {
      for (const c of this.tracker.commitable()) byKey.set(key(c.topic, c.partition), { ...c, metadata: this.marker });
    } else if (this.guarantee === 'none') {
      for (const p of this.list) {
        if (p.emittedNext > p.committedNext) {
          byKey.set(key(p.topic, p.partition), { topic: p.topic, partition: p.partition, offset: p.emittedNext, metadata: this.marker });
          p.committedNext = p.emittedNext;
        }
      }
    }
    const commits = [...byKey.values()].filter((c) => this.parts.get(key(c.topic, c.partition))?.owned === true);
    if (commits.length === 0) return;
    try {
      await consumer.commit(commits);
      this.counters.commits++;
      this.options.onCommit?.(commits);
    } catch (err) {
      this.counters.commitFailures++;
      // Kept to try again with the next commit (a later one for the partition supersedes it).
      for (const c of commits) {
        const k = key(c.topic, c.partition);
        if (this.parts.get(k)?.owned === true) this.failedCommits.set(k, c);
      }
      if (!this.closed) this.collector.reportError(err);
    }
  }
}

/** Failed records waiting for their retry, earliest due first (a binary heap). */
class RetryHeap {
  private readonly items: Pending[] = [];
  get size(): number {
    return this.items.length;
  }
  peekDue(): number {
    return this.items[0]!.due;
  }
  push(p: Pending): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (a[up]!.due <= p.due) break;
      a[i] = a[up]!;
      i = up;
    }
    a[i] = p;
  }
  pop(): Pending {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]!.due < a[l]!.due ? r : l;
        if (a[c]!.due >= last.due) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string, where: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw badConfig(where, name, v, `one of ${allowed.join(', ')}`);
  return v as T;
}

function nonNegative(v: unknown, name: string, where: string): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw badConfig(where, name, v, 'a number, at least 0');
  return v;
}

