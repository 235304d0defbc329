/**
 * KafkaSpout's event-time watermarks per partition against the real broker:
 * out-of-order records over several partitions, a partition that lags (it
 * holds the watermark) and one that goes quiet (after idleTimeoutMs it does
 * not), every partition quiet (the last windows still fire), and a restored
 * spout that goes on from its checkpointed per-partition watermarks.
 */
import { nanoid } from 'nanoid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BasicBolt, SimulatedClock, TopologyBuilder, submit } from '../../src/index.ts';
import type { OutputDeclarer, SpoutOutputCollector, TimeDomain, TopologyContext, Tuple, ValueState } from '../../src/index.ts';
import { KafkaSpout, createKafkaClient, jsonRecords } from '../../src/kafka/index.ts';
import type { KafkaEventTimeOptions, KafkaEventTimeStats, KafkaSpoutOptions, KafkaSpoutPosition, ProducerRecord } from '../../src/kafka/index.ts';
import type { RestoredState } from '../../src/state/index.ts';
import { testContext } from '../../src/testing/index.ts';
import { until } from '../helpers.ts';
import { useKafka } from '../support/kafka.ts';

const uid = () => nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');

/** Event times are `BASE + t`: near now, as the broker's time-based retention expects. */
const BASE = Math.floor(Date.now() / 1000) * 1000;
/** The window the bolt counts: event time [BASE, BASE + END). */
const END = 4000;
const OOO = 500;

interface Fired {
  key: string;
  count: number;
  watermark: number;
  /** The spout's event time when the timer fired. */
  spout: KafkaEventTimeStats | null;
}
const fired: Fired[] = [];
/** Records that reached the bolt with an event time behind its watermark. */
const late: { key: string; ts: number; watermark: number }[] = [];
const spouts: KafkaSpout[] = [];

/** Per key: the records of event time [BASE, BASE + END); an event-time timer at BASE + END emits the count. */
class FirstWindow extends BasicBolt {
  private count!: ValueState<number>;
  private context!: TopologyContext;
  declareOutputFields(_d: OutputDeclarer): void {}
  override prepare(context: TopologyContext): void {
    this.context = context;
    this.count = context.state.value<number>('count');
  }
  execute(input: Tuple): void {
    const ts = input.getNumber('timestamp');
    const wm = this.context.state.timers.currentWatermark();
    if (ts < wm) late.push({ key: input.getString('key'), ts, watermark: wm });
    if (ts >= BASE + END) return;
    if (this.count.get() === undefined) this.context.state.timers.registerEventTimeTimer(BASE + END);
    this.count.set((this.count.get() ?? 0) + 1);
  }
  override onTimer(_time: number, domain: TimeDomain): void {
    const s = this.context.state;
    fired.push({ key: s.currentKey!, count: this.count.get()!, watermark: s.timers.currentWatermark(), spout: spouts.at(-1)?.stats().eventTime ?? null });
    expect(domain).toBe('event');
  }
}

/** A record of key `key` at event time BASE + t on partition p: the time is in the JSON value and is the record's timestamp. */
const rec = (p: number, key: string, t: number): ProducerRecord => ({ partition: p, key, value: JSON.stringify({ ts: BASE + t }), timestamp: BASE + t });

/** n records on partition p with event times in [from, to), out of order by up to 320 ms (under OOO), keys k0..k5. */
function spread(p: number, n: number, from: number, to: number): ProducerRecord[] {
  const out: ProducerRecord[] = [];
  const step = (to - from) / n;
  for (let i = 0; i < n; i++) out.push(rec(p, `k${(i + p) % 6}`, Math.min(to - 1, Math.floor(from + i * step + ((i * 37 + p) % 5) * 80))));
  return out;
}

/** What the bolt must count per key: the records of event time below END. */
function truth(records: readonly ProducerRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) if (r.timestamp! < BASE + END) m.set(r.key as string, (m.get(r.key as string) ?? 0) + 1);
  return m;
}

describe('KafkaSpout event time per partition, against a real broker', () => {
  const kafka = useKafka();

  beforeEach(() => {
    fired.length = 0;
    late.length = 0;
    spouts.length = 0;
  });

  function topology(name: string, options: KafkaSpoutOptions, spoutTasks = 1) {
    const b = new TopologyBuilder(name);
    b.setSpout(
      'in',
      () => {
        const s = new KafkaSpout({ brokers: kafka.brokers, client: kafka.clientOptions(), sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 50, ...options });
        spouts.push(s);
        return s;
      },
      { watermarks: {}, parallelism: spoutTasks },
    );
    b.setBolt('window', () => new FirstWindow(), { parallelism: 2 }).fieldsGrouping('in', ['key']);
    return b.build();
  }

  async function producer() {
    const p = createKafkaClient(kafka.clientOptions()).producer();
    await p.connect();
    return p;
  }

  it('out of order over three partitions: a lagging partition holds the watermark (nothing is late), a quiet one stops holding it after idleTimeoutMs, and the windows fire once the lagging one is past', async () => {
    const topic = await kafka.createTopic('et', 3);
    // p0 runs ahead (up to twice END); p1 stops short of END and goes quiet; p2 trickles in, slowly in event time.
    const ahead = [...spread(0, 100, 0, END), ...spread(0, 50, END, 2 * END)];
    const quiet = spread(1, 100, 0, END - OOO);
    await kafka.produce(topic, [...ahead, ...quiet]);
    const t = topology('kafka-et-lag', {
      topics: [topic],
      groupId: `g-${uid()}`,
      deserializer: jsonRecords,
      eventTime: { timestamp: (_r, v) => (v[1] as { ts: number }).ts, maxOutOfOrdernessMs: OOO, idleTimeoutMs: 1000, intervalMs: 20 },
    });
    const run = await submit(t);
    const p = await producer();
    const trickled: ProducerRecord[] = [];
    try {
      await until(() => (spouts.at(-1)?.stats().emitted ?? 0) >= ahead.length + quiet.length, 'p0 and p1 read', 20_000);
      // p2: a record every 100 ms, 250 ms of event time on each, to 2 s past END + OOO: 30 records over 3 s, every gap well under the idle timeout.
      for (let i = 0; i * 250 < END + OOO + 2000; i++) {
        const r = rec(2, `k${i % 6}`, i * 250);
        trickled.push(r);
        await p.send([{ topic, records: [r] }]);
        // p0 is far ahead, p1 stopped short of END: until p2 is past END + OOO nothing may fire.
        if (i * 250 < END) expect(fired).toEqual([]);
        await new Promise((r) => setTimeout(r, 100));
      }
      const want = truth([...ahead, ...quiet, ...trickled]);
      await until(() => fired.length === want.size, 'every key fired', 20_000);
      expect(new Map(fired.map((f) => [f.key, f.count]))).toEqual(want);
      for (const f of fired) {
        expect(f.watermark).toBeGreaterThanOrEqual(BASE + END);
        // It fired on p0 and p2 while p1 was idle: the task itself was not.
        const byPartition = new Map(f.spout!.partitions.map((x) => [x.partition, x]));
        expect([byPartition.get(1)!.idle, byPartition.get(2)!.idle, f.spout!.idle]).toEqual([true, false, false]);
      }
      // The watermark never passed a record not yet emitted from a partition that is not idle.
      expect(late).toEqual([]);
      const stats = spouts.at(-1)!.stats();
      expect(stats.eventTime!.late).toBe(0);
      expect(stats.eventTime!.badTimestamps).toBe(0);
      expect(run.metrics().errors).toEqual([]);
    } finally {
      await p.disconnect();
      await run.kill({ waitMs: 5000 });
    }
  }, 60_000);

  it('more spout tasks than partitions: the task the group gives no partition says it is idle, and the bolts do not wait for it', async () => {
    const topic = await kafka.createTopic('et-spare', 1);
    const run = await submit(topology('kafka-et-spare', { topics: [topic], groupId: `g-${uid()}`, deserializer: jsonRecords, eventTime: { timestamp: 'record', maxOutOfOrdernessMs: OOO, intervalMs: 20 } }, 2));
    try {
      // Both members in the group, the one partition given to one of them: no rebalance moves it after this.
      const tasks = () => spouts.slice(-2);
      await until(() => tasks().length === 2 && tasks().every((s) => s.stats().joins >= 1) && tasks().reduce((n, s) => n + s.stats().owned.length, 0) === 1, 'both spout tasks joined, one owning the partition', 30_000);
      // The partition runs past END + OOO; idleness is off, so only the spare task's idle flag lets the windows fire.
      const records = [...spread(0, 80, 0, END), ...spread(0, 20, END + OOO, END + OOO + 500)];
      await kafka.produce(topic, records);
      const want = truth(records);
      await until(() => fired.length === want.size, 'every key fired', 30_000);
      expect(new Map(fired.map((f) => [f.key, f.count]))).toEqual(want);
      expect(late).toEqual([]);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
  }, 60_000);

  it("every partition quiet: after idleTimeoutMs the watermark moves on with the clock and the last windows fire (the record's own timestamp as event time)", async () => {
    const topic = await kafka.createTopic('et-idle', 3);
    const records = [...spread(0, 60, 0, END - OOO), ...spread(1, 60, 0, END - OOO), ...spread(2, 60, 0, END - OOO)];
    await kafka.produce(topic, records);
    const run = await submit(
      topology('kafka-et-idle', { topics: [topic], groupId: `g-${uid()}`, deserializer: jsonRecords, eventTime: { timestamp: 'record', maxOutOfOrdernessMs: OOO, idleTimeoutMs: 800, intervalMs: 20 } }),
    );
    try {
      const want = truth(records);
      await until(() => fired.length === want.size, 'every key fired', 30_000);
      expect(new Map(fired.map((f) => [f.key, f.count]))).toEqual(want);
      // Nothing can have got the watermark to END but the clock: every partition stops short of it.
      for (const f of fired) {
        expect(f.spout!.idle).toBe(true);
        expect(f.spout!.partitions.every((x) => x.idle && x.watermark < BASE + END - OOO)).toBe(true);
      }
      expect(late).toEqual([]);
      expect(run.metrics().errors).toEqual([]);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
  }, 60_000);
});

/** Records every emitted tuple's partition and event time, and every watermark sent. */
class Emits implements SpoutOutputCollector {
  readonly records: { partition: number; ts: number }[] = [];
  readonly watermarks: [number, boolean][] = [];
  /** Records (by their index in `records`) and watermarks in the order they were emitted. */
  readonly log: ({ record: number } | { watermark: number })[] = [];
  readonly errors: unknown[] = [];
  readonly pending = 0;
  emit(values: unknown[]): void {
    this.log.push({ record: this.records.length });
    this.records.push({ partition: values[3] as number, ts: (values[1] as { ts: number }).ts });
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
  emitWatermark(time: number, idle?: boolean): void {
    this.log.push({ watermark: time });
    this.watermarks.push([time, idle === true]);
  }
  /** The largest event time emitted per partition. */
  maxPerPartition(): Map<number, number> {
    const m = new Map<number, number>();
    for (const r of this.records) m.set(r.partition, Math.max(m.get(r.partition) ?? -Infinity, r.ts));
    return m;
  }
}

/** The spouts a describe's tests open, closed after each test. */
function closedAfterEach(): KafkaSpout[] {
  const open: KafkaSpout[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  });
  return open;
}

/** A new topic of `partitions` partitions holding one JSON record {"ts": t} per [partition, t] given, in that order. */
async function tsTopic(kafka: ReturnType<typeof useKafka>, name: string, partitions: number, entries: Iterable<readonly [number, number]>): Promise<string> {
  const topic = await kafka.createTopic(name, partitions);
  const records: ProducerRecord[] = [];
  for (const [partition, ts] of entries) records.push({ partition, key: null, value: JSON.stringify({ ts }) });
  await kafka.produce(topic, records);
  return topic;
}

/** Spout options of these tests: quick group timings, JSON values, event time from the value's `ts`. */
function tsSpoutOptions(kafka: ReturnType<typeof useKafka>, topic: string, groupId: string, eventTime: Omit<KafkaEventTimeOptions, 'timestamp'>): KafkaSpoutOptions {
  return {
    brokers: kafka.brokers,
    client: kafka.clientOptions(),
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    topics: [topic],
    groupId,
    deserializer: jsonRecords,
    eventTime: { timestamp: (_r, v) => (v[1] as { ts: number }).ts, ...eventTime },
  };
}

describe('KafkaSpout per-partition watermarks in checkpoints, against a real broker', () => {
  const kafka = useKafka();
  const open = closedAfterEach();

  /** 30 records on each of 3 partitions; partition p's event times are p * apart + 10 i, in order. */
  function input(apart = 1000): Promise<string> {
    const entries: [number, number][] = [];
    for (let p = 0; p < 3; p++) for (let i = 0; i < 30; i++) entries.push([p, p * apart + i * 10]);
    return tsTopic(kafka, 'et-pos', 3, entries);
  }

  async function spout(topic: string, groupId: string, restore?: RestoredState, waitForAll = true, o: { restoreHoldMs?: number; taskId?: number; componentTasks?: number[] } = {}) {
    const s = new KafkaSpout(
      tsSpoutOptions(kafka, topic, groupId, { maxOutOfOrdernessMs: 5, intervalMs: 10, ...(o.restoreHoldMs !== undefined ? { restoreHoldMs: o.restoreHoldMs } : {}) }),
    );
    open.push(s);
    if (restore !== undefined) s.restoreState(restore);
    const emits = new Emits();
    const clock = new SimulatedClock();
    const task = o.taskId !== undefined ? { taskId: o.taskId, componentTasks: o.componentTasks ?? [o.taskId] } : {};
    await s.open(testContext(s, { componentId: 'in', clock, config: { checkpointIntervalMs: 1000 }, ...task }), emits);
    if (waitForAll) await until(() => s.stats().owned.length === 3, 'the spout owning the three partitions', 20_000);
    return { spout: s, emits, clock };
  }

  /** Call nextTuple until `done` holds (or fail after a while). */
  async function pull(s: KafkaSpout, done: () => boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!done()) {
      s.nextTuple();
      if (!done()) await new Promise((r) => setTimeout(r, 2));
      if (Date.now() > deadline) throw new Error('the spout did not emit what the test waits for');
    }
  }

  const restoredFrom = (checkpointId: number, values: KafkaSpoutPosition[]): RestoredState => ({
    checkpointId,
    own: values[0],
    all: values.map((value, taskIndex) => ({ taskIndex, value })),
    previousParallelism: values.length,
  });

  it('snapshots each partition\'s watermark with its offset; a restored spout starts from them (not held back, not jumping ahead) and goes on; a position without them starts with none', async () => {
    const topic = await input();
    const groupId = `g-${uid()}`;
    const a = await spout(topic, groupId);
    await pull(a.spout, () => [0, 1, 2].every((p) => a.emits.records.filter((r) => r.partition === p).length >= 5));
    const s1 = a.spout.snapshotState(1);
    expect(s1.owned).toBe(3);
    const max = a.emits.maxPerPartition();
    expect([...s1.watermarks!].sort((x, y) => x[1] - y[1])).toEqual([0, 1, 2].map((p) => [topic, p, max.get(p)! - 5]));
    a.clock.advance(10);
    expect(a.emits.watermarks.at(-1)).toEqual([Math.min(...max.values()) - 5, false]);
    await a.spout.close();

    // Restored: each partition's watermark is back before any record; the task's is their least.
    const b = await spout(topic, groupId, restoredFrom(1, [s1]));
    expect(new Map(b.spout.stats().eventTime!.partitions.map((x) => [x.partition, x.watermark]))).toEqual(new Map([0, 1, 2].map((p) => [p, max.get(p)! - 5])));
    b.clock.advance(10);
    expect(b.emits.watermarks).toEqual([[Math.min(...max.values()) - 5, false]]);
    // It goes on from the checkpoint's offsets: the rest, and the watermark follows to the end; nothing was late.
    const rest = 90 - [0, 1, 2].reduce((n, p) => n + s1.offsets.find((o) => o[1] === p)![2], 0);
    await pull(b.spout, () => b.emits.records.length >= rest);
    b.clock.advance(10);
    expect(b.emits.watermarks.at(-1)).toEqual([290 - 5, false]); // the least partition's last, 0 * 1000 + 290
    expect(b.spout.stats().eventTime!.late).toBe(0);
    expect(b.spout.snapshotState(2).watermarks).toEqual(expect.arrayContaining([0, 1, 2].map((p) => [topic, p, p * 1000 + 290 - 5])));
    await b.spout.close();

    // A position written without watermarks (before the option existed): its partitions have none and hold until their first record.
    const old: KafkaSpoutPosition = { kind: 'squall.kafka-spout', v: 1, offsets: s1.offsets };
    const c = await spout(topic, groupId, restoredFrom(1, [old]));
    expect(c.spout.stats().eventTime!.partitions.map((x) => x.watermark)).toEqual([-Infinity, -Infinity, -Infinity]);
    c.clock.advance(10);
    expect(c.emits.watermarks).toEqual([]);
    expect(c.spout.snapshotState(3).watermarks).toBeUndefined();
    expect([a.emits.errors, b.emits.errors, c.emits.errors]).toEqual([[], [], []]);
  }, 90_000);

  it('a rebalance drops revoked partitions from the watermark and adds assigned ones with none: they hold the new owner until their first record', async () => {
    const topic = await input();
    const groupId = `g-${uid()}`;
    const a = await spout(topic, groupId);
    await pull(a.spout, () => [0, 1, 2].every((p) => a.emits.records.filter((r) => r.partition === p).length >= 5));
    a.clock.advance(10);
    const before = a.emits.watermarks.at(-1)![0];
    expect(before).toBe(Math.min(...a.emits.maxPerPartition().values()) - 5);

    // A second member joins: the group moves some partitions to it.
    const b = await spout(topic, groupId, undefined, false);
    await until(() => b.spout.stats().owned.length > 0 && a.spout.stats().owned.length + b.spout.stats().owned.length === 3, 'the partitions split between the two', 30_000);
    const partitionsOf = (s: KafkaSpout) => ({
      owned: s.stats().owned.map((o) => o.partition).sort(),
      tracked: s.stats().eventTime!.partitions.map((x) => x.partition).sort(),
    });
    // Each tracks the partitions it owns, no more.
    expect(partitionsOf(a.spout).tracked).toEqual(partitionsOf(a.spout).owned);
    expect(partitionsOf(b.spout).tracked).toEqual(partitionsOf(b.spout).owned);
    // b's partitions have no watermark until their first record: b sends none yet.
    expect(b.spout.stats().eventTime!.partitions.every((x) => x.watermark === -Infinity)).toBe(true);
    b.clock.advance(10);
    expect(b.emits.watermarks).toEqual([]);
    // a: the least over what it kept, never below what it sent.
    const kept = partitionsOf(a.spout).owned;
    const maxA = a.emits.maxPerPartition();
    a.clock.advance(10);
    expect(a.emits.watermarks.at(-1)![0]).toBe(Math.max(before, Math.min(...kept.map((p) => maxA.get(p)! - 5))));
    // b reads its partitions (from the group's committed offsets) and its watermark follows them.
    const mine = partitionsOf(b.spout).owned;
    await pull(b.spout, () => mine.every((p) => b.emits.records.some((r) => r.partition === p)));
    b.clock.advance(10);
    const maxB = b.emits.maxPerPartition();
    expect(b.emits.watermarks.at(-1)).toEqual([Math.min(...mine.map((p) => maxB.get(p)! - 5)), false]);
    expect(b.spout.stats().eventTime!.late).toBe(0);
  }, 90_000);

  it('restored, the group gives back part of the partitions at first: the others hold the watermark at their checkpointed ones until they come back; then it is the least over owned partitions, nothing late', async () => {
    // Event times p + 10 i: every partition's checkpointed watermark is below every partition's last record.
    const topic = await input(1);
    const groupId = `g-${uid()}`;
    const a = await spout(topic, groupId);
    await pull(a.spout, () => [0, 1, 2].every((p) => a.emits.records.filter((r) => r.partition === p).length >= 5));
    const s1 = a.spout.snapshotState(1);
    const checkpointed = new Map(s1.watermarks!.map(([, p, w]) => [p, w]));
    await a.spout.close();

    // Another member has the partitions when the restored task joins (as a member not yet dropped after a crash would):
    // the group splits them, so the restored task gets part of them at first.
    const other = await spout(topic, groupId);
    const b = await spout(topic, groupId, restoredFrom(1, [s1]), false);
    await until(() => b.spout.stats().owned.length > 0 && b.spout.stats().owned.length < 3 && other.spout.stats().owned.length + b.spout.stats().owned.length === 3, 'the partitions split between the two', 30_000);
    const mine = b.spout.stats().owned.map((o) => o.partition);
    const away = [0, 1, 2].filter((p) => !mine.includes(p));
    expect(b.spout.stats().eventTime!.held.map((h) => [h.partition, h.watermark]).sort()).toEqual(away.map((p) => [p, checkpointed.get(p)!]).sort());
    // b reads all of its own partitions: without the hold its watermark would be theirs; the ones away hold it.
    await pull(b.spout, () => mine.every((p) => b.emits.records.filter((r) => r.partition === p).length === 30 - s1.offsets.find((o) => o[1] === p)![2]));
    b.clock.advance(10);
    const heldAt = Math.min(...away.map((p) => checkpointed.get(p)!));
    const ownAt = Math.min(...mine.map((p) => p + 290 - 5));
    expect(heldAt).toBeLessThan(ownAt);
    expect(b.emits.watermarks.at(-1)).toEqual([heldAt, false]);

    // The other member leaves: b gets every partition back, each with its checkpointed watermark, and the holds end.
    await other.spout.close();
    await until(() => b.spout.stats().owned.length === 3, 'b owning the three partitions', 30_000);
    expect(b.spout.stats().eventTime!.held).toEqual([]);
    await pull(b.spout, () => away.every((p) => b.emits.records.some((r) => r.partition === p)));
    b.clock.advance(10);
    const maxB = b.emits.maxPerPartition();
    expect(b.emits.watermarks.at(-1)).toEqual([Math.min(...[0, 1, 2].map((p) => maxB.get(p)! - 5)), false]);
    // Every record came at or above the watermark already sent.
    expect(b.spout.stats().eventTime!.late).toBe(0);
    expect(b.emits.errors).toEqual([]);
  }, 90_000);

  it('restored with more than one old task: a task holds the partitions its old tasks (j mod p) owned, not the ones they only carried, and only until restoreHoldMs', async () => {
    const topic = await input();
    const gone = `${topic}-gone`; // a partition the group never gives this task back (here: of a topic it no longer reads)
    const old0: KafkaSpoutPosition = { kind: 'squall.kafka-spout', v: 1, offsets: [[topic, 0, 3], [topic, 1, 3], [gone, 0, 7]], owned: 2, watermarks: [[topic, 0, 15], [topic, 1, 1015], [gone, 0, 6]] };
    const old1: KafkaSpoutPosition = { kind: 'squall.kafka-spout', v: 1, offsets: [[topic, 2, 4], [gone, 0, 7], [topic, 0, 2]], owned: 2, watermarks: [[topic, 2, 2025], [gone, 0, 6]] };
    // New task index 1 of 2: old task 1 maps to it (1 mod 2). It holds topic/2 and gone/0 (owned by old task 1), not
    // topic/0 (old task 1 only carried it) nor topic/1 (old task 0's, held by new task 0).
    const b = await spout(topic, `g-${uid()}`, restoredFrom(5, [old0, old1]), true, { restoreHoldMs: 2000, taskId: 2, componentTasks: [1, 2] });
    expect(b.spout.stats().eventTime!.held).toEqual([{ topic: gone, partition: 0, watermark: 6 }]);
    // It owns every partition of the topic, each from the highest restored position with its watermark; gone/0 holds the task's.
    await pull(b.spout, () => b.emits.records.length >= 90 - 3 - 3 - 4);
    b.clock.advance(10);
    expect(b.emits.watermarks).toEqual([[6, false]]);
    b.clock.advance(1000);
    expect(b.emits.watermarks).toEqual([[6, false]]);
    // The hold's deadline (2000 ms from open): gone/0 no longer holds; the owned partitions decide.
    b.clock.advance(990);
    expect(b.spout.stats().eventTime!.held).toEqual([]);
    expect(b.emits.watermarks.at(-1)).toEqual([290 - 5, false]);
    expect(b.spout.stats().eventTime!.late).toBe(0);
    // The next checkpoint still carries gone/0's restored position, as not owned.
    const s = b.spout.snapshotState(6);
    expect(s.owned).toBe(3);
    expect(s.offsets.slice(3)).toEqual([[gone, 0, 7]]);
  }, 90_000);
});

/** The least over partitions of the largest event time among the first k records, less ooo: what a watermark after record k says. */
function watermarksAfter(records: readonly { partition: number; ts: number }[], partitions: number, ooo: number): number[] {
  const max = new Array<number>(partitions).fill(-Infinity);
  const out: number[] = [-Infinity];
  for (const r of records) {
    if (r.ts > max[r.partition]!) max[r.partition] = r.ts;
    out.push(Math.min(...max) - ooo);
  }
  return out;
}

describe('KafkaSpout watermarks while it reads a backlog, against a real broker', () => {
  const kafka = useKafka();
  const open = closedAfterEach();

  /** n records on each of `partitions` partitions, in order of event time within each, the partitions interleaved in time. */
  function backlog(partitions: number, n: number): Promise<string> {
    const entries: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let p = 0; p < partitions; p++) entries.push([p, BASE + i * 10 + p]);
    return tsTopic(kafka, 'et-backlog', partitions, entries);
  }

  it('works the watermark out after every intervalRecords records, on the tuple path: on a clock that never moves, each one follows the data to the record', async () => {
    const topic = await backlog(3, 2000);
    const s = new KafkaSpout(tsSpoutOptions(kafka, topic, `g-${uid()}`, { maxOutOfOrdernessMs: 50, intervalRecords: 250 }));
    open.push(s);
    const emits = new Emits();
    // The clock never moves: the intervalMs timer never fires, every watermark comes from the records.
    await s.open(testContext(s, { componentId: 'in', clock: new SimulatedClock(), config: {} }), emits);
    const deadline = Date.now() + 30_000;
    while (emits.records.length < 6000) {
      s.nextTuple();
      if (emits.records.length % 64 === 0) await new Promise((r) => setTimeout(r, 0));
      if (Date.now() > deadline) throw new Error(`the spout emitted ${emits.records.length} of 6000 records`);
    }
    // What it must have sent: after records 250, 500, ..., the least over partitions less 50, whenever that moved.
    const w = watermarksAfter(emits.records, 3, 50);
    const want: { afterRecord: number; watermark: number }[] = [];
    let last = -Infinity;
    for (let k = 250; k <= 6000; k += 250) {
      if (w[k]! > last) want.push({ afterRecord: k, watermark: (last = w[k]!) });
    }
    const got: { afterRecord: number; watermark: number }[] = [];
    let seen = 0;
    for (const e of emits.log) {
      if ('record' in e) seen = e.record + 1;
      else got.push({ afterRecord: seen, watermark: e.watermark });
    }
    expect(got).toEqual(want);
    // A watermark for nearly every 250 records: not a handful for the whole backlog.
    expect(got.length).toBeGreaterThanOrEqual(6000 / 250 - 2);
    expect(got.at(-1)!.watermark).toBe(BASE + 1999 * 10 - 50);
    expect(s.stats().eventTime!.late).toBe(0);
    expect(emits.errors).toEqual([]);
  }, 60_000);

  it('in a running topology, the bolt\'s watermark trails each record by at most intervalRecords records while a backlog of 40,000 is read at full speed', async () => {
    const topic = await backlog(4, 10_000);
    const seen: { ts: number; watermark: number }[] = [];
    class Watch extends BasicBolt {
      private watermark = -Infinity;
      declareOutputFields(_d: OutputDeclarer): void {}
      execute(input: Tuple): void {
        seen.push({ ts: (input.getValue(1) as { ts: number }).ts, watermark: this.watermark });
      }
      override onWatermark(w: number): void {
        this.watermark = w;
      }
    }
    const b = new TopologyBuilder('kafka-et-backlog');
    b.setSpout(
      'in',
      () =>
        new KafkaSpout({
          brokers: kafka.brokers,
          client: kafka.clientOptions(),
          topics: [topic],
          groupId: `g-${uid()}`,
          deserializer: jsonRecords,
          eventTime: { timestamp: (_r, v) => (v[1] as { ts: number }).ts, intervalRecords: 500 },
        }),
      { watermarks: {} },
    );
    // One spout task, one bolt task: one channel, so the bolt sees records and watermarks in the order they were sent.
    b.setBolt('watch', () => new Watch()).globalGrouping('in');
    const run = await submit(b.build({ ackers: 0 }));
    try {
      await until(() => seen.length === 40_000, 'every record at the bolt', 30_000);
      const w = watermarksAfter(
        seen.map((r) => ({ partition: (r.ts - BASE) % 10, ts: r.ts })),
        4,
        0,
      );
      const behind: string[] = [];
      for (let i = 0; i < seen.length; i++) {
        const at = seen[i]!.watermark;
        // Never past a record not yet received (nothing late), never more than 500 records behind.
        const floor = w[Math.floor(i / 500) * 500]!;
        if (at > w[i]! || at < floor) behind.push(`record ${i}: watermark ${at - BASE}, want ${floor - BASE} .. ${w[i]! - BASE}`);
      }
      expect(behind.slice(0, 5)).toEqual([]);
      // Read faster than intervalMs could have followed: dozens of watermarks during the backlog, not a few.
      expect(new Set(seen.map((r) => r.watermark)).size).toBeGreaterThanOrEqual(40_000 / 500 - 2);
      expect(run.metrics().errors).toEqual([]);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
  }, 60_000);
});
