/**
 * A KafkaSpout's lag in the run's snapshot, against the real broker: records
 * at the broker it has not emitted yet. Held back by a slow bolt and a small
 * maxSpoutPending it is above zero; once everything is emitted it is zero,
 * and /metrics' squall_spout_lag is the same number.
 */
import { nanoid } from 'nanoid';
import { describe, expect, it } from 'vitest';
import { BasicBolt, submit, TopologyBuilder } from '../../src/index.ts';
import { KafkaSpout, stringRecords } from '../../src/kafka/index.ts';
import { until } from '../helpers.ts';
import { useKafka } from '../support/kafka.ts';

class Slow extends BasicBolt {
  declareOutputFields(): void {}
  execute(): void {
    const end = performance.now() + 0.3;
    while (performance.now() < end) {}
  }
}

describe('KafkaSpout lag in the snapshot', () => {
  const kafka = useKafka();

  it('is the records at the broker not emitted yet: above zero while held back, zero once all are emitted', async () => {
    const topic = await kafka.createTopic('lag', 2);
    const n = 3_000;
    await kafka.produce(topic, Array.from({ length: n }, (_, i) => ({ key: String(i), value: `v${i}`, partition: i % 2 })));
    const b = new TopologyBuilder('kafka-lag');
    b.setSpout('in', () => new KafkaSpout({ brokers: kafka.brokers, client: kafka.clientOptions(), topics: [topic], groupId: `g-${nanoid(6)}`, deserializer: stringRecords, maxWaitTimeMs: 50 }));
    b.setBolt('slow', () => new Slow()).shuffleGrouping('in');
    const run = await submit(b.build({ maxSpoutPending: 20 }));
    try {
      const lagOf = () => run.metrics().components.find((c) => c.id === 'in')!.lag ?? -1;
      let most = 0;
      await until(() => {
        most = Math.max(most, lagOf());
        return (run.metrics().components.find((c) => c.id === 'in')!.acked ?? 0) >= n;
      }, 'every record acked', 60_000);
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(n);
      await until(() => lagOf() === 0, 'the lag back to zero', 10_000);
    } finally {
      await run.kill({ waitMs: 0 });
    }
  }, 90_000);
});
