/**
 * Kafka, the source and sink of record. The client interface (kafkajs behind
 * it, replaceable), the KafkaBolt sink, and the pure part of the spout: the
 * per-partition offset tracker that decides what to commit (at-least-once)
 * and when to pause a partition. See docs/kafka.md.
 */
export { OffsetTracker, parseOffset, formatOffset } from './offset-tracker.ts';
export type { TrackerOptions, TopicPartition, OffsetCommit } from './offset-tracker.ts';
export { createKafkaClient, kafkaError, KAFKA_ERROR_CODE } from './client.ts';
export type {
  KafkaClient,
  KafkaClientOptions,
  KafkaProducerLike,
  KafkaAdminLike,
  ProducerOptions,
  ProducerRecord,
  TopicRecords,
  TopicSpec,
} from './client.ts';
export { KafkaBolt, defaultMap, toBytes } from './kafka-bolt.ts';
export type { KafkaBoltOptions } from './kafka-bolt.ts';
