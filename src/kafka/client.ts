import kafkajs from 'kafkajs';
import type { Admin, Kafka, Producer, SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { SquallError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';

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
