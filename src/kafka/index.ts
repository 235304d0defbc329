/**
 * Kafka, the source and sink of record. So far the pure part of the spout:
 * the per-partition offset tracker that decides what to commit (at-least-once)
 * and when to pause a partition. kafkajs, timers and the consumer's lifecycle
 * belong to the spout that drives it.
 */
export { OffsetTracker, parseOffset, formatOffset } from './offset-tracker.ts';
export type { TrackerOptions, TopicPartition, OffsetCommit } from './offset-tracker.ts';
