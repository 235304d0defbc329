/**
 * For tests against the real broker that test/support/kafka-setup.ts starts.
 * Call `useKafka()` at the top of a describe: it fails each test with the
 * setup's reason when there is no broker (never skips), and gives fresh topic names, an
 * admin client, and a reader of what is on a topic.
 */
// squall's Kafka client first: it fixes kafkajs's read_committed filter as kafkajs loads (docs/exactly-once.md).
import { createKafkaClient } from '../../src/kafka/index.ts';
import kafkajs from 'kafkajs';
import type { IHeaders } from 'kafkajs';
import { nanoid } from 'nanoid';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { KafkaAdminLike, KafkaClientOptions, ProducerRecord } from '../../src/kafka/index.ts';

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

export interface KafkaFixture {
  readonly brokers: string[];
  /** Client options for the broker: quiet, and quick to give up on a missing topic. */
  clientOptions(): KafkaClientOptions;
  /** A topic name unique to this run, not created. */
  topicName(label?: string): string;
  /** Create a fresh topic (unique name) and return its name. */
  createTopic(label?: string, numPartitions?: number): Promise<string>;
  /** Read every record of a topic from the beginning until `count` are seen (or fail after maxMs). */
  readTopic(topic: string, count: number, maxMs?: number): Promise<ReadRecord[]>;
  /** Read a topic from the beginning until `done` holds for what was read (or until maxMs). */
  readUntil(topic: string, done: (records: readonly ReadRecord[]) => boolean, maxMs?: number): Promise<ReadRecord[]>;
  /** Write records (acks all), in batches of 1000. */
  produce(topic: string, records: readonly ProducerRecord[]): Promise<void>;
  /** The group's committed offset per partition (-1: none). */
  committed(groupId: string, topic: string): Promise<Map<number, number>>;
}

const RUN = nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');

export function useKafka(): KafkaFixture {
  const brokers = inject('kafkaBrokers');
  let admin: KafkaAdminLike | undefined;
  const created: string[] = [];

  // Why there is no broker, thrown from beforeEach: a throw in beforeAll
  // would mark the tests skipped, and a missing broker must fail them.
  let unavailable: string | null = inject('kafkaError');

  beforeAll(async () => {
    if (unavailable !== null) return;
    const a = createKafkaClient(fixture.clientOptions()).admin();
    try {
      await a.connect();
      admin = a;
    } catch (err) {
      unavailable = `cannot reach the test Kafka broker at ${brokers.join(',')}: ${(err as Error).message}`;
    }
  });

  beforeEach(() => {
    if (unavailable !== null) throw new Error(unavailable);
  });

  afterAll(async () => {
    if (admin === undefined) return;
    if (created.length > 0) await admin.deleteTopics(created).catch(() => {});
    await admin.disconnect();
  });

  const fixture: KafkaFixture = {
    brokers,
    clientOptions: () => ({ brokers, clientId: `squall-test-${RUN}`, logLevel: 'nothing', retry: { retries: 1, initialRetryTimeMs: 50 } }),
    topicName: (label = 't') => `squall-${label}-${RUN}-${nanoid(6).replace(/[^A-Za-z0-9]/g, 'x')}`,
    async createTopic(label, numPartitions = 3) {
      const topic = fixture.topicName(label);
      if (admin === undefined) throw new Error('useKafka(): createTopic before beforeAll connected the admin client');
      await admin.createTopics([{ topic, numPartitions, replicationFactor: 1 }]);
      created.push(topic);
      return topic;
    },
    readTopic: (topic, count, maxMs) => fixture.readUntil(topic, (rs) => rs.length >= count, maxMs),
    async readUntil(topic, isDone, maxMs = 15_000) {
      const kafka = new kafkajs.Kafka({ brokers, clientId: `squall-test-reader-${RUN}`, logLevel: kafkajs.logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: `squall-test-${nanoid(8)}`, maxWaitTimeInMs: 100 });
      const out: ReadRecord[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        let done!: () => void;
        const enough = new Promise<void>((r) => (done = r));
        await consumer.run({
          eachMessage: async ({ topic: t, partition, message }) => {
            out.push({
              topic: t,
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              headers: headersOf(message.headers),
            });
            if (isDone(out)) done();
          },
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((r) => (timer = setTimeout(r, maxMs)));
        await Promise.race([enough, timeout]);
        clearTimeout(timer);
      } finally {
        await consumer.disconnect();
      }
      return out;
    },
    async produce(topic, records) {
      const producer = createKafkaClient(fixture.clientOptions()).producer();
      await producer.connect();
      try {
        for (let i = 0; i < records.length; i += 1000) await producer.send([{ topic, records: records.slice(i, i + 1000) }]);
      } finally {
        await producer.disconnect();
      }
    },
    async committed(groupId, topic) {
      const kafka = new kafkajs.Kafka({ brokers, clientId: `squall-test-offsets-${RUN}`, logLevel: kafkajs.logLevel.NOTHING });
      const a = kafka.admin();
      await a.connect();
      try {
        const res = await a.fetchOffsets({ groupId, topics: [topic] });
        return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      } finally {
        await a.disconnect();
      }
    },
  };
  return fixture;
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  return out;
}
