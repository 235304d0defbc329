import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { TopicPartition } from '../offset-tracker.ts';
import { kafkaError } from './errors.ts';
import type { CommittedOffset, ConsumedRecord, ConsumerListener, ConsumerOptions, KafkaConsumerLike, PartitionCommit } from './types.ts';

/**
 * A kafkajs consumer as a {@link KafkaConsumerLike}: auto-commit off, offsets
 * as numbers, a batch of one partition per listener call, and an admin client
 * beside it for committed offsets and partition bounds.
 */
export class KafkajsConsumer implements KafkaConsumerLike {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly groupId: string;
  private readonly fromBeginning: boolean;
  private adminConnected = false;
  private stopping = false;

  constructor(
    kafka: Kafka,
    o: ConsumerOptions,
    private readonly reach: () => Promise<void> = () => Promise.resolve(),
  ) {
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
    await this.reach();
    try {
      await this.consumer.connect();
      await this.admin.connect();
      this.adminConnected = true;
    } catch (err) {
      throw kafkaError(err, `connect the consumer of group ${this.groupId}`, undefined, true);
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
        eachBatch: ({ batch, isStale }: EachBatchPayload) => {
          // Fetched before a seek of its partition: kafkajs fetches again from the sought offset.
          if (isStale()) return Promise.resolve();
          const msgs = batch.messages;
          // An empty fetch still says where the partition ends: the lag.
          if (msgs.length === 0) return Promise.resolve(listener.onRecords(batch.topic, batch.partition, [], Number(batch.highWatermark)));
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
          return Promise.resolve(listener.onRecords(batch.topic, batch.partition, records, Number(batch.highWatermark)));
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
