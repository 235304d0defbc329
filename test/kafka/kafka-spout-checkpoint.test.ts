/**
 * KafkaSpout positions in checkpoint mode, against the real broker, driven
 * through the hooks as the runtime calls them: snapshotState between
 * nextTuple calls, notifyCheckpointComplete once the checkpoint is durable,
 * restoreState before open on a restore.
 */
import { nanoid } from 'nanoid';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaSpout } from '../../src/kafka/index.ts';
import type { KafkaSpoutOptions, KafkaSpoutPosition } from '../../src/kafka/index.ts';
import type { SpoutOutputCollector } from '../../src/index.ts';
import type { RestoredState } from '../../src/state/index.ts';
import { testContext } from '../../src/testing/index.ts';
import { useKafka } from '../support/kafka.ts';
import kafkajs from 'kafkajs';

const uid = () => nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');

/** Records every emitted value; emits are untracked, as with `ackers: 0`. */
class Emits implements SpoutOutputCollector {
  readonly values: string[] = [];
  readonly errors: unknown[] = [];
  readonly pending = 0;
  emit(values: unknown[]): void {
    this.values.push(values[1] as string); // stringRecords: key, value, topic, …
  }
  emitTo(_s: string, values: unknown[]): void {
    this.emit(values);
  }
  emitDirect(_t: number, _s: string, values: unknown[]): void {
    this.emit(values);
  }
  reportError(error: unknown): void {
    this.errors.push(error);
  }
  emitWatermark(_time: number): void {}
}

describe('KafkaSpout positions in checkpoint mode, against a real broker', () => {
  const kafka = useKafka();
  const open: KafkaSpout[] = [];

  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  /** 30 records on each of 3 partitions: values 'p<partition>-<i>'. */
  async function input(): Promise<{ topic: string; all: string[] }> {
    const topic = await kafka.createTopic('pos', 3);
    const records = [];
    for (let p = 0; p < 3; p++) for (let i = 0; i < 30; i++) records.push({ partition: p, key: null, value: `p${p}-${i}` });
    await kafka.produce(topic, records);
    return { topic, all: records.map((r) => r.value) };
  }

  async function spout(options: KafkaSpoutOptions, restore?: RestoredState, taskIndex = 0, parallelism = 1): Promise<{ spout: KafkaSpout; emits: Emits }> {
    const s = new KafkaSpout({ brokers: kafka.brokers, client: kafka.clientOptions(), sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, ...options });
    open.push(s);
    if (restore !== undefined) s.restoreState(restore);
    const emits = new Emits();
    const tasks = Array.from({ length: parallelism }, (_, i) => i + 1);
    await s.open(testContext(s, { componentId: 'in', taskId: taskIndex + 1, componentTasks: tasks, config: { checkpointIntervalMs: 1000 } }), emits);
    return { spout: s, emits };
  }

  /** Call nextTuple until `n` more values were emitted (or fail after a while). */
  async function pull(s: KafkaSpout, emits: Emits, n: number): Promise<void> {
    const want = emits.values.length + n;
    const deadline = Date.now() + 30_000;
    while (emits.values.length < want) {
      s.nextTuple();
      if (emits.values.length < want) await new Promise((r) => setTimeout(r, 2));
      if (Date.now() > deadline) throw new Error(`only ${emits.values.length} of ${want} emitted`);
    }
  }

  const restoredFrom = (checkpointId: number, values: KafkaSpoutPosition[]): RestoredState => ({
    checkpointId,
    own: values[0],
    all: values.map((value, taskIndex) => ({ taskIndex, value })),
    previousParallelism: values.length,
  });

  /** Move the group's committed offsets to the end of every partition (the group must have no member). */
  async function commitToEnd(groupId: string, topic: string): Promise<void> {
    const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId, topic, earliest: false });
    } finally {
      await admin.disconnect();
    }
  }

  it('snapshots the next offset to emit per partition, commits it to the group when the checkpoint completes, and a restore goes on from it whatever the group committed since', async () => {
    const { topic, all } = await input();
    const groupId = `g-${uid()}`;
    const a = await spout({ topics: [topic], groupId });
    await pull(a.spout, a.emits, 40);
    const s1 = a.spout.snapshotState(1);
    const emitted = new Map<number, number>();
    for (const v of a.emits.values) {
      const p = Number(v.slice(1, v.indexOf('-')));
      emitted.set(p, (emitted.get(p) ?? 0) + 1);
    }
    // Each partition's position is the offset after its last emitted record (offsets start at 0).
    expect([...s1.offsets].sort((x, y) => x[1] - y[1])).toEqual([0, 1, 2].filter((p) => emitted.has(p)).map((p) => [topic, p, emitted.get(p)!]));
    await pull(a.spout, a.emits, 10); // after the barrier: not in checkpoint 1
    await a.spout.notifyCheckpointComplete(1);
    const committed = await kafka.committed(groupId, topic);
    for (const [, p, off] of s1.offsets) expect(committed.get(p)).toBe(off);
    await a.spout.close();

    // The group moves on (another tool, or periodic commits of an earlier release): the checkpoint still wins.
    await commitToEnd(groupId, topic);
    const b = await spout({ topics: [topic], groupId }, restoredFrom(1, [s1]));
    await pull(b.spout, b.emits, all.length - 40);
    // Rolled back to checkpoint 1: what a emitted before it, then b from there, is every record exactly once.
    expect([...a.emits.values.slice(0, 40), ...b.emits.values].sort()).toEqual([...all].sort());
    expect(b.emits.errors).toEqual([]);
  });

  it('restores at a higher parallelism: each partition is sought to its position when the group assigns it, so the tasks together emit the rest exactly once', async () => {
    const { topic, all } = await input();
    const groupId = `g-${uid()}`;
    const a = await spout({ topics: [topic], groupId });
    await pull(a.spout, a.emits, 25);
    const s1 = a.spout.snapshotState(1);
    await a.spout.close(); // a crash: nothing completed, nothing committed to the group

    const restore = restoredFrom(1, [s1]);
    const b0 = await spout({ topics: [topic], groupId }, restore, 0, 2);
    const b1 = await spout({ topics: [topic], groupId }, restore, 1, 2);
    // Wait until the group has handed out all 3 partitions between the two (a rebalance after b1 joined).
    const deadline = Date.now() + 30_000;
    while (b0.spout.stats().owned.length + b1.spout.stats().owned.length !== 3 || b1.spout.stats().owned.length === 0) {
      if (Date.now() > deadline) throw new Error('the group did not assign the partitions to both tasks');
      await new Promise((r) => setTimeout(r, 50));
    }
    const rest = all.length - 25;
    const deadline2 = Date.now() + 30_000;
    while (b0.emits.values.length + b1.emits.values.length < rest) {
      b0.spout.nextTuple();
      b1.spout.nextTuple();
      await new Promise((r) => setTimeout(r, 1));
      if (Date.now() > deadline2) throw new Error(`only ${b0.emits.values.length + b1.emits.values.length} of ${rest} emitted`);
    }
    expect([...a.emits.values, ...b0.emits.values, ...b1.emits.values].sort()).toEqual([...all].sort());
    // A checkpoint taken now holds every partition, from whichever task owns it.
    const s2 = [b0.spout.snapshotState(2), b1.spout.snapshotState(2)];
    const byPartition = new Map<number, number>();
    for (const s of s2) for (const [, p, off] of s.offsets) byPartition.set(p, Math.max(byPartition.get(p) ?? 0, off));
    expect([...byPartition].sort()).toEqual([
      [0, 30],
      [1, 30],
      [2, 30],
    ]);
  });

  it('rejects a restored state that is not a KafkaSpout position', () => {
    const s = new KafkaSpout({ brokers: kafka.brokers, topics: ['x'] });
    expect(() => s.restoreState({ checkpointId: 3, own: { n: 1 }, all: [{ taskIndex: 0, value: { n: 1 } }], previousParallelism: 1 })).toThrow(
      expect.objectContaining({ code: 'E_BAD_STATE', details: { checkpointId: 3, taskIndex: 0 } }),
    );
  });
});
