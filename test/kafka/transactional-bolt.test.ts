/**
 * The transactional KafkaBolt against the real broker, driven through its
 * checkpoint hooks as the runtime calls them (snapshotState at the barrier,
 * notifyCheckpointComplete once the checkpoint is durable, restoreState
 * before prepare after a crash). A "crash" drops a bolt without cleanup:
 * its producers stay connected, as a dead process's transactions stay open
 * on the broker; and one test kills a child process with SIGKILL in the
 * middle of writing. Every check reads the output with read_committed.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { nanoid } from 'nanoid';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaBolt } from '../../src/kafka/index.ts';
import type { KafkaBoltOptions, TransactionalSnapshot } from '../../src/kafka/index.ts';
import { prepareBolt, testTuple } from '../../src/testing/index.ts';
import type { RestoredState } from '../../src/state/index.ts';
import { readCommitted, readUncommitted } from '../support/kafka-txn.ts';
import { useKafka } from '../support/kafka.ts';

const uid = () => nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');

describe('transactional KafkaBolt against a real broker', () => {
  const kafka = useKafka();
  const live: KafkaBolt[] = [];

  afterAll(async () => {
    // Crashed bolts' producers are fenced by now; their cleanup aborts nothing and disconnects.
    await Promise.all(live.map((b) => Promise.resolve(b.cleanup()).catch(() => undefined)));
  });

  function options(topic: string, idPrefix: string, extra: Partial<KafkaBoltOptions> = {}): KafkaBoltOptions {
    return {
      brokers: kafka.brokers,
      topic,
      client: kafka.clientOptions(),
      batchSize: 7,
      lingerMs: 1,
      map: (t) => ({ key: `k${(t.get('id') as number) % 5}`, value: `record ${(t.get('id') as number)}`, headers: { id: String((t.get('id') as number)) } }),
      transactional: { idPrefix, ...extra.transactional },
      ...extra,
    };
  }

  /** A prepared transactional bolt (task `index` of `parallelism`), restored first when `restore` is given. */
  async function sink(opts: KafkaBoltOptions, restore?: RestoredState, index = 0, parallelism = 1): Promise<KafkaBolt> {
    const bolt = new KafkaBolt(opts);
    live.push(bolt);
    if (restore !== undefined) bolt.restoreState(restore);
    const tasks = Array.from({ length: parallelism }, (_, i) => i + 1);
    await prepareBolt(bolt, { componentId: 'sink', taskId: index + 1, componentTasks: tasks, config: { checkpointIntervalMs: 1000 } });
    return bolt;
  }

  function write(bolt: KafkaBolt, from: number, to: number): void {
    for (let id = from; id < to; id++) bolt.execute(testTuple([id], { fields: ['id'] }));
  }

  const snapshot = async (bolt: KafkaBolt, n: number) => (await bolt.snapshotState(n))!;

  function restored(checkpointId: number, snapshots: TransactionalSnapshot[], previousParallelism = snapshots.length): RestoredState {
    const all = snapshots.map((value) => ({ taskIndex: value.taskIndex, value }));
    return { checkpointId, own: all[0]?.value, all, previousParallelism };
  }

  /** The ids a read_committed consumer sees, sorted; fails if an open transaction blocks the topic. */
  async function committedIds(topic: string): Promise<number[]> {
    const records = await readCommitted(kafka.brokers, topic);
    expect(records, 'read_committed consumers are blocked by an open transaction').not.toBeNull();
    return records!.map((r) => Number(r.headers['id'])).sort((a, b) => a - b);
  }

  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it('writes one transaction per checkpoint: read_committed consumers see each record once, once its checkpoint completed', async () => {
    const topic = await kafka.createTopic('txn');
    const bolt = await sink(options(topic, `t-${uid()}`));
    write(bolt, 0, 30);
    const s1 = await snapshot(bolt, 1);
    expect(s1.pending.map((p) => [p.checkpointId, p.records.length])).toEqual([[1, 30]]);
    // Pre-committed: on the topic, but not visible to read_committed consumers.
    expect((await readUncommitted(kafka.brokers, topic, 30)).length).toBe(30);
    expect(await readCommitted(kafka.brokers, topic, 3000)).toBeNull();
    await bolt.notifyCheckpointComplete(1);
    expect(await committedIds(topic)).toEqual(range(0, 30));

    write(bolt, 30, 50);
    const s2 = await snapshot(bolt, 2);
    expect(s2.pending.map((p) => p.checkpointId)).toEqual([2]);
    await bolt.notifyCheckpointComplete(2);
    // A checkpoint with nothing written pre-commits nothing.
    expect((await snapshot(bolt, 3)).pending).toEqual([]);
    await bolt.notifyCheckpointComplete(3);
    expect(await committedIds(topic)).toEqual(range(0, 50));
    await bolt.cleanup();
  });

  it('a crash after the pre-commit: the restored task commits the checkpoint from its write-ahead log once, and the dead task cannot commit', async () => {
    const topic = await kafka.createTopic('txn-crash');
    const opts = options(topic, `t-${uid()}`);
    const dead = await sink(opts);
    write(dead, 0, 10);
    await snapshot(dead, 1);
    await dead.notifyCheckpointComplete(1);
    write(dead, 10, 20);
    const s2 = await snapshot(dead, 2);
    write(dead, 20, 25); // after barrier 2: the spout replays these after the restore
    await new Promise((r) => setTimeout(r, 50)); // let them reach the broker: an open transaction
    // Crash: checkpoint 2 is durable, its transaction not committed.

    const next = await sink(opts, restored(2, [s2]));
    expect(await committedIds(topic)).toEqual(range(0, 20));
    // The dead task's producer was fenced: its late commit fails and writes nothing.
    await expect(dead.notifyCheckpointComplete(2)).rejects.toMatchObject({ code: 'E_KAFKA' });
    write(next, 20, 25);
    await snapshot(next, 3);
    await next.notifyCheckpointComplete(3);
    expect(await committedIds(topic)).toEqual(range(0, 25));
    await next.cleanup();
  });

  it('a crash after the commit: the marker of the checkpoint keeps the restored task from writing it again', async () => {
    const topic = await kafka.createTopic('txn-marker');
    const opts = options(topic, `t-${uid()}`);
    const dead = await sink(opts);
    write(dead, 0, 10);
    await snapshot(dead, 1);
    write(dead, 10, 20);
    const s2 = await snapshot(dead, 2);
    expect(s2.pending.map((p) => p.checkpointId)).toEqual([1, 2]);
    await dead.notifyCheckpointComplete(2); // commits 1 and 2, oldest first
    // Crash before anything else: the restored task gets 2's write-ahead log (pending 1 and 2), both committed already.
    const next = await sink(opts, restored(2, [s2]));
    expect(await committedIds(topic)).toEqual(range(0, 20));
    await next.cleanup();
  });

  it('a transaction a dead run left open is aborted at a fresh start, so read_committed consumers are not blocked', async () => {
    const topic = await kafka.createTopic('txn-fresh');
    const opts = options(topic, `t-${uid()}`);
    const dead = await sink(opts);
    write(dead, 0, 10);
    await snapshot(dead, 1);
    await dead.notifyCheckpointComplete(1);
    write(dead, 10, 20);
    await snapshot(dead, 2); // pre-committed, never completed
    write(dead, 20, 30); // open
    await new Promise((r) => setTimeout(r, 50));
    expect(await readCommitted(kafka.brokers, topic, 3000)).toBeNull();
    const next = await sink(opts);
    expect(await committedIds(topic)).toEqual(range(0, 10));
    await next.cleanup();
  });

  it('an aborted checkpoint frees its producer: its records go out with the next checkpoint, and a full pool declines a checkpoint without losing anything', async () => {
    const topic = await kafka.createTopic('txn-abort');
    const bolt = await sink(options(topic, `t-${uid()}`, { transactional: { idPrefix: `t-${uid()}`, poolSize: 2 } }));
    write(bolt, 0, 10);
    await snapshot(bolt, 1);
    write(bolt, 10, 20);
    // Pool of 2: transaction 1 waits for its checkpoint, the open one has no producer to move to.
    await expect(bolt.snapshotState(2)).rejects.toMatchObject({ code: 'E_BAD_STATE', details: { poolSize: 2 } });
    await bolt.notifyCheckpointAborted(2);
    await bolt.notifyCheckpointAborted(1);
    write(bolt, 20, 30);
    const s3 = await snapshot(bolt, 3);
    expect(s3.pending.map((p) => [p.checkpointId, p.records.length])).toEqual([[3, 30]]);
    await bolt.notifyCheckpointComplete(3);
    expect(await committedIds(topic)).toEqual(range(0, 30));
    await bolt.cleanup();
  });

  it('an aborted checkpoint between two pending ones joins the later one, so a restore from that one neither loses nor repeats it', async () => {
    const topic = await kafka.createTopic('txn-fold');
    const opts = options(topic, `t-${uid()}`, { transactional: { idPrefix: `t-${uid()}`, poolSize: 4 } });
    const dead = await sink(opts);
    write(dead, 0, 10);
    await snapshot(dead, 1);
    write(dead, 10, 20);
    const s2 = await snapshot(dead, 2);
    write(dead, 20, 30);
    await dead.notifyCheckpointAborted(1); // 1's records move into 2's transaction
    await dead.notifyCheckpointComplete(2);
    expect(await readCommitted(kafka.brokers, topic, 3000)).toBeNull(); // 20..29 are open
    // Crash: restore from 2, whose log holds 1 and 2 apart; 2's marker covers both.
    const next = await sink(opts, restored(2, [s2]));
    expect(await committedIds(topic)).toEqual(range(0, 20));
    await next.cleanup();
  });

  it('rescale from two tasks to one: the remaining task fences both pools and commits both tasks\' pending transactions', async () => {
    const topic = await kafka.createTopic('txn-rescale');
    const opts = options(topic, `t-${uid()}`);
    const a = await sink(opts, undefined, 0, 2);
    const b = await sink(opts, undefined, 1, 2);
    write(a, 0, 10);
    write(b, 100, 110);
    const sa = await snapshot(a, 1);
    const sb = await snapshot(b, 1);
    write(a, 10, 15); // open, on both
    write(b, 110, 115);
    await new Promise((r) => setTimeout(r, 50));
    const one = await sink(opts, restored(1, [sa, sb], 2), 0, 1);
    const ids = await committedIds(topic);
    expect(ids).toEqual([...range(0, 10), ...range(100, 110)]);
    await one.cleanup();
  });

  it('survives kill -9 of a process in the middle of transactional writes: the restart commits the last checkpoint exactly once', async () => {
    const topic = await kafka.createTopic('txn-kill');
    const idPrefix = `t-${uid()}`;
    const out = join(tmpdir(), `squall-txn-${uid()}.bin`);
    const script = new URL('./fixtures/transactional-writer.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', script, kafka.brokers.join(','), topic, idPrefix, out], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
    // Killed once it has checkpoint 2 saved and keeps writing the open transaction of checkpoint 3.
    const deadline = Date.now() + 60_000;
    while (!/writing 3: \d*[1-9]\d* sent/.test(stdout)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the writer did not get to checkpoint 3: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const s2 = deserialize(await readFile(out)) as TransactionalSnapshot;
    await rm(out, { force: true });
    expect(s2.pending.map((p: { checkpointId: number }) => p.checkpointId)).toEqual([2]);
    expect(await readCommitted(kafka.brokers, topic, 3000)).toBeNull(); // the dead process's transactions hold the topic
    const next = await sink(options(topic, idPrefix), restored(2, [s2]));
    expect(await committedIds(topic)).toEqual(range(0, 200));
    await next.cleanup();
  });

  it('rejects a transactional KafkaBolt without an idPrefix, without checkpoints, or with a transaction timeout checkpoints cannot meet', async () => {
    const topic = kafka.topicName('unused');
    const prep = (o: KafkaBoltOptions, config: Record<string, unknown> = { checkpointIntervalMs: 1000 }) =>
      prepareBolt(new KafkaBolt(o), { componentId: 'sink', config });
    await expect(prep(options(topic, ''))).rejects.toMatchObject({ code: 'E_BAD_CONFIG', details: { key: 'transactional.idPrefix' } });
    await expect(prep(options(topic, 'a b'))).rejects.toMatchObject({ code: 'E_BAD_CONFIG', details: { key: 'transactional.idPrefix' } });
    await expect(prep(options(topic, 'ok'), { checkpointIntervalMs: 0 })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', details: { key: 'checkpointIntervalMs' } });
    await expect(prep(options(topic, 'ok', { transactional: { idPrefix: 'ok', transactionTimeoutMs: 30_000 } }))).rejects.toMatchObject({
      code: 'E_BAD_CONFIG',
      details: { key: 'transactional.transactionTimeoutMs' },
    });
    await expect(prep(options(topic, 'ok', { transactional: { idPrefix: 'ok', poolSize: 1 } }))).rejects.toMatchObject({
      code: 'E_BAD_CONFIG',
      details: { key: 'transactional.poolSize' },
    });
  });
});
