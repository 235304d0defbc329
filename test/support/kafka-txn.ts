/**
 * Reading transactional output for the exactly-once tests: what a
 * read_committed consumer sees of a topic, all of it, and whether an open
 * transaction holds it back.
 */
// First: squall's fix of kafkajs's read_committed filter must be in place before kafkajs loads.
import '../../src/kafka/index.ts';
import kafkajs from 'kafkajs';
import { nanoid } from 'nanoid';

export interface CommittedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

const uid = () => nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');

/**
 * Everything a read_committed consumer sees on `topic`. A sentinel record
 * is written (outside any transaction) to every partition first, and the
 * read ends once every sentinel arrived: a read_committed consumer sees a
 * record only once every transaction before it ended, so the sentinels
 * arrive only if no transaction is left open. Resolves null when they did
 * not all arrive within `maxMs` (an open transaction blocks the topic).
 * Sentinels are left out of the result.
 */
export async function readCommitted(brokers: string[], topic: string, maxMs = 20_000): Promise<CommittedRecord[] | null> {
  const kafka = new kafkajs.Kafka({ brokers, clientId: `squall-test-rc-${uid()}`, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map((p) => p.partitionId);
  await admin.disconnect();
  const mark = `sentinel-${uid()}`;
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: partitions.map((partition) => ({ partition, value: mark, headers: { sentinel: mark } })) });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `squall-test-rc-${uid()}`, maxWaitTimeInMs: 100, readUncommitted: false });
  const out: CommittedRecord[] = [];
  const seen = new Set<number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        if (headers['sentinel'] !== undefined) {
          if (headers['sentinel'] === mark) seen.add(partition);
          if (seen.size === partitions.length) done();
          return;
        }
        out.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), maxMs)));
    const r = await Promise.race([all.then(() => 'ok' as const), late]);
    clearTimeout(timer);
    return r === 'ok' ? out : null;
  } finally {
    await consumer.disconnect();
  }
}

/** Every record of the topic, committed or not (read_uncommitted), until `count` arrived or `maxMs` passed. */
export async function readUncommitted(brokers: string[], topic: string, count: number, maxMs = 15_000): Promise<CommittedRecord[]> {
  const kafka = new kafkajs.Kafka({ brokers, clientId: `squall-test-ru-${uid()}`, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `squall-test-ru-${uid()}`, maxWaitTimeInMs: 100, readUncommitted: true });
  const out: CommittedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const enough = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
        if (out.length >= count) done();
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([enough, new Promise<void>((r) => (timer = setTimeout(r, maxMs)))]);
    clearTimeout(timer);
    return out;
  } finally {
    await consumer.disconnect();
  }
}
