/**
 * The exactly-once Kafka word count (topologies/kafka-word-count-exactly-once.ts)
 * as real `squall run` processes against the real broker: input arrives
 * while the process is killed with SIGKILL twice mid-stream and started
 * again on the same state directory. At the end a read_committed consumer
 * of the output sees every input word counted exactly once (each output
 * record names its input word: header src = partition:offset:index), a
 * word's counts are exactly 1, 2, ..., n with n its true count, and no
 * transaction is left open.
 */
// squall's Kafka client before kafkajs: it fixes kafkajs's read_committed filter (docs/exactly-once.md).
import { createKafkaClient } from '../../src/kafka/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { nanoid } from 'nanoid';
import { describe, expect, it } from 'vitest';
import { srcOf, words } from '../../topologies/kafka-word-count.ts';
import { SENTENCES } from '../../topologies/word-count.ts';
import { spawnCli } from '../cli/cli.ts';
import type { Spawned } from '../cli/cli.ts';
import { useKafka } from '../support/kafka.ts';
import { submit } from '../../src/index.ts';
import { loadTopologyModule } from '../../src/topology/index.ts';
import { readCommitted } from '../support/kafka-txn.ts';

const PARTITIONS = 4;
const SENTENCE_COUNT = 12_000;
const uid = () => nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');
const sentence = (i: number) => SENTENCES[(i * 7 + (i >> 3)) % SENTENCES.length]!;

/** Sentences from..from+count-1 as records, sentence i to partition i % PARTITIONS. */
function records(from: number, count: number) {
  return Array.from({ length: Math.min(count, SENTENCE_COUNT - from) }, (_, k) => ({ key: String(from + k), value: sentence(from + k), partition: (from + k) % PARTITIONS }));
}


/** The whole output, read_committed, with every transaction ended: every input word once, each word's counts exactly 1..n. */
async function verifyOutput(brokers: string[], output: string, total: number): Promise<void> {
  // The whole output, read_committed, with every transaction ended.
  const records = await readCommitted(brokers, output, 60_000);
  expect(records, 'a transaction was left open on the output').not.toBeNull();
  const bySrc = new Map<string, number>();
  const countsOf = new Map<string, number[]>();
  for (const r of records!) {
    const src = r.headers['src']!;
    bySrc.set(src, (bySrc.get(src) ?? 0) + 1);
    const list = countsOf.get(r.key!) ?? [];
    list.push(Number(r.value));
    countsOf.set(r.key!, list);
  }
  const twice = [...bySrc].filter(([, n]) => n > 1);
  expect(twice.slice(0, 5), 'input words counted more than once').toEqual([]);
  expect(bySrc.size).toBe(total);
  // The input topic says which src every word has: the same set.
  const truth = new Map<string, number>();
  for (let i = 0; i < SENTENCE_COUNT; i++) for (const w of words(sentence(i))) truth.set(w, (truth.get(w) ?? 0) + 1);
  for (const [word, n] of truth) {
    const counts = (countsOf.get(word) ?? []).sort((a, b) => a - b);
    expect(counts.length, word).toBe(n);
    expect(counts[counts.length - 1], word).toBe(n);
    expect(new Set(counts).size, word).toBe(n);
  }
}

describe('exactly-once Kafka word count, killed with SIGKILL mid-stream', () => {
  const kafka = useKafka();

  it('counts every input word exactly once, exact counts, nothing left open', async () => {
    const input = await kafka.createTopic('eo-in', PARTITIONS);
    const output = await kafka.createTopic('eo-out', PARTITIONS);
    const dir = mkdtempSync(join(tmpdir(), 'squall-eo-'));
    const groupId = `squall-test-eo-${uid()}`;
    const set: Record<string, string | number> = {
      'kafka.brokers': kafka.brokers.join(','),
      input,
      output,
      'kafka.groupId': groupId,
      'kafka.sessionTimeoutMs': 6000,
      'transactional.idPrefix': `squall-test-eo-${uid()}`,
      checkpointIntervalMs: 300,
    };
    const args = ['run', 'topologies/kafka-word-count-exactly-once.ts', '--state-dir', dir];
    for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
    const env = { KAFKAJS_NO_PARTITIONER_WARNING: '1', SQUALL_KAFKA_SSL: '', SQUALL_KAFKA_SASL_MECHANISM: '', SQUALL_KAFKA_CLIENT_ID: '' };

    // The input arrives over a few seconds, while the processes come and go.
    const producer = createKafkaClient(kafka.clientOptions()).producer();
    await producer.connect();
    const writing = (async () => {
      for (let i = 0; i < SENTENCE_COUNT; i += 400) {
        await producer.send([{ topic: input, records: records(i, 400) }]);
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    // What a read_committed consumer sees as it goes: distinct input words counted.
    const client = new kafkajs.Kafka({ brokers: kafka.brokers, clientId: `squall-test-eo-watch-${uid()}`, logLevel: kafkajs.logLevel.NOTHING });
    const watcher = client.consumer({ groupId: `squall-test-eo-watch-${uid()}`, maxWaitTimeInMs: 100, readUncommitted: false });
    const seen = new Set<string>();
    await watcher.connect();
    await watcher.subscribe({ topic: output, fromBeginning: true });
    await watcher.run({
      eachMessage: async ({ message }) => {
        const src = message.headers?.['src']?.toString();
        if (src !== undefined) seen.add(src);
      },
    });

    let p: Spawned | null = null;
    try {
      for (const runMs of [2_500, 2_000]) {
        p = spawnCli(args, env);
        await p.stderrContains('running topology');
        await new Promise((r) => setTimeout(r, runMs));
        p.child.kill('SIGKILL');
        expect((await p.done).signal).toBe('SIGKILL');
        p = null;
      }
      let total = 0;
      for (let i = 0; i < SENTENCE_COUNT; i++) total += words(sentence(i)).length;
      // Mid-stream: the killed runs had not counted everything.
      expect(seen.size).toBeLessThan(total);
      p = spawnCli(args, env);
      await p.stderrContains('running topology');
      await writing;
      const deadline = Date.now() + 90_000;
      while (seen.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(seen.size).toBe(total);
      p.child.kill('SIGTERM');
      const end = await p.done;
      p = null;
      expect(end.code, end.stderr).toBe(0);

      await verifyOutput(kafka.brokers, output, total);
      expect(srcOf(0, 0, 0)).toBe('0:0:0');
    } finally {
      if (p !== null) p.child.kill('SIGKILL');
      await watcher.disconnect();
      await producer.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('exactly-once Kafka word count on 2 worker threads, a thread killed mid-run', () => {
  const kafka = useKafka();

  it('rolls back to the last checkpoint each time: every input word exactly once, exact counts', async () => {
    const input = await kafka.createTopic('eo-thr-in', PARTITIONS);
    const output = await kafka.createTopic('eo-thr-out', PARTITIONS);
    const dir = mkdtempSync(join(tmpdir(), 'squall-eo-thr-'));
    const topology = await loadTopologyModule('topologies/kafka-word-count-exactly-once.ts');
    const config = {
      'kafka.brokers': kafka.brokers.join(','),
      input,
      output,
      'kafka.groupId': `squall-test-eo-thr-${uid()}`,
      'kafka.sessionTimeoutMs': 6000,
      'transactional.idPrefix': `squall-test-eo-thr-${uid()}`,
      checkpointIntervalMs: 300,
    };
    const producer = createKafkaClient(kafka.clientOptions()).producer();
    await producer.connect();
    const total = await (async () => {
      let t = 0;
      for (let i = 0; i < SENTENCE_COUNT; i++) t += words(sentence(i)).length;
      return t;
    })();
    const run = await submit(topology, { threads: 2, config, state: { dir } });
    try {
      for (let i = 0; i < SENTENCE_COUNT; i += 400) {
        await producer.send([{ topic: input, records: records(i, 400) }]);
        await new Promise((r) => setTimeout(r, 100));
        // Kill a thread twice while the input is still arriving, once each.
        if (i === 4_000 || i === 8_000) run.crashHost(i === 4_000 ? 0 : 1);
      }
      const deadline = Date.now() + 120_000;
      for (;;) {
        await run.refresh();
        const m = run.metrics().components.find((c) => c.id === 'out')!;
        if (m.executed >= total && (run.checkpoints()?.rollbacks ?? 0) >= 2) {
          // Everything that reached the sink since the last rollback: wait for a checkpoint after it to commit it.
          await run.checkpoint();
          const records = await readCommitted(kafka.brokers, output, 10_000);
          if (records !== null && new Set(records.map((r) => r.headers['src'])).size >= total) break;
        }
        if (Date.now() > deadline) throw new Error(`the output did not complete: ${JSON.stringify(run.checkpoints())}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(run.checkpoints()!.rollbacks).toBeGreaterThanOrEqual(2);
      await run.kill({ waitMs: 0 });
      await verifyOutput(kafka.brokers, output, total);
    } finally {
      if (run.status !== 'killed') await run.kill({ waitMs: 0 }).catch(() => {});
      await producer.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
