/**
 * The Kafka client interface (./types.ts), its kafkajs implementation
 * (./kafkajs.ts) and the E_KAFKA errors both raise (./errors.ts).
 */
export { createKafkaClient, readCommittedFix } from './kafkajs.ts';
export { filterAborted } from './kafkajs-read-committed.ts';
export { kafkaError, KAFKA_ERROR_CODE } from './errors.ts';
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
} from './types.ts';
