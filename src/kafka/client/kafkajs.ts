// Before kafkajs: its read_committed filter is replaced as it loads.
import { readCommittedFix } from './kafkajs-read-committed.ts';
import kafkajs from 'kafkajs';
import type { Admin, Kafka, Producer, Transaction } from 'kafkajs';
import { SquallError } from '../../errors/index.ts';
import { kafkaError } from './errors.ts';
import { KafkajsConsumer } from './kafkajs-consumer.ts';
import { DEFAULT_BROKER_WAIT_MS, reachAnyBroker } from './reach.ts';
import type {
  CommittedOffset,
  KafkaAdminLike,
  KafkaClient,
  KafkaClientOptions,
  KafkaProducerLike,
  KafkaTransactionalProducerLike,
  KafkaTransactionLike,
  PartitionCommit,
  ProducerOptions,
  ProducerRecord,
  TopicRecords,
  TopicSpec,
  TransactionalProducerOptions,
} from './types.ts';

/**
 * The kafkajs adapter: {@link KafkaClient} on kafkajs (the consumer is in
 * ./kafkajs-consumer.ts). Every call that fails rejects with an `E_KAFKA`
 * SquallError (kafkaError, ./errors.ts).
 */

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
  const waitMs = options.brokerWaitMs ?? DEFAULT_BROKER_WAIT_MS;
  if (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 0) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `Kafka options.brokerWaitMs is ${JSON.stringify(waitMs)}; it must be a whole number of ms, at least 0 (0: no check)`,
      details: { key: 'brokerWaitMs', value: waitMs },
    });
  }
  // Before the first connect, a broker must answer: E_KAFKA_UNREACHABLE within
  // waitMs, not kafkajs's ten seconds of retries. Once one did, later
  // connects of this client (a dead-letter producer beside a consumer) go on.
  let reached: Promise<void> | null = null;
  const reach = (): Promise<void> => {
    if (waitMs === 0) return Promise.resolve();
    if (reached === null) {
      const attempt = reachAnyBroker(brokers as string[], waitMs, options.connectionTimeoutMs ?? 1000);
      reached = attempt;
      attempt.catch(() => {
        if (reached === attempt) reached = null;
      });
    }
    return reached;
  };
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
    producer: (o) => new KafkajsProducer(kafka, o ?? {}, r?.retries, reach),
    admin: () => new KafkajsAdmin(kafka.admin(), reach),
    consumer: (o) => new KafkajsConsumer(kafka, o, reach),
    transactionalProducer: (o) => new KafkajsTransactionalProducer(kafka, o, r?.retries, reach),
  };
}

class KafkajsProducer implements KafkaProducerLike {
  private readonly producer: Producer;
  private readonly ackTimeoutMs: number;

  constructor(
    kafka: Kafka,
    options: ProducerOptions,
    retries: number | undefined,
    private readonly reach: () => Promise<void>,
  ) {
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
    await this.reach();
    try {
      await this.producer.connect();
    } catch (err) {
      throw kafkaError(err, 'connect the producer', undefined, true);
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

/**
 * A transactional kafkajs producer. kafkajs initializes the producer id
 * lazily, at the first `transaction()`: `begin` is where fencing happens.
 * kafkajs allows one open transaction per producer, and cannot resume a
 * transaction another producer opened.
 */
class KafkajsTransactionalProducer implements KafkaTransactionalProducerLike {
  private readonly producer: Producer;
  private readonly ackTimeoutMs: number;
  readonly transactionalId: string;

  constructor(
    kafka: Kafka,
    options: TransactionalProducerOptions,
    retries: number | undefined,
    private readonly reach: () => Promise<void>,
  ) {
    this.transactionalId = options.transactionalId;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      transactionalId: options.transactionalId,
      transactionTimeout: options.transactionTimeoutMs,
      idempotent: true,
      maxInFlightRequests: 1,
      ...(retries !== undefined ? { retry: { retries } } : {}),
    });
  }

  async connect(): Promise<void> {
    await this.reach();
    try {
      await this.producer.connect();
    } catch (err) {
      throw kafkaError(err, `connect the transactional producer ${this.transactionalId}`, undefined, true);
    }
  }

  async begin(): Promise<KafkaTransactionLike> {
    let txn: Transaction;
    try {
      txn = await this.producer.transaction();
    } catch (err) {
      throw kafkaError(err, `begin a transaction (transactional id ${this.transactionalId})`);
    }
    const id = this.transactionalId;
    const ackTimeoutMs = this.ackTimeoutMs;
    return {
      async send(batch: readonly TopicRecords[]): Promise<void> {
        if (batch.length === 0) return;
        try {
          await txn.sendBatch({
            acks: -1,
            timeout: ackTimeoutMs,
            topicMessages: batch.map((t) => ({ topic: t.topic, messages: t.records.map(toMessage) })),
          });
        } catch (err) {
          const topics = [...new Set(batch.map((t) => t.topic))];
          throw kafkaError(err, `write records in a transaction (transactional id ${id})`, topics.join(','));
        }
      },
      async sendOffsets(groupId: string, offsets: readonly PartitionCommit[]): Promise<void> {
        const byTopic = new Map<string, { partition: number; offset: string }[]>();
        for (const o of offsets) {
          let list = byTopic.get(o.topic);
          if (list === undefined) byTopic.set(o.topic, (list = []));
          list.push({ partition: o.partition, offset: String(o.offset) });
        }
        const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
        // kafkajs sends AddOffsetsToTxn outside its retrier (kafkajs #430): a
        // transaction begun right after the previous one ended may get
        // CONCURRENT_TRANSACTIONS while the broker writes the markers.
        for (let attempt = 0; ; attempt++) {
          try {
            await txn.sendOffsets({ consumerGroupId: groupId, topics });
            return;
          } catch (err) {
            // Retriable broker errors only (CONCURRENT_TRANSACTIONS, a coordinator moving or loading).
            if (attempt < 12 && (err as { retriable?: unknown }).retriable === true) {
              await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 2000)));
              continue;
            }
            throw kafkaError(err, `commit offsets of group ${groupId} in a transaction (transactional id ${id})`);
          }
        }
      },
      async commit(): Promise<void> {
        try {
          await txn.commit();
        } catch (err) {
          throw kafkaError(err, `commit a transaction (transactional id ${id})`);
        }
      },
      async abort(): Promise<void> {
        try {
          await txn.abort();
        } catch (err) {
          throw kafkaError(err, `abort a transaction (transactional id ${id})`);
        }
      },
      isActive: () => txn.isActive(),
    };
  }

  async disconnect(): Promise<void> {
    try {
      await this.producer.disconnect();
    } catch (err) {
      throw kafkaError(err, `disconnect the transactional producer ${this.transactionalId}`);
    }
  }
}

function toMessage(r: ProducerRecord) {
  return {
    key: r.key ?? null,
    value: r.value,
    ...(r.headers !== undefined ? { headers: r.headers } : {}),
    ...(r.partition !== undefined ? { partition: r.partition } : {}),
    ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {}),
  };
}

class KafkajsAdmin implements KafkaAdminLike {
  constructor(
    private readonly admin: Admin,
    private readonly reach: () => Promise<void>,
  ) {}

  async connect(): Promise<void> {
    await this.reach();
    try {
      await this.admin.connect();
    } catch (err) {
      throw kafkaError(err, 'connect the admin client', undefined, true);
    }
  }

  async fetchOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    try {
      const res = await this.admin.fetchOffsets({ groupId, topics: [topic] });
      return (res[0]?.partitions ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset), metadata: p.metadata }));
    } catch (err) {
      throw kafkaError(err, `read the committed offsets of group ${groupId}`, topic);
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

/**
 * True when kafkajs in this process filters aborted transactions correctly
 * for read_committed consumers (./kafkajs-read-committed.ts); false when
 * kafkajs was loaded before squall's Kafka client (import squall/kafka
 * before kafkajs), and then records of aborted transactions of interleaved
 * producers can reach a KafkaSpout.
 */
export { readCommittedFix };
