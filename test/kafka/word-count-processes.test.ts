/**
 * topologies/kafka-word-count.ts as real `squall run` processes against the
 * real broker: a process killed with SIGKILL and restarted, and two
 * processes in one consumer group, one of them killed. Every check reads
 * the output topic alone: each output record names the input word it
 * counts (header `src` = partition:offset:index) and the run that counted
 * it (header `run`), so "nothing lost" is "every input word's src is on
 * the output", and a duplicate is a src seen more than once.
 */
import kafkajs from 'kafkajs';
import type { Admin, Consumer } from 'kafkajs';
import { nanoid } from 'nanoid';
import { describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/index.ts';
import type { KafkaProducerLike } from '../../src/kafka/index.ts';
import { srcOf, words } from '../../topologies/kafka-word-count.ts';
import { SENTENCES } from '../../topologies/word-count.ts';
import { spawnCli } from '../cli/cli.ts';
import type { CliResult, Spawned } from '../cli/cli.ts';
import type { KafkaFixture } from '../support/kafka.ts';
import { useKafka } from '../support/kafka.ts';

const TEST_TIMEOUT_MS = 120_000;
const MODULE = 'topologies/kafka-word-count.ts';
const PARTITIONS = 4;

const uid = () => nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');

/** The i-th sentence the tests write: the classic ones, round-robin. */
const sentence = (i: number): string => SENTENCES[i % SENTENCES.length]!;

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One output record, as the tests need it: which input word it counts, and which run counted it. */
interface Counted {
  src: string;
  run: string;
}

/** Reads the output topic from the beginning for the whole test, in a group of its own. */
class OutputWatcher {
  readonly records: Counted[] = [];
  /** src -> how many output records carry it. */
  readonly srcs = new Map<string, number>();

  private constructor(private readonly consumer: Consumer) {}

  static async start(brokers: string[], topic: string): Promise<OutputWatcher> {
    const kafka = new kafkajs.Kafka({ brokers, clientId: `squall-test-watch-${uid()}`, logLevel: kafkajs.logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `squall-test-watch-${uid()}`, maxWaitTimeInMs: 100 });
    const w = new OutputWatcher(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const src = m.headers?.['src']?.toString() ?? '?';
          w.records.push({ src, run: m.headers?.['run']?.toString() ?? '?' });
          w.srcs.set(src, (w.srcs.get(src) ?? 0) + 1);
        }
      },
    });
    return w;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/** One `squall run topologies/kafka-word-count.ts` child process. */
class WordCountProcess {
  private stderr = '';

  private constructor(
    readonly name: string,
    readonly spawned: Spawned,
  ) {
    spawned.child.stderr!.on('data', (d: string) => (this.stderr += d));
  }

  static start(name: string, set: Record<string, string | number>): WordCountProcess {
    const args = ['run', MODULE];
    for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
    // Keep the developer's Kafka environment out: the --set keys say everything.
    const env = {
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      SQUALL_KAFKA_SSL: '',
      SQUALL_KAFKA_SASL_MECHANISM: '',
      SQUALL_KAFKA_CLIENT_ID: '',
    };
    return new WordCountProcess(name, spawnCli(args, env));
  }

  get alive(): boolean {
    const c = this.spawned.child;
    return c.exitCode === null && c.signalCode === null;
  }

  /** The run id (the output's `run` header), once the process printed `running topology ... as run <id>`. */
  async runId(): Promise<string> {
    await this.spawned.stderrContains(' as run ');
    await waitFor(() => /as run \S+ /.test(this.stderr), `${this.name}'s run id`, 5000);
    return /as run (\S+) /.exec(this.stderr)![1]!;
  }

  async kill(signal: NodeJS.Signals, maxMs = 30_000): Promise<CliResult> {
    if (this.alive) this.spawned.child.kill(signal);
    const timer = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${this.name} did not exit within ${maxMs} ms of ${signal}`)), maxMs).unref(),
    );
    return Promise.race([this.spawned.done, timer]);
  }
}

/** A producer of test sentences: record i goes to partition i % PARTITIONS, so offsets are predictable per partition. */
class SentenceWriter {
  written = 0;
  private constructor(
    private readonly producer: KafkaProducerLike,
    private readonly topic: string,
  ) {}

  static async open(kafka: KafkaFixture, topic: string): Promise<SentenceWriter> {
    const producer = createKafkaClient(kafka.clientOptions()).producer();
    await producer.connect();
    return new SentenceWriter(producer, topic);
  }

  /** Write `count` more sentences in batches of `batch`, pausing `pauseMs` between batches. */
  async write(count: number, batch = count, pauseMs = 0): Promise<void> {
    const end = this.written + count;
    while (this.written < end) {
      const n = Math.min(batch, end - this.written);
      const records = Array.from({ length: n }, (_, k) => {
        const i = this.written + k;
        return { key: String(i), value: sentence(i), partition: i % PARTITIONS };
      });
      await this.producer.send([{ topic: this.topic, records }]);
      this.written += n;
      if (pauseMs > 0 && this.written < end) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** How many words the first `n` sentences hold. */
  static words(n: number): number {
    let w = 0;
    for (let i = 0; i < n; i++) w += words(sentence(i)).length;
    return w;
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** How many words sentences from..to-1 hold that went to these partitions. */
function wordsIn(from: number, to: number, partitions: readonly number[]): number {
  let w = 0;
  for (let i = from; i < to; i++) if (partitions.includes(i % PARTITIONS)) w += words(sentence(i)).length;
  return w;
}

/** Every src the input topic calls for: one per word of each record, read back from the topic itself. */
async function expectedSrcs(kafka: KafkaFixture, input: string, records: number): Promise<Set<string>> {
  const read = await kafka.readTopic(input, records, 30_000);
  expect(read.length).toBe(records);
  const out = new Set<string>();
  for (const r of read) {
    const ws = words(r.value ?? '');
    for (let i = 0; i < ws.length; i++) out.add(srcOf(r.partition, Number(r.offset), i));
  }
  return out;
}

const partitionOf = (src: string): number => Number(src.split(':')[0]);
const offsetOf = (src: string): number => Number(src.split(':')[1]);

/** What a SIGKILLed run repeats: words counted more than once, against what it had counted beyond its commits. */
function repeats(w: OutputWatcher, killedRun: string, committedAtKill: Map<number, number>) {
  const duplicated = [...w.srcs].filter(([, n]) => n > 1);
  const duplicates = duplicated.reduce((d, [, n]) => d + n - 1, 0);
  // What the killed run counted beyond its committed offsets: the most a takeover can repeat.
  const uncommitted = new Set(
    w.records.filter((r) => r.run === killedRun && offsetOf(r.src) >= (committedAtKill.get(partitionOf(r.src)) ?? -1)).map((r) => r.src),
  );
  const sample = duplicated.slice(0, 10).map(([src, n]) => `${src} x${n}`).join(', ');
  return { duplicated, duplicates, uncommitted, sample };
}

/** Every repeat is of a word whose record was not committed at the kill, counted at most twice, within the bound. */
function expectRepeatsBounded(r: ReturnType<typeof repeats>, committedAtKill: Map<number, number>): void {
  for (const [src] of r.duplicated) expect(offsetOf(src)).toBeGreaterThanOrEqual(committedAtKill.get(partitionOf(src)) ?? -1);
  for (const [, n] of r.duplicated) expect(n).toBeLessThanOrEqual(2);
  expect(r.duplicates).toBeLessThanOrEqual(r.uncommitted.size);
}

/** A kafkajs admin client for the group's state and offsets, kept for the whole test. */
async function openAdmin(brokers: string[]): Promise<Admin> {
  const admin = new kafkajs.Kafka({ brokers, clientId: `squall-test-admin-${uid()}`, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  return admin;
}

/** The group's committed offset per partition of a topic (-1: none). */
async function committed(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

const sum = (m: Map<number, number>): number => [...m.values()].reduce((n, v) => n + Math.max(0, v), 0);

/** The group's members and what each owns, from the broker. */
async function describeGroup(admin: Admin, groupId: string): Promise<{ state: string; members: { clientId: string; partitions: number[] }[] }> {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0]!;
  return {
    state: g.state,
    members: g.members.map((m) => {
      const a = kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      const partitions = a === null ? [] : Object.values(a.assignment).flat();
      return { clientId: m.clientId, partitions: partitions.sort((x, y) => x - y) };
    }),
  };
}

describe('kafka word count as squall processes', () => {
  const kafka = useKafka();

  /** --set keys for a run against the test broker: a short session so a dead member is noticed in ~6 s. */
  function settings(input: string, output: string, groupId: string, extra: Record<string, string | number> = {}) {
    return {
      'kafka.brokers': kafka.brokers.join(','),
      input,
      output,
      'kafka.groupId': groupId,
      'kafka.sessionTimeoutMs': 6000,
      'kafka.maxWaitTimeMs': 100,
      ...extra,
    };
  }

  it(
    'a process killed with SIGKILL mid-stream and restarted in the same group loses nothing; its duplicates are words of offsets it had not committed',
    async () => {
      const input = await kafka.createTopic('wc-in', PARTITIONS);
      const output = await kafka.createTopic('wc-out', PARTITIONS);
      const groupId = `squall-test-wc-${uid()}`;
      const N = 8000;
      const totalWords = SentenceWriter.words(N);
      const procs: WordCountProcess[] = [];
      let watcher: OutputWatcher | undefined;
      let writer: SentenceWriter | undefined;
      let admin: Admin | undefined;
      try {
        admin = await openAdmin(kafka.brokers);
        watcher = await OutputWatcher.start(kafka.brokers, output);
        writer = await SentenceWriter.open(kafka, input);
        // Commits every 200 ms, so that some offsets are committed before the kill and some are not.
        const first = WordCountProcess.start('first', settings(input, output, groupId, { 'kafka.commitIntervalMs': 200 }));
        procs.push(first);
        const firstRun = await first.runId();
        // Sentences arrive over a few seconds while the first process runs.
        const writing = writer.write(N, 100, 50);
        const w = watcher;
        const a = admin;
        await waitFor(
          async () => w.records.length >= 3000 && sum(await committed(a, groupId, input)) > 0,
          'the first process to write 3000 counts and commit offsets',
          40_000,
        );
        const killed = await first.kill('SIGKILL');
        const seenAtKill = w.srcs.size;
        expect(killed.signal).toBe('SIGKILL');
        // The premise: killed mid-stream, with input left to process.
        expect(seenAtKill).toBeLessThan(totalWords);
        // Nothing commits for the group now: what the restart starts from.
        const committedAtKill = await committed(a, groupId, input);
        await writing;

        const second = WordCountProcess.start('second', settings(input, output, groupId));
        procs.push(second);
        await waitFor(() => w.srcs.size >= totalWords, `all ${totalWords} input words on the output`, 60_000);
        const expected = await expectedSrcs(kafka, input, N);
        expect(expected.size).toBe(totalWords);
        const ended = await second.kill('SIGTERM');
        expect(ended.code).toBe(0);
        // Its summary: a commit refused in the rebalance, say, would be reported there.
        expect(ended.stdout).toContain('no errors reported');

        const missing = [...expected].filter((s) => !w.srcs.has(s));
        expect(missing).toEqual([]);
        const unknown = [...w.srcs.keys()].filter((s) => !expected.has(s));
        expect(unknown).toEqual([]);

        const r = repeats(w, firstRun, committedAtKill);
        const runs = [...new Set(w.records.map((x) => x.run))];
        console.log(
          `crash test: ${N} inputs (${totalWords} words), ${w.records.length} output records, ${r.duplicates} duplicates ` +
            `(bound: ${r.uncommitted.size} words the first process counted beyond its commits); ` +
            `${seenAtKill} words on the output at the SIGKILL; committed at the kill ${JSON.stringify(Object.fromEntries(committedAtKill))}`,
        );
        if (r.duplicated.length > 0) console.log(`crash test: duplicated srcs (first 10): ${r.sample}`);
        expect(runs.length).toBe(2);
        expect(w.records.length).toBe(totalWords + r.duplicates);
        expectRepeatsBounded(r, committedAtKill);
      } finally {
        for (const p of procs) if (p.alive) await p.kill('SIGKILL').catch(() => {});
        await writer?.close().catch(() => {});
        await watcher?.stop().catch(() => {});
        await admin?.disconnect().catch(() => {});
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'two processes in one group split the partitions; when one is killed with SIGKILL the other takes its partitions over and nothing is lost',
    async () => {
      const input = await kafka.createTopic('wc2-in', PARTITIONS);
      const output = await kafka.createTopic('wc2-out', PARTITIONS);
      const groupId = `squall-test-wc2-${uid()}`;
      const tag = uid();
      const procs: WordCountProcess[] = [];
      let watcher: OutputWatcher | undefined;
      let writer: SentenceWriter | undefined;
      let admin: Admin | undefined;
      try {
        admin = await openAdmin(kafka.brokers);
        watcher = await OutputWatcher.start(kafka.brokers, output);
        writer = await SentenceWriter.open(kafka, input);
        const a = WordCountProcess.start('a', settings(input, output, groupId, { 'kafka.clientId': `wc-a-${tag}` }));
        procs.push(a);
        const b = WordCountProcess.start('b', settings(input, output, groupId, { 'kafka.clientId': `wc-b-${tag}` }));
        procs.push(b);
        const [runA, runB] = await Promise.all([a.runId(), b.runId()]);
        const adm = admin;
        const w = watcher;

        // The group settles with both members, two partitions each.
        let group = await describeGroup(adm, groupId);
        await waitFor(
          async () => {
            group = await describeGroup(adm, groupId);
            return group.state === 'Stable' && group.members.length === 2 && group.members.every((m) => m.partitions.length === 2);
          },
          'two members with two partitions each',
          30_000,
        );
        const ownedByA = group.members.find((m) => m.clientId === `wc-a-${tag}`)!.partitions;
        const ownedByB = group.members.find((m) => m.clientId === `wc-b-${tag}`)!.partitions;
        expect([...ownedByA, ...ownedByB].sort()).toEqual([0, 1, 2, 3]);

        // Phase 1: both count, each the words of its own partitions.
        const N1 = 2000;
        await writer.write(N1);
        await waitFor(() => w.srcs.size >= SentenceWriter.words(N1), 'phase 1 counted', 30_000);
        const phase1 = w.records.slice();
        expect(new Set(phase1.filter((r) => r.run === runA).map((r) => partitionOf(r.src)))).toEqual(new Set(ownedByA));
        expect(new Set(phase1.filter((r) => r.run === runB).map((r) => partitionOf(r.src)))).toEqual(new Set(ownedByB));
        // Both commit what they counted (the rebalance as b joined did not stall a's commits).
        await waitFor(
          async () => {
            const c = await committed(adm, groupId, input);
            return [0, 1, 2, 3].every((p) => c.get(p) === N1 / PARTITIONS);
          },
          'both processes to commit phase 1',
          10_000,
        );

        // Phase 2: more sentences, and process a is killed while they are counted.
        const N2 = 4000;
        const writing = writer.write(N2, 100, 20);
        await waitFor(() => w.records.filter((r) => r.run === runA).length >= phase1.filter((r) => r.run === runA).length + 1000, 'a to count some of phase 2', 30_000);
        const killed = await a.kill('SIGKILL');
        expect(killed.signal).toBe('SIGKILL');
        const committedAtKill = await committed(adm, groupId, input);
        await writing;

        // b takes over a's partitions once the broker drops a (session timeout 6 s).
        await waitFor(
          async () => {
            group = await describeGroup(adm, groupId);
            return group.state === 'Stable' && group.members.length === 1 && group.members[0]!.partitions.length === PARTITIONS;
          },
          'b alone to own all four partitions',
          30_000,
        );
        expect(group.members[0]!.clientId).toBe(`wc-b-${tag}`);

        // Phase 3: sentences written after the takeover.
        const N3 = 2000;
        await writer.write(N3);
        const N = N1 + N2 + N3;
        const totalWords = SentenceWriter.words(N);
        await waitFor(() => w.srcs.size >= totalWords, `all ${totalWords} input words on the output`, 40_000);
        const expected = await expectedSrcs(kafka, input, N);
        expect(expected.size).toBe(totalWords);
        // Every partition is committed to its end by the survivor.
        await waitFor(
          async () => {
            const c = await committed(adm, groupId, input);
            return [0, 1, 2, 3].every((p) => c.get(p) === N / PARTITIONS);
          },
          'b to commit every partition to its end',
          20_000,
        );
        const ended = await b.kill('SIGTERM');
        expect(ended.code).toBe(0);
        expect(ended.stdout).toContain('no errors reported');

        const missing = [...expected].filter((src) => !w.srcs.has(src));
        expect(missing).toEqual([]);
        const unknown = [...w.srcs.keys()].filter((src) => !expected.has(src));
        expect(unknown).toEqual([]);
        // The sentences written after the takeover (phase 3) in a's partitions were counted by b.
        const phase3From = (N1 + N2) / PARTITIONS;
        const takenOver = w.records.filter((r) => ownedByA.includes(partitionOf(r.src)) && offsetOf(r.src) >= phase3From);
        expect(new Set(takenOver.map((r) => r.src)).size).toBe(wordsIn(N1 + N2, N, ownedByA));
        expect(new Set(takenOver.map((r) => r.run))).toEqual(new Set([runB]));

        const r = repeats(w, runA, committedAtKill);
        const inAs = r.duplicated.filter(([src]) => ownedByA.includes(partitionOf(src))).length;
        console.log(
          `two-process test: ${N} inputs (${totalWords} words), ${w.records.length} output records, ${r.duplicates} duplicates ` +
            `(bound: ${r.uncommitted.size} words a counted beyond its commits; ${inAs} of the ${r.duplicated.length} repeated words in a's partitions ${JSON.stringify(ownedByA)}); ` +
            `a counted ${w.records.filter((x) => x.run === runA).length}, b ${w.records.filter((x) => x.run === runB).length}; ` +
            `committed at the kill ${JSON.stringify(Object.fromEntries(committedAtKill))}`,
        );
        if (r.duplicated.length > 0) console.log(`two-process test: duplicated srcs (first 10): ${r.sample}`);
        expect(w.records.length).toBe(totalWords + r.duplicates);
        // Only what a had counted and not committed is repeated, once at most.
        expectRepeatsBounded(r, committedAtKill);
      } finally {
        for (const p of procs) if (p.alive) await p.kill('SIGKILL').catch(() => {});
        await writer?.close().catch(() => {});
        await watcher?.stop().catch(() => {});
        await admin?.disconnect().catch(() => {});
      }
    },
    TEST_TIMEOUT_MS,
  );
});
