/**
 * What the two Kafka benchmarks share: the broker, a fresh input topic
 * filled with the same RECORDS records for each (so neither reads the
 * other's topic or group), a fresh output topic, the consumer settings, the
 * clock that times a pass, the check of what reached the output topic, and
 * the clean-up (topics and consumer groups deleted at the end).
 *
 * A pass is timed from the first record consumed (the first batch handed to
 * the consumer's callback) to the moment the write of the last record is
 * acknowledged by Kafka (acks = all): records per second over that span.
 */
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { nanoid } from 'nanoid';
import { KAFKA_BROKERS, brokerCpuSeconds, ensureBroker, releaseBroker } from '../broker.ts';
import type { Broker } from '../broker.ts';
import type { CpuShare } from '../cpu.ts';
import { cpuMark, cpuSince } from '../cpu.ts';

// kafkajs prints a notice about its v2 partitioner on every producer otherwise.
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

/** Records per pass (SQUALL_BENCH_KAFKA_RECORDS overrides, for quick tries). */
export const RECORDS = wholeNumber('SQUALL_BENCH_KAFKA_RECORDS', 200_000);
/** Partitions of the input and the output topic. */
export const PARTITIONS = 4;
/** Bytes of each record's value. */
export const VALUE_BYTES = 100;
/**
 * Consumer settings, the same on both sides, and the KafkaSpout's defaults:
 * the longest a fetch waits for data (100 ms, the KafkaSpout's default; SQUALL_BENCH_KAFKA_MAX_WAIT_MS
 * overrides), and bytes per partition per fetch (1 MiB, kafkajs's default:
 * about 7,000 of these records). The bare loop only waits that long when
 * there is nothing to read; the KafkaSpout waits it out also when it has
 * paused every partition (kafkajs sleeps maxWaitTime before it looks again),
 * see bench/README.md.
 */
export const CONSUMER = {
  maxWaitTimeMs: wholeNumber('SQUALL_BENCH_KAFKA_MAX_WAIT_MS', 100),
  maxBytesPerPartition: 1024 * 1024,
} as const;
/** A pass that has not finished after this long fails (the figure would mean nothing). */
const PASS_TIMEOUT_MS = 180_000;

export interface KafkaBenchContext {
  brokers: readonly string[];
  /** Holds RECORDS records, written before the pass; nothing reads it but this benchmark. */
  input: string;
  /** Empty, for the pass to write to. */
  output: string;
  /** A fresh consumer group id for the pass. */
  groupId: string;
  /** A unique client id prefix. */
  clientId: string;
}

/**
 * Start (or use) the broker, make and fill the topics, run `body`, check
 * that the output topic holds exactly RECORDS records, delete what was
 * created, and stop the broker if this process started it.
 */
export async function withKafkaBench<T>(label: string, body: (ctx: KafkaBenchContext) => Promise<T>): Promise<T> {
  let broker: Broker | undefined;
  let admin: Admin | undefined;
  const topics: string[] = [];
  const id = nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');
  const ctx: KafkaBenchContext = {
    brokers: KAFKA_BROKERS,
    input: `squall-bench-${label}-in-${id}`,
    output: `squall-bench-${label}-out-${id}`,
    groupId: `squall-bench-${label}-${id}`,
    clientId: `squall-bench-${label}-${id}`,
  };
  try {
    broker = await ensureBroker();
    const kafka = new kafkajs.Kafka({ brokers: [...ctx.brokers], clientId: `${ctx.clientId}-admin`, logLevel: kafkajs.logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    topics.push(ctx.input, ctx.output);
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
    });
    await fill(kafka, ctx.input);
    const result = await body(ctx);
    const written = await endOffsets(admin, ctx.output);
    if (written !== RECORDS) throw new Error(`${label}: the output topic holds ${written} records, expected ${RECORDS}`);
    return result;
  } finally {
    if (admin !== undefined) {
      await admin.deleteGroups([ctx.groupId]).catch(() => {});
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch((err: unknown) => warn(`could not delete topics ${topics.join(', ')}: ${(err as Error).message}`));
      await admin.disconnect().catch(() => {});
    }
    await releaseBroker(broker);
  }
}

/** The key of record i. */
export function keyOf(i: number): string {
  return `key-${i}`;
}

/** The value of record i: VALUE_BYTES bytes, the record's number first. */
export function valueOf(i: number): Buffer {
  return Buffer.from(`value-${String(i).padStart(9, '0')}-`.padEnd(VALUE_BYTES, 'x'));
}

/** Write RECORDS records to `topic`, record i to partition i % PARTITIONS, acks = all; not timed. */
async function fill(kafka: kafkajs.Kafka, topic: string): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const chunk = 10_000;
    const sends: Promise<unknown>[] = [];
    for (let from = 0; from < RECORDS; from += chunk) {
      const messages = [];
      for (let i = from; i < Math.min(RECORDS, from + chunk); i++) messages.push({ key: keyOf(i), value: valueOf(i), partition: i % PARTITIONS });
      sends.push(producer.send({ topic, acks: -1, messages }));
      // A few sends in flight at most: enough to keep the broker busy.
      if (sends.length === 4) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
  } finally {
    await producer.disconnect();
  }
}

/** Records on a topic: the sum of its partitions' end offsets (the topic is new, so its start offsets are 0). */
async function endOffsets(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

/**
 * Times one pass: `consumed()` at every batch consumed (the first one starts
 * the clock), `written(n)` when Kafka acknowledged n more records; `done`
 * resolves once RECORDS are written.
 */
export class PassClock {
  private startedAt = -1;
  private mark: ReturnType<typeof cpuMark> | undefined;
  private brokerMark: number | null = null;
  private writtenCount = 0;
  private resolve!: (r: PassResult) => void;
  readonly done: Promise<PassResult>;

  constructor() {
    this.done = new Promise((r) => (this.resolve = r));
  }

  consumed(): void {
    if (this.startedAt >= 0) return;
    this.mark = cpuMark();
    this.brokerMark = brokerCpuSeconds();
    this.startedAt = performance.now();
  }

  written(n: number): void {
    const before = this.writtenCount;
    this.writtenCount += n;
    if (before < RECORDS && this.writtenCount >= RECORDS) {
      const seconds = (performance.now() - this.startedAt) / 1000;
      const cpu = cpuSince(this.mark!);
      const broker = brokerCpuSeconds();
      if (this.brokerMark !== null && broker !== null) cpu.brokerCores = Math.round(((broker - this.brokerMark) / seconds) * 100) / 100;
      this.resolve({ seconds, recordsPerSec: Math.round(RECORDS / seconds), cpu });
    }
  }

  get writtenSoFar(): number {
    return this.writtenCount;
  }

  /** `done`, or a rejection that says how far the pass got. */
  finished(label: string): Promise<PassResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${label}: ${this.writtenCount} of ${RECORDS} records written after ${PASS_TIMEOUT_MS / 1000} s`)),
        PASS_TIMEOUT_MS,
      );
    });
    return Promise.race([this.done, timeout]).finally(() => clearTimeout(timer));
  }
}

export interface PassResult {
  /** From the first record consumed to the last write acknowledged. */
  seconds: number;
  recordsPerSec: number;
  /** CPU this process and the rest of the machine (the broker, mostly) used over the pass. */
  cpu: CpuShare;
}

function wholeNumber(variable: string, otherwise: number): number {
  const v = process.env[variable];
  if (v === undefined) return otherwise;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new RangeError(`${variable} is '${v}'; give a whole number, at least 1`);
  return n;
}

function warn(message: string): void {
  process.stderr.write(`${message}\n`);
}
