import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer, SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { SquallError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import type { TopicPartition } from './offset-tracker.ts';

/**
 * Kafka behind a small client interface: squall's Kafka components talk to
 * `KafkaClient`, never to kafkajs, so another client library can replace
 * kafkajs by implementing these few methods. `createKafkaClient` is the
 * kafkajs implementation. Every error it raises is a SquallError with code
 * `E_KAFKA` (see {@link kafkaError}).
 */

/** How to reach the cluster. `ssl` and `sasl` are passed to kafkajs unchanged. */
export interface KafkaClientOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** Default 'squall'. */
  clientId?: string;
  ssl?: boolean | ConnectionOptions;
  sasl?: SASLOptions;
  /** Time to open a TCP connection to a broker (kafkajs default 1000). */
  connectionTimeoutMs?: number;
  /** Time to wait for the answer to a request (kafkajs default 30000). */
  requestTimeoutMs?: number;
  /**
   * kafkajs's retries of a failed request before the call rejects (kafkajs
   * default: 5 retries from 300 ms, doubling: about 10 s for a topic that
   * does not exist).
   */
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
  /** kafkajs's own log: 'nothing' (default), 'error', 'warn', 'info', 'debug'. */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
}

/** One record to write. Strings are written as UTF-8; null value is a tombstone. */
export interface ProducerRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string>;
  /** Explicit partition; without it the client's partitioner picks one from the key. */
  partition?: number;
}

export interface TopicRecords {
  topic: string;
  records: readonly ProducerRecord[];
}

export interface ProducerOptions {
  /**
   * Idempotent producer: the broker drops duplicates of a retried request, so
   * kafkajs's own retries write each record once, in order. Forces one
   * request in flight per broker connection. Default false.
   */
  idempotent?: boolean;
  /** How long the broker may wait for the in-sync replicas per send (default 30000). */
  ackTimeoutMs?: number;
}

/**
 * A producer that writes with acks = all (-1): `send` resolves once every
 * record of the call is acknowledged by all in-sync replicas, and rejects
 * with an `E_KAFKA` SquallError otherwise (some records may then have been
 * written: at-least-once).
 */
export interface KafkaProducerLike {
  connect(): Promise<void>;
  send(batch: readonly TopicRecords[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  /** Default: the broker's num.partitions. */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
}

export interface KafkaAdminLike {
  connect(): Promise<void>;
  /** Create topics and wait for their leaders; true if all were created, false if some existed. */
  createTopics(topics: readonly TopicSpec[]): Promise<boolean>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  producer(options?: ProducerOptions): KafkaProducerLike;
  admin(): KafkaAdminLike;
  consumer(options: ConsumerOptions): KafkaConsumerLike;
}

/** How a group member reads. Unset fields take the client library's defaults. */
export interface ConsumerOptions {
  groupId: string;
  /** The broker drops a member it has not heard from for this long (kafkajs default 30000; broker minimum 6000). */
  sessionTimeoutMs?: number;
  /** Heartbeat period, about a third of the session timeout (default 3000). */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin (default 60000). */
  rebalanceTimeoutMs?: number;
  /**
   * The longest a fetch waits for data (default 100 here; kafkajs's 5000).
   * kafkajs heartbeats between fetches, so this also bounds how late a
   * member notices a rebalance.
   */
  maxWaitTimeMs?: number;
  /** Bytes per partition per fetch (default 1 MiB). */
  maxBytesPerPartition?: number;
  /** Where a partition with no committed offset starts: true earliest, false latest. */
  fromBeginning: boolean;
}

/** One record as read. Offsets and timestamps are numbers (see parseOffset). */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Milliseconds since the epoch (create or log-append time, as the topic says). */
  readonly timestamp: number;
  /** Null when the record has none. */
  readonly headers: Readonly<Record<string, Buffer | string | undefined>> | null;
}

/** What a consumer tells its user. Called on the consumer's own schedule, never re-entrantly. */
export interface ConsumerListener {
  /** Records of one partition, in offset order; the next fetch of that partition waits for the promise. */
  onRecords(topic: string, partition: number, records: ConsumedRecord[]): void | Promise<void>;
  /** A rebalance began: the member still owns its partitions and may commit now. */
  onRebalancing(): void;
  /** The member (re)joined the group and owns exactly these partitions now. */
  onAssigned(assignment: TopicPartition[]): void;
  /** The consumer stopped for good (its retries spent); the error says why. */
  onCrash(error: SquallError): void;
}

export interface PartitionCommit {
  topic: string;
  partition: number;
  /** The next offset to read, Kafka style. */
  offset: number;
  metadata?: string | null;
}

export interface CommittedOffset {
  partition: number;
  /** -1 when the group has committed nothing for the partition. */
  offset: number;
  metadata: string | null;
}

/** A group member: subscribe, run, pause/resume/seek partitions, commit. */
export interface KafkaConsumerLike {
  connect(): Promise<void>;
  /** Topic names, or patterns matched against the topics that exist when it is called. */
  subscribe(topics: readonly (string | RegExp)[]): Promise<void>;
  /** Join the group and start fetching; resolves once started. */
  run(listener: ConsumerListener): Promise<void>;
  /** Stop fetching these partitions (the member stays in the group, heartbeating). */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** The next fetch of an owned partition starts at `offset`. */
  seek(topic: string, partition: number, offset: number): void;
  /** Commit offsets under the member's current generation; rejects with E_KAFKA. */
  commit(offsets: readonly PartitionCommit[]): Promise<void>;
  /** The group's committed offsets (and their metadata) for a topic. */
  committed(topic: string): Promise<CommittedOffset[]>;
  /** The first and the next-to-be-written offset of each partition of a topic. */
  bounds(topic: string): Promise<{ partition: number; low: number; high: number }[]>;
  /** Leave the group and close the connections. */
  disconnect(): Promise<void>;
}


/** Every Kafka failure carries this code; `details` says what kind it is (see kafkaError). */
export const KAFKA_ERROR_CODE: ErrorCode = 'E_KAFKA';

const LOG_LEVELS = { nothing: 0, error: 1, warn: 2, info: 4, debug: 5 } as const;

/** The kafkajs implementation of {@link KafkaClient}. Validates the options, connects nothing yet. */
export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  const brokers: unknown = (options as Partial<KafkaClientOptions> | undefined)?.brokers;
  if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every((b) => typeof b === 'string' && b !== '')) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `Kafka options.brokers is ${JSON.stringify(brokers) ?? String(brokers)}; it must be a non-empty list of 'host:port' strings`,
      details: { key: 'brokers', value: brokers },
    });
  }
  const level = options.logLevel ?? 'nothing';
  if (!(level in LOG_LEVELS)) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `Kafka options.logLevel is ${JSON.stringify(level)}; it must be one of ${Object.keys(LOG_LEVELS).join(', ')}`,
      details: { key: 'logLevel', value: level },
    });
  }
  const r = options.retry;
  const kafka = new kafkajs.Kafka({
    clientId: options.clientId ?? 'squall',
    brokers: [...(brokers as string[])],
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
    ...(options.connectionTimeoutMs !== undefined ? { connectionTimeout: options.connectionTimeoutMs } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeout: options.requestTimeoutMs } : {}),
    ...(r !== undefined
      ? {
          retry: {
            ...(r.retries !== undefined ? { retries: r.retries } : {}),
            ...(r.initialRetryTimeMs !== undefined ? { initialRetryTime: r.initialRetryTimeMs } : {}),
            ...(r.maxRetryTimeMs !== undefined ? { maxRetryTime: r.maxRetryTimeMs } : {}),
          },
        }
      : {}),
    logLevel: LOG_LEVELS[level],
  });
  return {
    producer: (o) => new KafkajsProducer(kafka, o ?? {}, r?.retries),
    admin: () => new KafkajsAdmin(kafka.admin()),
    consumer: (o) => new KafkajsConsumer(kafka, o),
  };
}

class KafkajsProducer implements KafkaProducerLike {
  private readonly producer: Producer;
  private readonly ackTimeoutMs: number;

  constructor(kafka: Kafka, options: ProducerOptions, retries: number | undefined) {
    const idempotent = options.idempotent ?? false;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.producer = kafka.producer({
      // Topics are created on purpose, never by a typo in a topic name.
      allowAutoTopicCreation: false,
      idempotent,
      // kafkajs requires one request in flight for its idempotent sequence
      // numbers to keep order across retries.
      ...(idempotent ? { maxInFlightRequests: 1 } : {}),
      // An idempotent kafkajs producer otherwise retries forever.
      ...(idempotent && retries !== undefined ? { retry: { retries } } : {}),
    });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (err) {
      throw kafkaError(err, 'connect the producer');
    }
  }

  async send(batch: readonly TopicRecords[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.producer.sendBatch({
        acks: -1,
        timeout: this.ackTimeoutMs,
        topicMessages: batch.map((t) => ({ topic: t.topic, messages: t.records.map(toMessage) })),
      });
    } catch (err) {
      const topics = [...new Set(batch.map((t) => t.topic))];
      throw kafkaError(err, `write ${batch.reduce((n, t) => n + t.records.length, 0)} records`, topics.length === 1 ? topics[0] : topics.join(','));
    }
  }

  async disconnect(): Promise<void> {
    try {
      await this.producer.disconnect();
    } catch (err) {
      throw kafkaError(err, 'disconnect the producer');
    }
  }
}

function toMessage(r: ProducerRecord) {
  return {
    key: r.key ?? null,
    value: r.value,
    ...(r.headers !== undefined ? { headers: r.headers } : {}),
    ...(r.partition !== undefined ? { partition: r.partition } : {}),
  };
}

class KafkajsAdmin implements KafkaAdminLike {
  constructor(private readonly admin: Admin) {}

  async connect(): Promise<void> {
    try {
      await this.admin.connect();
    } catch (err) {
      throw kafkaError(err, 'connect the admin client');
    }
  }

  async createTopics(topics: readonly TopicSpec[]): Promise<boolean> {
    try {
      return await this.admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          ...(t.numPartitions !== undefined ? { numPartitions: t.numPartitions } : {}),
          ...(t.replicationFactor !== undefined ? { replicationFactor: t.replicationFactor } : {}),
        })),
      });
    } catch (err) {
      throw kafkaError(err, 'create topics', topics.map((t) => t.topic).join(','));
    }
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    try {
      await this.admin.deleteTopics({ topics: [...topics] });
    } catch (err) {
      throw kafkaError(err, 'delete topics', topics.join(','));
    }
  }

  async disconnect(): Promise<void> {
    try {
      await this.admin.disconnect();
    } catch (err) {
      throw kafkaError(err, 'disconnect the admin client');
    }
  }
}

class KafkajsConsumer implements KafkaConsumerLike {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly groupId: string;
  private readonly fromBeginning: boolean;
  private adminConnected = false;
  private stopping = false;

  constructor(kafka: Kafka, o: ConsumerOptions) {
    this.groupId = o.groupId;
    this.fromBeginning = o.fromBeginning;
    this.consumer = kafka.consumer({
      groupId: o.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 100,
      ...(o.sessionTimeoutMs !== undefined ? { sessionTimeout: o.sessionTimeoutMs } : {}),
      ...(o.heartbeatIntervalMs !== undefined ? { heartbeatInterval: o.heartbeatIntervalMs } : {}),
      ...(o.rebalanceTimeoutMs !== undefined ? { rebalanceTimeout: o.rebalanceTimeoutMs } : {}),
      ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
    });
    this.admin = kafka.admin();
  }

  async connect(): Promise<void> {
    try {
      await this.consumer.connect();
      await this.admin.connect();
      this.adminConnected = true;
    } catch (err) {
      throw kafkaError(err, `connect the consumer of group ${this.groupId}`);
    }
  }

  async subscribe(topics: readonly (string | RegExp)[]): Promise<void> {
    try {
      await this.consumer.subscribe({ topics: [...topics], fromBeginning: this.fromBeginning });
    } catch (err) {
      throw kafkaError(err, 'subscribe', topics.map(String).join(','));
    }
  }

  async run(listener: ConsumerListener): Promise<void> {
    const c = this.consumer;
    c.on(c.events.REBALANCING, () => listener.onRebalancing());
    c.on(c.events.GROUP_JOIN, (e) => {
      const out: TopicPartition[] = [];
      for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
        for (const partition of partitions) out.push({ topic, partition });
      }
      listener.onAssigned(out);
    });
    c.on(c.events.CRASH, (e) => {
      if (this.stopping) return;
      // kafkajs restarts itself after a retriable crash; only a final one is reported.
      if (e.payload.restart) return;
      listener.onCrash(kafkaError(e.payload.error, `consume (group ${this.groupId})`));
    });
    try {
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: ({ batch }: EachBatchPayload) => {
          const msgs = batch.messages;
          const records: ConsumedRecord[] = new Array(msgs.length);
          for (let i = 0; i < msgs.length; i++) {
            const m = msgs[i]!;
            records[i] = {
              topic: batch.topic,
              partition: batch.partition,
              offset: Number(m.offset),
              key: m.key ?? null,
              value: m.value ?? null,
              timestamp: Number(m.timestamp),
              headers: m.headers !== undefined && hasKeys(m.headers) ? (m.headers as Record<string, Buffer | string | undefined>) : null,
            };
          }
          return Promise.resolve(listener.onRecords(batch.topic, batch.partition, records));
        },
      });
    } catch (err) {
      throw kafkaError(err, `start consuming (group ${this.groupId})`);
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.consumer.pause(byTopic(partitions));
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.consumer.resume(byTopic(partitions));
  }

  seek(topic: string, partition: number, offset: number): void {
    this.consumer.seek({ topic, partition, offset: String(offset) });
  }

  async commit(offsets: readonly PartitionCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.consumer.commitOffsets(
        offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset), metadata: o.metadata ?? null })),
      );
    } catch (err) {
      throw kafkaError(err, `commit offsets (group ${this.groupId})`, [...new Set(offsets.map((o) => o.topic))].join(','));
    }
  }

  async committed(topic: string): Promise<CommittedOffset[]> {
    try {
      const res = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
      return (res[0]?.partitions ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset), metadata: p.metadata }));
    } catch (err) {
      throw kafkaError(err, `read the committed offsets of group ${this.groupId}`, topic);
    }
  }

  async bounds(topic: string): Promise<{ partition: number; low: number; high: number }[]> {
    try {
      const res = await this.admin.fetchTopicOffsets(topic);
      return res.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }));
    } catch (err) {
      throw kafkaError(err, 'read the offsets of a topic', topic);
    }
  }

  async disconnect(): Promise<void> {
    this.stopping = true;
    try {
      await this.consumer.disconnect();
      if (this.adminConnected) await this.admin.disconnect();
    } catch (err) {
      throw kafkaError(err, `disconnect the consumer of group ${this.groupId}`);
    }
  }
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const m = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    let list = m.get(topic);
    if (list === undefined) m.set(topic, (list = []));
    list.push(partition);
  }
  return [...m].map(([topic, ps]) => ({ topic, partitions: ps }));
}

interface KafkajsErrorShape {
  name?: string;
  message?: string;
  retriable?: boolean;
  type?: string;
  cause?: unknown;
  errors?: unknown[];
}

/**
 * A kafkajs error as a SquallError with code `E_KAFKA` and details:
 * - `retriable`: whether the root cause is one a later retry may get past
 *   (a leader election, a missing topic that may be created); kafkajs's own
 *   retries are already spent when the call rejects.
 * - `type`: the broker's error type when there is one
 *   (`UNKNOWN_TOPIC_OR_PARTITION`, `MESSAGE_TOO_LARGE`, ...), else undefined.
 * - `kafkajsError`: the kafkajs error class name (`KafkaJSNumberOfRetriesExceeded`, ...).
 * - `topic`: the topic (or comma-separated topics) involved, if known.
 * The kafkajs error is kept as `cause`. Policy reads these fields, never the message.
 */
export function kafkaError(err: unknown, doing: string, topic?: string): SquallError {
  if (err instanceof SquallError) return err;
  const outer = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as KafkajsErrorShape;
  // Walk to the root cause: NumberOfRetriesExceeded and friends wrap the
  // error that was retried; an aggregate (sendBatch over brokers) lists them.
  let root: KafkajsErrorShape = outer;
  for (let depth = 0; depth < 8; depth++) {
    const next = root.cause ?? (Array.isArray(root.errors) ? root.errors[0] : undefined);
    if (typeof next !== 'object' || next === null || next === root) break;
    root = next as KafkajsErrorShape;
  }
  const retriable = typeof root.retriable === 'boolean' ? root.retriable : outer.retriable === true;
  const type = root.type ?? outer.type;
  const message = root.message && root.message !== outer.message ? `${outer.message}: ${root.message}` : (outer.message ?? String(err));
  return new SquallError(
    {
      code: KAFKA_ERROR_CODE,
      message: `Kafka: could not ${doing}${topic !== undefined ? ` (topic ${topic})` : ''}: ${message}${hint(type, retriable)}`,
      details: { retriable, type, kafkajsError: outer.name, topic },
    },
    { cause: err },
  );
}

function hint(type: string | undefined, retriable: boolean): string {
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return '; create the topic first (squall never auto-creates topics)';
  if (retriable) return '; the failed tuples replay, and may succeed once the cluster recovers';
  return '';
}
