/**
 * Kafka, the source and sink of record: the KafkaSpout source, the
 * KafkaBolt sink, the client interface they use (kafkajs behind it,
 * replaceable), and the per-partition offset tracker that decides what the
 * spout commits (at-least-once) and when it pauses a partition.
 * See docs/kafka.md.
 */
export { OffsetTracker, parseOffset, formatOffset } from './offset-tracker.ts';
export type { TrackerOptions, TopicPartition, OffsetCommit } from './offset-tracker.ts';
export { createKafkaClient, kafkaError, KAFKA_ERROR_CODE, readCommittedFix, filterAborted } from './client/index.ts';
export type {
  KafkaClient,
  KafkaClientOptions,
  KafkaProducerLike,
  KafkaAdminLike,
  ProducerOptions,
  ProducerRecord,
  TopicRecords,
  TopicSpec,
  ConsumerOptions,
  ConsumedRecord,
  ConsumerListener,
  KafkaConsumerLike,
  PartitionCommit,
  CommittedOffset,
  TransactionalProducerOptions,
  KafkaTransactionLike,
  KafkaTransactionalProducerLike,
} from './client/index.ts';
export { KafkaBolt, defaultMap, toBytes } from './kafka-bolt.ts';
export { KafkaSpout } from './kafka-spout.ts';
export type { KafkaSpoutOptions, KafkaSpoutStats, KafkaSpoutPosition, KafkaGuarantee, FirstPoll, KafkaRetryOptions, KafkaEventTimeOptions, KafkaEventTimeStats } from './kafka-spout.ts';
export type { RetryOptions } from '../spout/index.ts';
export { stringRecords, jsonRecords, bufferRecords, stringHeaders } from './deserializers.ts';
export type { RecordDeserializer } from './deserializers.ts';
export type { KafkaBoltOptions, TransactionalOptions, TransactionalSnapshot } from './kafka-bolt.ts';
