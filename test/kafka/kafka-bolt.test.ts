import { describe, expect, it } from 'vitest';
import { TopologyBuilder, realClock } from '../../src/index.ts';
import type { OutputDeclarer, Spout, SpoutOutputCollector, TopologyContext } from '../../src/index.ts';
import { completeTopology } from '../../src/testing/index.ts';
import { KafkaBolt, createKafkaClient } from '../../src/kafka/index.ts';
import type { KafkaClient, KafkaClientOptions } from '../../src/kafka/index.ts';
import { useKafka } from '../support/kafka.ts';

/**
 * Emits tuples [topic, key, value, n] with message id n, in phases: a phase
 * starts once every tuple of the one before is acked or failed. Records
 * what the acker reports, and whether an ack came before its write.
 */
class PhasedSpout implements Spout {
  static last: PhasedSpout | undefined;
  private collector!: SpoutOutputCollector;
  private readonly queue: unknown[][];
  private phase = 0;
  private pos = 0;
  readonly acked: number[] = [];
  readonly failed: number[] = [];
  /** Ids acked before the record was written (must stay empty). */
  readonly ackedUnwritten: number[] = [];

  constructor(
    private readonly phases: unknown[][][],
    private readonly written: Set<number> = new Set(),
  ) {
    this.queue = phases.flat();
  }
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['topic', 'key', 'value', 'n']);
  }
  open(_c: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
    PhasedSpout.last = this;
  }
  nextTuple(): void {
    if (this.pos >= this.queue.length) return;
    const phaseEnd = this.phases.slice(0, this.phase + 1).reduce((n, p) => n + p.length, 0);
    if (this.pos === phaseEnd) {
      if (this.acked.length + this.failed.length < phaseEnd) return; // wait for the phase to settle
      this.phase++;
    }
    const values = this.queue[this.pos++]!;
    this.collector.emit(values, values[3]);
  }
  ack(id: unknown): void {
    if (!this.written.has(id as number)) this.ackedUnwritten.push(id as number);
    this.acked.push(id as number);
  }
  fail(id: unknown): void {
    this.failed.push(id as number);
  }
  isDone(): boolean {
    return this.pos >= this.queue.length && this.acked.length + this.failed.length === this.queue.length;
  }
}

/** The kafkajs client, with every record of a resolved send noted in `written` (by its header n). */
function recordingClient(options: KafkaClientOptions, written: Set<number>, sends: number[]): KafkaClient {
  const real = createKafkaClient(options);
  return {
    admin: () => real.admin(),
    consumer: (o) => real.consumer(o),
    producer: (o) => {
      const p = real.producer(o);
      return {
        connect: () => p.connect(),
        disconnect: () => p.disconnect(),
        async send(batch) {
          await p.send(batch);
          let n = 0;
          for (const t of batch) {
            for (const r of t.records) {
              written.add(Number(r.headers?.['n']));
              n++;
            }
          }
          sends.push(n);
        },
      };
    },
  };
}

describe('KafkaBolt against a real broker', () => {
  const kafka = useKafka();

  it('acks each input only after Kafka acknowledged its write, and every record is on the topic with its key, value and headers', async () => {
    const topic = await kafka.createTopic('bolt');
    const written = new Set<number>();
    const sends: number[] = [];
    const N = 250;
    const tuples = Array.from({ length: N }, (_, n) => [topic, `k${n % 7}`, { n, text: `record ${n}` }, n]);
    const b = new TopologyBuilder('kafka-sink');
    b.setSpout('src', () => new PhasedSpout([tuples], written));
    b.setBolt(
      'sink',
      () =>
        new KafkaBolt({
          brokers: kafka.brokers,
          topic,
          batchSize: 32,
          lingerMs: 5,
          maxInFlightBatches: 2,
          client: kafka.clientOptions(),
          createClient: (o) => recordingClient(o, written, sends),
          map: (t) => ({
            key: t.getString('key'),
            value: JSON.stringify(t.get('value')),
            headers: { n: String(t.get('n')), source: 'squall-test' },
          }),
        }),
      { parallelism: 2 },
    ).shuffleGrouping('src');

    const result = await completeTopology(b.build(), { clock: realClock, config: { maxSpoutPending: 100 } });
    const spout = PhasedSpout.last!;
    expect(result.errors).toEqual([]);
    expect(spout.failed).toEqual([]);
    expect(spout.acked.length).toBe(N);
    expect(spout.ackedUnwritten).toEqual([]);
    expect(sends.length).toBeGreaterThan(1); // batched, not one record per send
    expect(Math.max(...sends)).toBeLessThanOrEqual(32);

    const records = await kafka.readTopic(topic, N);
    expect(records.length).toBe(N);
    const byN = new Map(records.map((r) => [Number(r.headers['n']), r]));
    expect(byN.size).toBe(N);
    for (let n = 0; n < N; n++) {
      const r = byN.get(n)!;
      expect(r.key).toBe(`k${n % 7}`);
      expect(JSON.parse(r.value!)).toEqual({ n, text: `record ${n}` });
      expect(r.headers['source']).toBe('squall-test');
    }
    // Same key, same partition, in emit order within one bolt task's stream.
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const r of records) {
      if (!partitionsOfKey.has(r.key!)) partitionsOfKey.set(r.key!, new Set());
      partitionsOfKey.get(r.key!)!.add(r.partition);
    }
    for (const parts of partitionsOfKey.values()) expect(parts.size).toBe(1);
  });

  it('fails the inputs of a send to a topic that does not exist, reports E_KAFKA, and goes on writing', async () => {
    const good = await kafka.createTopic('good');
    const missing = kafka.topicName('missing'); // never created
    const bad = Array.from({ length: 10 }, (_, n) => [missing, `b${n}`, `lost ${n}`, n]);
    const fine = Array.from({ length: 10 }, (_, i) => [good, `g${i}`, `kept ${i}`, 10 + i]);
    const b = new TopologyBuilder('kafka-sink-missing');
    b.setSpout('src', () => new PhasedSpout([bad, fine]));
    // Default map (fields 'key' and 'value'); the topic comes from the tuple.
    b.setBolt('sink', () => new KafkaBolt({ topicFor: (t) => t.getString('topic'), batchSize: 4, lingerMs: 2, client: kafka.clientOptions() }))
      .shuffleGrouping('src');

    const result = await completeTopology(b.build({ 'kafka.brokers': kafka.brokers.join(',') }), { clock: realClock });
    const spout = PhasedSpout.last!;
    expect([...spout.failed].sort((x, y) => x - y)).toEqual(bad.map((t) => t[3]));
    expect([...spout.acked].sort((x, y) => x - y)).toEqual(fine.map((t) => t[3]));

    expect(result.errors.length).toBeGreaterThan(0);
    for (const e of result.errors) {
      expect(e.component).toBe('sink');
      expect(e.code).toBe('E_KAFKA');
      expect(e.details).toMatchObject({ topic: missing, type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true });
      expect(e.message).toContain('create the topic first');
    }

    const records = await kafka.readTopic(good, fine.length);
    expect(records.map((r) => [r.key, r.value]).sort()).toEqual(fine.map((t) => [t[1], t[2]]).sort());
  });
});
