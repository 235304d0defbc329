import { describe, expect, it } from 'vitest';
import { BasicBolt, TopologyBuilder, submit } from '../../src/index.ts';
import type { BasicOutputCollector, Bolt, OutputCollector, OutputDeclarer, TopologyContext, Tuple } from '../../src/index.ts';
import { KafkaBolt, KafkaSpout, jsonRecords } from '../../src/kafka/index.ts';
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
      const records = await kafka.readTopic(output, N, 30_000);
      const byKey = new Map(records.map((r) => [r.key, r.value]));
      expect(byKey.size).toBe(N);
      for (let i = 0; i < N; i++) expect(byKey.get(`k${i}`)).toBe(`RECORD ${i}`);
      // Both tasks are group members and split the three partitions.
      await until(() => spouts.reduce((n, s) => n + s.stats().owned.length, 0) === 3, 'the partitions to be owned');
      // (The builder makes one more instance just to read its fields; it never opens.)
      expect(spouts.filter((s) => s.stats().owned.length > 0).length).toBe(2);
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
});
