import type { SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { SquallError } from '../../errors/index.ts';
import type { TopicPartition } from '../offset-tracker.ts';

/**
 * Kafka behind a small client interface: squall's Kafka components talk to
 * `KafkaClient`, never to kafkajs, so another client library can replace
 * kafkajs by implementing these few methods. `createKafkaClient`
 * (./kafkajs.ts) is the kafkajs implementation. Every error a client raises
 * is a SquallError with code `E_KAFKA` (see `kafkaError`, ./errors.ts), or
 * `E_KAFKA_UNREACHABLE` from a connect when no broker answers (./reach.ts).
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
  /**
   * How long the first connect keeps trying to open a TCP connection to any
   * of the brokers before it fails with E_KAFKA_UNREACHABLE, naming them
   * (default 3000; 0: no such check, kafkajs's own retries only).
   */
  brokerWaitMs?: number;
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
  /** The record's create time in ms (default: now, as the client sends it); the broker keeps it unless the topic uses log-append time. */
  timestamp?: number;
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
  /** A group's committed offsets (and metadata) for a topic; -1 for a partition with none. */
  fetchOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>;
  /** Create topics and wait for their leaders; true if all were created, false if some existed. */
  createTopics(topics: readonly TopicSpec[]): Promise<boolean>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  producer(options?: ProducerOptions): KafkaProducerLike;
  admin(): KafkaAdminLike;
  consumer(options: ConsumerOptions): KafkaConsumerLike;
  /** A transactional producer (the transactional KafkaBolt needs it; a client without it cannot run one). */
  transactionalProducer?(options: TransactionalProducerOptions): KafkaTransactionalProducerLike;
}

export interface TransactionalProducerOptions {
  /** Identifies the producer across restarts: a new producer with the same id fences the old one and aborts its open transaction. */
  transactionalId: string;
  /** The broker aborts a transaction open longer than this (at most the broker's transaction.max.timeout.ms, 15 min by default). */
  transactionTimeoutMs: number;
  /** How long the broker may wait for the in-sync replicas per send (default 30000). */
  ackTimeoutMs?: number;
}

/** One open transaction. Every call rejects with an E_KAFKA SquallError on failure. */
export interface KafkaTransactionLike {
  /** Write records inside the transaction (acks = all); read_committed consumers see them once it commits. */
  send(batch: readonly TopicRecords[]): Promise<void>;
  /** Commit a consumer group's offsets as part of the transaction (TxnOffsetCommit): visible only if it commits. */
  sendOffsets(groupId: string, offsets: readonly PartitionCommit[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /** False once committed or aborted. */
  isActive(): boolean;
}

/**
 * A producer with a transactional id: one open transaction at a time. The
 * first `begin` initializes the producer id (InitProducerId), which bumps
 * the id's epoch: every earlier producer with this id is fenced, and a
 * transaction it left open is aborted by the broker.
 */
export interface KafkaTransactionalProducerLike {
  readonly transactionalId: string;
  connect(): Promise<void>;
  begin(): Promise<KafkaTransactionLike>;
  disconnect(): Promise<void>;
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
  /**
   * Records of one partition, in offset order; the next fetch of that
   * partition waits for the promise. `highWatermark`: the partition's end at
   * the broker as of this fetch (the offset after its last record), when the
   * client knows it.
   */
  onRecords(topic: string, partition: number, records: ConsumedRecord[], highWatermark?: number): void | Promise<void>;
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
