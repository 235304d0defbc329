import { describe, expect, it } from 'vitest';
import { BasicBolt, TopologyBuilder, loadTopologyModule, submit } from '../../src/index.ts';
import type { BasicOutputCollector, Bolt, OutputCollector, OutputDeclarer, TopologyContext, Tuple } from '../../src/index.ts';
import { KafkaBolt, KafkaSpout, createKafkaClient, jsonRecords } from '../../src/kafka/index.ts';
import type { KafkaSpoutOptions, PartitionCommit } from '../../src/kafka/index.ts';
import { nanoid } from 'nanoid';
import { until } from '../helpers.ts';
import { useKafka } from '../support/kafka.ts';

class Upper extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key', 'value']);
  }
  execute(t: Tuple, c: BasicOutputCollector): void {
    c.emit([t.getString('key'), String(t.get('value')).toUpperCase()]);
  }
}

/** Poll an async value until `ok` holds; return the last value seen (the test's expect then shows it). */
async function eventually<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, maxMs = 20_000): Promise<T> {
  const deadline = performance.now() + maxMs;
  let v = await get();
  while (!ok(v) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    v = await get();
  }
  if (!ok(v)) console.error(`eventually: gave up waiting for ${what}`);
  return v;
}

/** Records every input (value, partition, offset) and acks it, or fails those `failIf` picks. */
class Sink implements Bolt {
  readonly seen: { value: unknown; partition: number; offset: number }[] = [];
  private collector!: OutputCollector;
  constructor(private readonly failIf: (t: Tuple) => boolean = () => false) {}
  declareOutputFields(): void {}
  prepare(_c: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
  }
  execute(t: Tuple): void {
    this.seen.push({ value: t.get('value'), partition: t.getNumber('partition'), offset: t.getNumber('offset') });
    if (this.failIf(t)) this.collector.fail(t);
    else this.collector.ack(t);
  }
}

/**
 * Holds its inputs and acks them out of order: each full hold (or every
 * 20 ms) is acked in a shuffled order. Notes every acked offset per partition.
 */
class ScrambledAcks implements Bolt {
  readonly acked = new Map<number, Set<number>>();
  private held: Tuple[] = [];
  private collector!: OutputCollector;
  private timer: ReturnType<typeof setInterval> | undefined;
  private seed = 12345;
  declareOutputFields(): void {}
  prepare(_c: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    this.timer = setInterval(() => this.release(), 20);
  }
  execute(t: Tuple): void {
    this.held.push(t);
    if (this.held.length >= 97) this.release();
  }
  private release(): void {
    const h = this.held;
    this.held = [];
    for (let i = h.length - 1; i > 0; i--) {
      this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
      const j = this.seed % (i + 1);
      [h[i], h[j]] = [h[j]!, h[i]!];
    }
    for (const t of h) {
      const p = t.getNumber('partition');
      if (!this.acked.has(p)) this.acked.set(p, new Set());
      this.acked.get(p)!.add(t.getNumber('offset'));
      this.collector.ack(t);
    }
  }
  cleanup(): void {
    clearInterval(this.timer);
    this.release();
  }
}

/** Acks slowly: `perMs` inputs per millisecond at most, from a timer; `fast` lifts the brake. */
class SlowSink implements Bolt {
  fast = false;
  executed = 0;
  /** `partition/offset` of every input acked. */
  readonly acked: string[] = [];
  get queueLength(): number {
    return this.queue.length;
  }
  private queue: Tuple[] = [];
  private collector!: OutputCollector;
  private timer: ReturnType<typeof setInterval> | undefined;
  declareOutputFields(): void {}
  prepare(_c: TopologyContext, collector: OutputCollector): void {
    this.collector = collector;
    this.timer = setInterval(() => {
      const n = this.fast ? this.queue.length : Math.min(2, this.queue.length);
      for (const t of this.queue.splice(0, n)) {
        this.acked.push(`${t.getNumber('partition')}/${t.getNumber('offset')}`);
        this.collector.ack(t);
      }
    }, 1);
  }
  execute(t: Tuple): void {
    this.executed++;
    this.queue.push(t);
  }
  cleanup(): void {
    clearInterval(this.timer);
    for (const t of this.queue.splice(0)) this.collector.ack(t);
  }
}

const groupName = () => `squall-test-g-${nanoid(8).replace(/[^A-Za-z0-9]/g, 'x')}`;

describe('KafkaSpout against a real broker', () => {
  const kafka = useKafka();

  function spoutOptions(o: KafkaSpoutOptions): KafkaSpoutOptions {
    return { brokers: kafka.brokers, client: kafka.clientOptions(), sessionTimeoutMs: 6000, maxWaitTimeMs: 100, commitIntervalMs: 100, ...o };
  }

  it('end to end: records produced to the input topic come out processed on the output topic, and the offsets are committed', async () => {
    const input = await kafka.createTopic('in', 3);
    const output = await kafka.createTopic('out', 3);
    const groupId = groupName();
    const N = 3000;
    await kafka.produce(
      input,
      Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `record ${i}`, partition: i % 3 })),
    );
    const spouts: KafkaSpout[] = [];
    const b = new TopologyBuilder('kafka-e2e');
    b.setSpout('in', () => {
      const s = new KafkaSpout(spoutOptions({ topics: [input], groupId }));
      spouts.push(s);
      return s;
    }, { parallelism: 2 });
    b.setBolt('upper', () => new Upper(), { parallelism: 2 }).shuffleGrouping('in');
    b.setBolt('out', () => new KafkaBolt({ brokers: kafka.brokers, topic: output, client: kafka.clientOptions() })).shuffleGrouping('upper');
    const run = await submit(b.build());
    try {
      const records = await kafka.readUntil(output, (rs) => new Set(rs.map((r) => r.key)).size >= N, 30_000);
      const byKey = new Map(records.map((r) => [r.key, r.value]));
      expect(byKey.size).toBe(N);
      console.log(`local: ${N} records in, ${records.length} out; spouts: ${JSON.stringify(spouts.map((s) => s.stats()).filter((s) => s.emitted > 0).map((s) => ({ emitted: s.emitted, commits: s.commits, failures: s.commitFailures, rebalances: s.rebalances })))}`);
      for (let i = 0; i < N; i++) expect(byKey.get(`k${i}`)).toBe(`RECORD ${i}`);
      // Both tasks are group members and split the three partitions.
      // (The builder makes one more instance just to read its fields; it never opens.)
      await until(
        () => spouts.filter((s) => s.stats().owned.length > 0).length === 2 && spouts.reduce((n, s) => n + s.stats().owned.length, 0) === 3,
        'the partitions split between the two tasks',
        20_000,
      );
      // Every offset is committed once its tree is done.
      await until(() => spouts.reduce((n, s) => n + s.stats().acked, 0) >= N, 'every record acked', 20_000);
      const committed = await eventually(
        () => kafka.committed(groupId, input),
        (c) => [0, 1, 2].every((p) => c.get(p) === N / 3),
        'offsets committed',
      );
      expect(Object.fromEntries(committed)).toEqual({ 0: N / 3, 1: N / 3, 2: N / 3 });
      expect(run.metrics().errors).toEqual([]);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
  });

  /** KafkaSpout (1 task) -> `sink` (1 task, the same instance): the spout instance that opened is `opened[0]`. */
  function pipeline(name: string, options: KafkaSpoutOptions, sink: Bolt) {
    const opened: KafkaSpout[] = [];
    class Observed extends KafkaSpout {
      override async open(c: TopologyContext, col: import('../../src/index.ts').SpoutOutputCollector): Promise<void> {
        opened.push(this);
        await super.open(c, col);
      }
    }
    const b = new TopologyBuilder(name);
    b.setSpout('in', () => new Observed(spoutOptions(options)));
    b.setBolt('sink', () => sink).shuffleGrouping('in');
    return { builder: b, opened };
  }

  it('out-of-order acks: every commit is a contiguous prefix of acked offsets, and the last one covers everything', async () => {
    const input = await kafka.createTopic('ooo', 2);
    const groupId = groupName();
    const N = 4000;
    await kafka.produce(input, Array.from({ length: N }, (_, i) => ({ value: `v${i}`, partition: i % 2 })));
    const sink = new ScrambledAcks();
    const violations: string[] = [];
    let commitsBehindAcks = 0;
    const last = new Map<number, number>();
    const { builder } = pipeline('kafka-ooo', {
      topics: [input],
      groupId,
      commitIntervalMs: 5,
      onCommit: (commits: readonly PartitionCommit[]) => {
        for (const c of commits) {
          const acked = sink.acked.get(c.partition) ?? new Set<number>();
          for (let o = last.get(c.partition) ?? 0; o < c.offset; o++) {
            if (!acked.has(o)) violations.push(`${c.partition}/${o} committed (up to ${c.offset}) before it was acked`);
          }
          // A commit that stopped at a gap: some later offset was acked already.
          if ([...acked].some((o) => o >= c.offset)) commitsBehindAcks++;
          last.set(c.partition, c.offset);
        }
      },
    }, sink);
    const run = await submit(builder.build({ maxSpoutPending: 500 }));
    try {
      await until(() => last.get(0) === N / 2 && last.get(1) === N / 2, 'every offset committed', 30_000);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
    expect(violations).toEqual([]);
    // The scrambling did leave gaps that held commits back (else this test proves nothing).
    expect(commitsBehindAcks).toBeGreaterThan(0);
    expect(Object.fromEntries(await kafka.committed(groupId, input))).toEqual({ 0: N / 2, 1: N / 2 });
  });

  it('undeserializable records go to the dead-letter topic with where they came from; the rest are processed and the commit moves past them', async () => {
    const input = await kafka.createTopic('json', 1);
    const dlq = await kafka.createTopic('dlq', 1);
    const groupId = groupName();
    const N = 200;
    const bad = new Set([3, 50, 51, 120, 199]);
    await kafka.produce(
      input,
      Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: bad.has(i) ? `{not json ${i}` : JSON.stringify({ i }), headers: { trace: `t${i}` } })),
    );
    const sink = new Sink();
    const { builder, opened } = pipeline('kafka-dlq', { topics: [input], groupId, deserializer: jsonRecords, deadLetterTopic: dlq }, sink);
    const run = await submit(builder.build());
    try {
      await until(() => sink.seen.length === N - bad.size && opened[0]!.stats().deadLettered === bad.size, 'records processed and dead-lettered', 30_000);
      const committed = await eventually(() => kafka.committed(groupId, input), (c) => c.get(0) === N, 'the commit past the bad records');
      expect(committed.get(0)).toBe(N);
      expect(run.status).toBe('active');
    } finally {
      await run.kill({ waitMs: 5000 });
    }
    expect(sink.seen.map((s) => (s.value as { i: number }).i).sort((a, b) => a - b)).toEqual([...Array(N).keys()].filter((i) => !bad.has(i)));
    const dead = await kafka.readTopic(dlq, bad.size);
    expect(dead.map((r) => r.value).sort()).toEqual([...bad].map((i) => `{not json ${i}`).sort());
    for (const r of dead) {
      const i = Number(r.key!.slice(1));
      expect(r.headers['squall.source']).toBe(`${input}/0/${i}`);
      expect(r.headers['squall.error.code']).toBe('E_KAFKA_UNDESERIALIZABLE');
      expect(r.headers['trace']).toBe(`t${i}`);
    }
  });

  it('failed records are retried with backoff; past maxRetries they go to the dead-letter topic', async () => {
    const input = await kafka.createTopic('retry', 1);
    const dlq = await kafka.createTopic('dlq', 1);
    const groupId = groupName();
    const N = 100;
    await kafka.produce(input, Array.from({ length: N }, (_, i) => ({ value: i % 25 === 7 ? `poison ${i}` : `ok ${i}` })));
    // 'flaky' records fail on their first delivery only; 'poison' always.
    const attempts = new Map<number, number>();
    const sink = new Sink((t) => {
      const o = t.getNumber('offset');
      attempts.set(o, (attempts.get(o) ?? 0) + 1);
      return String(t.get('value')).startsWith('poison') || (o % 10 === 3 && attempts.get(o) === 1);
    });
    const { builder, opened } = pipeline('kafka-retry', {
      topics: [input],
      groupId,
      deadLetterTopic: dlq,
      retryInitialDelayMs: 10,
      retryMultiplier: 2,
      maxRetries: 2,
    }, sink);
    const run = await submit(builder.build());
    try {
      await until(() => opened[0]!.stats().deadLettered === 4, 'the poison records dead-lettered', 30_000);
      expect((await eventually(() => kafka.committed(groupId, input), (c) => c.get(0) === N, 'the final commit')).get(0)).toBe(N);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
    for (let o = 0; o < N; o++) {
      const want = o % 25 === 7 ? 3 : o % 10 === 3 ? 2 : 1; // poison: 1 + maxRetries deliveries
      expect([o, attempts.get(o)]).toEqual([o, want]);
    }
    const dead = await kafka.readTopic(dlq, 4);
    expect(dead.map((r) => r.value).sort()).toEqual(['poison 32', 'poison 57', 'poison 7', 'poison 82']);
    expect(dead.every((r) => r.headers['squall.error.code'] === 'E_KAFKA_GAVE_UP')).toBe(true);
  });

  it('without a dead-letter topic, undeserializable records are reported (E_KAFKA_UNDESERIALIZABLE) and skipped; the topology keeps running', async () => {
    const input = await kafka.createTopic('skip', 1);
    const groupId = groupName();
    await kafka.produce(input, ['{"a":1}', 'nope', '{"a":2}'].map((value) => ({ value })));
    const sink = new Sink();
    const { builder } = pipeline('kafka-skip', { topics: [input], groupId, deserializer: jsonRecords }, sink);
    const run = await submit(builder.build());
    try {
      await until(() => sink.seen.length === 2, 'the good records', 20_000);
      await until(() => run.metrics().errors.length > 0, 'the report');
      expect(run.metrics().errors.map((e) => [e.component, e.code])).toEqual([['in', 'E_KAFKA_UNDESERIALIZABLE']]);
      expect(run.metrics().errors[0]!.message).toContain(`${input}/0/1`);
      expect((await eventually(() => kafka.committed(groupId, input), (c) => c.get(0) === 3, 'the commit')).get(0)).toBe(3);
      await kafka.produce(input, [{ value: '{"a":3}' }]);
      await until(() => sink.seen.length === 3, 'a record produced after the bad one', 20_000);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
    expect(sink.seen.map((s) => s.value)).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
  });

  it('a slow sink pauses partitions instead of buffering the topic; they resume and every record arrives', async () => {
    const input = await kafka.createTopic('slow', 2);
    const groupId = groupName();
    const N = 20_000;
    const value = 'x'.repeat(1000);
    await kafka.produce(input, Array.from({ length: N }, (_, i) => ({ value: `${i} ${value}`, partition: i % 2 })));
    const sink = new SlowSink();
    const { builder, opened } = pipeline('kafka-slow', { topics: [input], groupId, maxBufferedPerPartition: 300, maxBytesPerPartition: 64 * 1024 }, sink);
    const run = await submit(builder.build({ maxSpoutPending: 100 }));
    try {
      await until(() => opened[0] !== undefined && opened[0].stats().paused === 2, 'both partitions paused', 20_000);
      const spout = opened[0]!;
      // While the sink is slow, the spout's buffer stays bounded: partitions
      // pause at 300 buffered records and resume at 150, over and over,
      // while most of the topic waits in Kafka. Sample it for 1.5 s.
      let maxBuffered = 0;
      for (let i = 0; i < 30; i++) {
        await new Promise((r) => setTimeout(r, 50));
        maxBuffered = Math.max(maxBuffered, spout.stats().buffered);
      }
      const st = spout.stats();
      expect(sink.executed).toBeLessThan(N / 2);
      // At most the cap plus one fetch per partition: the broker hands over
      // whole record batches, here up to 500 records as they were produced
      // (against 10,000 per partition in the topic).
      expect(st.maxBufferedSeen).toBeLessThanOrEqual(300 + 500);
      expect(maxBuffered).toBeLessThanOrEqual(2 * (300 + 500));
      expect(st.pauses).toBeGreaterThanOrEqual(2);
      sink.fast = true;
      await until(() => sink.executed >= N, 'every record', 60_000);
      expect(spout.stats().resumes).toBeGreaterThan(0);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
    expect(sink.executed).toBe(N);
  }, 90_000);

  /** Holds back the record at `offset` 0 of partition 0 until `open`; acks everything else. */
  class Gate implements Bolt {
    open = false;
    executed = 0;
    private held: Tuple | undefined;
    private collector!: OutputCollector;
    private timer: ReturnType<typeof setInterval> | undefined;
    declareOutputFields(): void {}
    prepare(_c: TopologyContext, collector: OutputCollector): void {
      this.collector = collector;
      this.timer = setInterval(() => {
        if (this.open && this.held !== undefined) {
          this.collector.ack(this.held);
          this.held = undefined;
        }
      }, 5);
    }
    execute(t: Tuple): void {
      this.executed++;
      if (t.getNumber('offset') === 0 && this.held === undefined && !this.open) this.held = t;
      else this.collector.ack(t);
    }
    cleanup(): void {
      clearInterval(this.timer);
    }
  }

  it('a partition with maxUncommittedPerPartition offsets not committed (one record stuck) is paused, stays in the group past the session timeout, and resumes once it commits', async () => {
    const input = await kafka.createTopic('cap', 1);
    const groupId = groupName();
    const N = 3000;
    // Small producer batches and small fetches: one fetch brings one batch of 100.
    for (let i = 0; i < N; i += 100) await kafka.produce(input, Array.from({ length: 100 }, (_, k) => ({ value: `v${i + k}` })));
    const gate = new Gate();
    const { builder, opened } = pipeline('kafka-cap', { topics: [input], groupId, maxUncommittedPerPartition: 200, maxBytesPerPartition: 512 }, gate);
    const run = await submit(builder.build({ messageTimeoutMs: 60_000 }));
    try {
      await until(() => opened[0] !== undefined && opened[0].stats().paused === 1, 'the partition paused', 20_000);
      // Paused for longer than the session timeout (6 s): heartbeats keep the
      // member in the group, so it neither rejoins nor loses the partition.
      await new Promise((r) => setTimeout(r, 7500));
      expect(opened[0]!.stats()).toMatchObject({ joins: 1, rebalances: 0, owned: [{ topic: input, partition: 0 }] });
      // Stuck behind offset 0: fetching stopped near the cap (what was fetched still drains).
      expect(gate.executed).toBeLessThan(N / 2);
      expect(opened[0]!.stats().paused).toBe(1);
      expect((await kafka.committed(groupId, input)).get(0) ?? -1).toBeLessThanOrEqual(0);
      gate.open = true;
      await until(() => gate.executed >= N, 'every record once the stuck one is acked', 30_000);
      expect((await eventually(() => kafka.committed(groupId, input), (c) => c.get(0) === N, 'the commit')).get(0)).toBe(N);
      expect(opened[0]!.stats().resumes).toBeGreaterThan(0);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
  }, 60_000);

  it("first poll: 'committed-or-latest' skips what is there; 'earliest' reads it again over this group's commits; the default goes on from the commit", async () => {
    const input = await kafka.createTopic('poll', 1);
    const groupId = groupName();
    await kafka.produce(input, Array.from({ length: 100 }, (_, i) => ({ value: `old ${i}` })));

    async function runWith(options: KafkaSpoutOptions, produceAfterStart: number, expected: number): Promise<unknown[]> {
      const sink = new Sink();
      const { builder, opened } = pipeline('kafka-poll', { topics: [input], groupId, ...options }, sink);
      const run = await submit(builder.build());
      try {
        await until(() => opened[0] !== undefined && opened[0].stats().owned.length === 1, 'the partition assigned', 20_000);
        await new Promise((r) => setTimeout(r, 300));
        if (produceAfterStart > 0) await kafka.produce(input, Array.from({ length: produceAfterStart }, (_, i) => ({ value: `new ${i}` })));
        await until(() => sink.seen.length >= expected, `${expected} records`, 20_000);
        await new Promise((r) => setTimeout(r, 300)); // nothing more comes
      } finally {
        await run.kill({ waitMs: 5000 });
      }
      return sink.seen.map((s) => s.value);
    }

    const latest = await runWith({ firstPoll: 'committed-or-latest' }, 10, 10);
    expect(latest).toEqual(Array.from({ length: 10 }, (_, i) => `new ${i}`));
    expect((await kafka.committed(groupId, input)).get(0)).toBe(110);
    const again = await runWith({ firstPoll: 'earliest' }, 0, 110);
    expect(again.length).toBe(110);
    expect(again[0]).toBe('old 0');
    const onward = await runWith({}, 5, 5);
    expect(onward).toEqual(Array.from({ length: 5 }, (_, i) => `new ${i}`));
  }, 90_000);

  it("'at-most-once' and 'none' never replay a failed record, and commit past it", async () => {
    for (const guarantee of ['at-most-once', 'none'] as const) {
      const input = await kafka.createTopic(guarantee, 1);
      const groupId = groupName();
      await kafka.produce(input, Array.from({ length: 50 }, (_, i) => ({ value: `v${i}` })));
      const sink = new Sink(() => true); // fails everything
      const { builder } = pipeline(`kafka-${guarantee}`, { topics: [input], groupId, guarantee }, sink);
      const run = await submit(builder.build());
      try {
        await until(() => sink.seen.length >= 50, 'every record', 20_000);
        expect((await eventually(() => kafka.committed(groupId, input), (c) => c.get(0) === 50, 'the commit')).get(0)).toBe(50);
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await run.kill({ waitMs: 5000 });
      }
      expect([guarantee, sink.seen.map((s) => s.offset)]).toEqual([guarantee, [...Array(50).keys()]]);
    }
  }, 60_000);

  it('commits on deactivate and on kill, not only on its period', async () => {
    const input = await kafka.createTopic('lifecycle', 1);
    const groupId = groupName();
    await kafka.produce(input, Array.from({ length: 40 }, (_, i) => ({ value: `v${i}` })));
    const sink = new Sink();
    const { builder } = pipeline('kafka-lifecycle', { topics: [input], groupId, commitIntervalMs: 600_000 }, sink);
    const run = await submit(builder.build());
    try {
      await until(() => sink.seen.length === 40, 'every record', 20_000);
      await new Promise((r) => setTimeout(r, 200));
      expect((await kafka.committed(groupId, input)).get(0)).toBe(-1);
      run.deactivate();
      expect((await eventually(() => kafka.committed(groupId, input), (c) => c.get(0) === 40, 'the commit on deactivate')).get(0)).toBe(40);
      run.activate();
      await kafka.produce(input, Array.from({ length: 10 }, (_, i) => ({ value: `w${i}` })));
      await until(() => sink.seen.length === 50, 'the later records', 20_000);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await run.kill({ waitMs: 5000 });
    }
    expect((await kafka.committed(groupId, input)).get(0)).toBe(50);
  }, 60_000);

  it('bad settings fail at submit with E_BAD_CONFIG; a topic that does not exist fails with E_KAFKA saying to create it', async () => {
    const b1 = new TopologyBuilder('kafka-bad');
    b1.setSpout('in', () => new KafkaSpout(spoutOptions({ topics: ['x'], guarantee: 'exactly-once' as never })));
    b1.setBolt('sink', () => new Sink()).shuffleGrouping('in');
    await expect(submit(b1.build())).rejects.toMatchObject({ code: 'E_BAD_CONFIG', message: expect.stringContaining('guarantee') });

    const b2 = new TopologyBuilder('kafka-no-topics');
    b2.setSpout('in', () => new KafkaSpout(spoutOptions({})));
    b2.setBolt('sink', () => new Sink()).shuffleGrouping('in');
    await expect(submit(b2.build())).rejects.toMatchObject({ code: 'E_BAD_CONFIG', message: expect.stringContaining("kafka.topics") });

    const b4 = new TopologyBuilder('kafka-bad-retry');
    b4.setSpout('in', () => new KafkaSpout(spoutOptions({ topics: ['x'], retryMultiplier: 0.5 })));
    b4.setBolt('sink', () => new Sink()).shuffleGrouping('in');
    await expect(submit(b4.build())).rejects.toMatchObject({ code: 'E_BAD_CONFIG', message: expect.stringContaining("KafkaSpout 'in': retryMultiplier is 0.5; it must be a number, at least 1") });

    // A failed start closes the spouts it opened: the consumer is disconnected before the error surfaces.
    const calls: string[] = [];
    const b3 = new TopologyBuilder('kafka-missing-topic');
    b3.setSpout('in', () =>
      new KafkaSpout(
        spoutOptions({
          topics: [kafka.topicName('missing')],
          groupId: groupName(),
          createClient: (o) => {
            const real = createKafkaClient(o);
            return {
              ...real,
              admin: () => real.admin(),
              producer: (po) => real.producer(po),
              consumer: (co) => {
                const c = real.consumer(co);
                return Object.assign(Object.create(c) as typeof c, {
                  connect: () => (calls.push('connect'), c.connect()),
                  disconnect: () => (calls.push('disconnect'), c.disconnect()),
                });
              },
            };
          },
        }),
      ),
    );
    b3.setBolt('sink', () => new Sink()).shuffleGrouping('in');
    await expect(submit(b3.build())).rejects.toMatchObject({ code: 'E_KAFKA', message: expect.stringContaining('create the topic first') });
    expect(calls).toEqual(['connect', 'disconnect']);
  });

  it('runs on worker threads: two spout tasks on two threads, records in, processed records out', async () => {
    const input = await kafka.createTopic('thr-in', 4);
    const output = await kafka.createTopic('thr-out', 2);
    const groupId = groupName();
    const N = 2000;
    await kafka.produce(input, Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `record ${i}`, partition: i % 4 })));
    const topology = await loadTopologyModule('test/fixtures/topologies/kafka-pipeline.ts');
    const run = await submit(topology, {
      threads: 2,
      config: { 'kafka.brokers': kafka.brokers, 'kafka.topics': input, 'kafka.groupId': groupId, 'kafka.topic': output },
    });
    try {
      // Distinct keys: the second task's join moves partitions, and what the
      // first had in flight on them is read again by the second (at-least-once).
      const records = await kafka.readUntil(output, (rs) => new Set(rs.map((r) => r.key)).size >= N, 30_000);
      const byKey = new Map(records.map((r) => [r.key, r.value]));
      expect(byKey.size).toBe(N);
      console.log(`threads: ${N} records in, ${records.length} out (${records.length - N} repeated)`);
      for (let i = 0; i < N; i += 97) expect(byKey.get(`k${i}`)).toBe(`RECORD ${i}`);
      const committed = await eventually(() => kafka.committed(groupId, input), (c) => [0, 1, 2, 3].every((p) => c.get(p) === N / 4), 'commits');
      expect(Object.fromEntries(committed)).toEqual({ 0: N / 4, 1: N / 4, 2: N / 4, 3: N / 4 });
      await run.refresh();
      expect(run.metrics().errors).toEqual([]);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
  }, 60_000);

  it('subscribes to a pattern: every matching topic is read, others are not', async () => {
    const label = `pat${Date.now()}`;
    const a = await kafka.createTopic(label, 1);
    const b = await kafka.createTopic(label, 2);
    const other = await kafka.createTopic('other', 1);
    await kafka.produce(a, [{ value: 'a0' }, { value: 'a1' }]);
    await kafka.produce(b, [{ value: 'b0', partition: 0 }, { value: 'b1', partition: 1 }]);
    await kafka.produce(other, [{ value: 'not me' }]);
    const sink = new Sink();
    const { builder, opened } = pipeline('kafka-pattern', { topics: [new RegExp(`^squall-${label}-`)], groupId: groupName() }, sink);
    const run = await submit(builder.build());
    try {
      await until(() => sink.seen.length >= 4, 'the records of both topics', 20_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(opened[0]!.stats().owned.map((o) => `${o.topic === a ? 'a' : o.topic === b ? 'b' : o.topic}/${o.partition}`).sort()).toEqual(['a/0', 'b/0', 'b/1']);
    } finally {
      await run.kill({ waitMs: 5000 });
    }
    expect(sink.seen.map((r) => r.value).sort()).toEqual(['a0', 'a1', 'b0', 'b1']);
  });

  it('a member joining mid-stream takes partitions over without stalling the group or losing offsets; acks for lost partitions are ignored', async () => {
    const input = await kafka.createTopic('rebalance', 4);
    const groupId = groupName();
    const N = 8000;
    await kafka.produce(input, Array.from({ length: N }, (_, i) => ({ value: `v${i}`, partition: i % 4 })));
    // The first member is slow (2 acks per ms), so it has records in flight when the second joins.
    const slow = new SlowSink();
    const commits1: PartitionCommit[] = [];
    const first = pipeline('kafka-rebalance-1', { topics: [input], groupId, maxBufferedPerPartition: 200, onCommit: (c) => commits1.push(...c) }, slow);
    const run1 = await submit(first.builder.build({ maxSpoutPending: 200 }));
    const fast = new Sink();
    let run2: Awaited<ReturnType<typeof submit>> | undefined;
    try {
      await until(() => slow.executed > 500, 'the first member to be reading', 20_000);
      const second = pipeline('kafka-rebalance-2', { topics: [input], groupId }, fast);
      run2 = await submit(second.builder.build());
      const spout1 = first.opened[0]!;
      await until(
        () => second.opened[0] !== undefined && second.opened[0].stats().owned.length === 2 && spout1.stats().owned.length === 2,
        'the members to own two partitions each',
        30_000,
      );
      expect(spout1.stats().rebalances).toBeGreaterThanOrEqual(1);
      const kept = new Set(spout1.stats().owned.map((o) => o.partition));
      const mark = commits1.length;
      slow.fast = true;
      // Everything is processed by one member or the other, and committed to the end.
      const committed = await eventually(
        () => kafka.committed(groupId, input),
        (c) => [0, 1, 2, 3].every((p) => c.get(p) === N / 4),
        'every partition committed to its end',
        30_000,
      );
      expect(Object.fromEntries(committed)).toEqual({ 0: N / 4, 1: N / 4, 2: N / 4, 3: N / 4 });
      const seen = new Set(fast.seen.map((r) => `${r.partition}/${r.offset}`));
      for (const r of slow.acked) seen.add(r);
      expect(seen.size).toBe(N);
      // Its in-flight records on the partitions it lost were acked too, but
      // the first member commits only the partitions it kept.
      await until(() => slow.queueLength === 0, 'the first member to drain');
      expect(commits1.slice(mark).filter((c) => !kept.has(c.partition))).toEqual([]);
      console.log(`rebalance: ${slow.acked.length} records by the first member, ${fast.seen.length} by the second, ${slow.acked.length + fast.seen.length - N} processed twice`);
    } finally {
      await run2?.kill({ waitMs: 5000 });
      await run1.kill({ waitMs: 5000 });
    }
  }, 90_000);
});
