/**
 * Try topologies/kafka-word-count.ts by hand:
 *
 *   npm run kafka:demo -- setup              # create the input (4 partitions) and output topics
 *   npm run kafka:demo -- produce 1000       # write 1000 sample sentences to the input topic
 *   npx squall run topologies/kafka-word-count.ts
 *   npm run kafka:demo -- read               # the output so far: highest count per word, duplicates
 *
 * It reads the same environment as the topology: SQUALL_KAFKA_BROKERS
 * (default 127.0.0.1:9092), SQUALL_KAFKA_INPUT (sentences),
 * SQUALL_KAFKA_OUTPUT (word-counts), and SQUALL_KAFKA_SSL /
 * SQUALL_KAFKA_SASL_* for a secured cluster.
 */
import { nanoid } from 'nanoid';
import { createKafkaClient } from '../../src/kafka/index.ts';
import type { ConsumedRecord, KafkaClient } from '../../src/kafka/index.ts';
import { kafkaSecurityFromEnv, words } from '../../topologies/kafka-word-count.ts';
import { SENTENCES } from '../../topologies/word-count.ts';

const env = process.env;
const brokers = (env['SQUALL_KAFKA_BROKERS'] || '127.0.0.1:9092').split(',').map((s) => s.trim());
const input = env['SQUALL_KAFKA_INPUT'] || 'sentences';
const output = env['SQUALL_KAFKA_OUTPUT'] || 'word-counts';

const USAGE = `usage: npm run kafka:demo -- <command>
  setup [partitions]   create '${input}' (default 4 partitions) and '${output}' (replication factor 1 unless SQUALL_KAFKA_REPLICATION)
  produce [count]      write count (default 1000) sample sentences to '${input}'
  read [idleSeconds]   read '${output}' from the beginning until nothing new comes for idleSeconds (default 2);
                       print the highest count per word and how many input words were counted more than once`;

function client(): KafkaClient {
  return createKafkaClient({ brokers, clientId: 'squall-kafka-demo', ...kafkaSecurityFromEnv() });
}

async function setup(partitions: number): Promise<void> {
  const admin = client().admin();
  await admin.connect();
  try {
    const replicationFactor = Number(env['SQUALL_KAFKA_REPLICATION'] || 1);
    for (const [topic, n] of [
      [input, partitions],
      [output, partitions],
    ] as const) {
      const created = await admin.createTopics([{ topic, numPartitions: n, replicationFactor }]);
      console.log(created ? `created topic ${topic} (${n} partitions)` : `topic ${topic} exists already`);
    }
  } finally {
    await admin.disconnect();
  }
}

async function produce(count: number): Promise<void> {
  const producer = client().producer();
  await producer.connect();
  try {
    let words_ = 0;
    for (let i = 0; i < count; i += 500) {
      const records = [];
      for (let k = i; k < Math.min(count, i + 500); k++) {
        const sentence = SENTENCES[k % SENTENCES.length]!;
        words_ += words(sentence).length;
        records.push({ key: String(k), value: sentence });
      }
      await producer.send([{ topic: input, records }]);
    }
    console.log(`wrote ${count} sentences (${words_} words) to ${input}`);
  } finally {
    await producer.disconnect();
  }
}

async function read(idleSeconds: number): Promise<void> {
  // A fresh group that commits nothing: every read starts from the beginning.
  const consumer = client().consumer({ groupId: `squall-kafka-demo-reader-${nanoid(8)}`, fromBeginning: true, maxWaitTimeMs: 200 });
  // The highest count seen per word: each process counts from zero when it starts, so not the last one.
  const highest = new Map<string, number>();
  const seen = new Map<string, number>();
  let records = 0;
  let lastAt = performance.now();
  await consumer.connect();
  try {
    await consumer.subscribe([output]);
    await consumer.run({
      onRecords(_topic: string, _partition: number, batch: ConsumedRecord[]) {
        for (const r of batch) {
          records++;
          const word = r.key?.toString('utf8') ?? '';
          highest.set(word, Math.max(highest.get(word) ?? 0, Number(r.value?.toString('utf8'))));
          const src = `${String(r.headers?.['src-topic'] ?? '')}:${String(r.headers?.['src'] ?? '')}`;
          seen.set(src, (seen.get(src) ?? 0) + 1);
        }
        lastAt = performance.now();
      },
      onRebalancing() {},
      onAssigned() {},
      onCrash(error) {
        console.error(error.message);
        process.exitCode = 1;
      },
    });
    while (performance.now() - lastAt < idleSeconds * 1000) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  const top = [...highest].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 20);
  for (const [word, n] of top) console.log(`${String(n).padStart(8)}  ${word}`);
  if (highest.size > top.length) console.log(`     ...  (${highest.size - top.length} more words)`);
  let dups = 0;
  for (const n of seen.values()) dups += n - 1;
  console.log(`${records} count updates on ${output} for ${seen.size} input words; ${dups} duplicates (words counted more than once: after a crash or a rebalance, or by another group reading the same input)`);
}

const [command, arg] = process.argv.slice(2);
const n = arg === undefined ? undefined : Number(arg);
if (n !== undefined && !(Number.isFinite(n) && n > 0)) {
  console.error(`'${arg}' is not a positive number\n${USAGE}`);
  process.exit(2);
}
try {
  if (command === 'setup') await setup(n ?? 4);
  else if (command === 'produce') await produce(n ?? 1000);
  else if (command === 'read') await read(n ?? 2);
  else {
    console.error(USAGE);
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`kafka:demo ${command}: ${(err as Error).message}`);
  process.exitCode = 1;
}
