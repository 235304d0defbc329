/**
 * Kafka → squall → Kafka: a KafkaSpout (one task, so one group member that
 * owns all the partitions, like the bare loop's one consumer) → an identity
 * bolt re-emitting key and value → a KafkaBolt writing them to the output
 * topic (acks = all), acked (one acker, the default), local mode. Each input
 * is acked once its write is acknowledged; the spout commits what was acked.
 * Figure: records per second from the first record consumed to the last
 * write acknowledged, over the same records as kafka-bare-loop.
 *
 * The clock is read through the components' client hook (`createClient`):
 * the real kafkajs client, with the consumer's first batch and each
 * acknowledged send noted on the way through.
 */
import { BasicBolt, TopologyBuilder, latencyBetween, submit } from '../../src/index.ts';
import type { BasicOutputCollector, OutputDeclarer, TopologyConfig, Tuple } from '../../src/index.ts';
import { KafkaBolt, KafkaSpout, createKafkaClient } from '../../src/kafka/index.ts';
import type { KafkaClient, KafkaClientOptions, KafkaConsumerLike, KafkaProducerLike } from '../../src/kafka/index.ts';
import { component } from '../measure.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { round, rssMb } from '../result.ts';
import type { KafkaBenchContext } from './kafka.ts';
import { CONSUMER, PassClock, RECORDS, withKafkaBench } from './kafka.ts';

/** The topology's settings: squall's defaults, written out so the README can quote them. */
const CONFIG: Partial<TopologyConfig> = { ackers: 1, maxSpoutPending: 1000 };

class Identity extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key', 'value']);
  }
  execute(t: Tuple, c: BasicOutputCollector): void {
    c.emit([t.get('key'), t.get('value')]);
  }
}

export async function kafkaPipeline(_options: BenchOptions): Promise<BenchResult> {
  return withKafkaBench('kafka-pipeline', async (ctx) => {
    const clock = new PassClock();
    const run = await submit(topology(ctx, clock), { config: CONFIG });
    try {
      const start = run.metrics();
      const pass = await clock.finished('kafka-pipeline');
      const end = run.metrics();
      const rss = rssMb();
      if (end.errors.length > 0) {
        const e = end.errors[0]!;
        throw new Error(`kafka-pipeline: component '${e.component}' reported ${e.count} error(s): ${e.message}`);
      }
      const spout = component(end, 'spout');
      if (spout.failed > 0 || (spout.timedOut ?? 0) > 0) {
        // A replayed record is written twice: the count of writes no longer says when every record was written.
        throw new Error(`kafka-pipeline: ${spout.failed} trees failed and ${spout.timedOut ?? 0} timed out; the figure would count replays`);
      }
      const latency = latencyBetween(component(start, 'spout'), spout);
      return {
        bench: 'kafka-pipeline',
        mode: 'local',
        threads: 1,
        acking: true,
        tuplesPerSec: pass.recordsPerSec,
        records: RECORDS,
        seconds: round(pass.seconds, 3),
        p99Ms: round(latency.p99, 3),
        rssMb: rss,
        cpu: pass.cpu,
      } satisfies BenchResult;
    } finally {
      // Lets the trees in flight finish, commits, disconnects; not timed.
      await run.kill({ waitMs: 5000 });
    }
  });
}

function topology(ctx: KafkaBenchContext, clock: PassClock) {
  const client = { logLevel: 'nothing' } as const;
  const b = new TopologyBuilder('kafka-pipeline');
  b.setSpout(
    'spout',
    () =>
      new KafkaSpout({
        topics: [ctx.input],
        brokers: ctx.brokers,
        clientId: `${ctx.clientId}-spout`,
        groupId: ctx.groupId,
        client,
        maxWaitTimeMs: CONSUMER.maxWaitTimeMs,
        maxBytesPerPartition: CONSUMER.maxBytesPerPartition,
        createClient: timed(clock),
      }),
    { parallelism: 1 },
  );
  b.setBolt('identity', () => new Identity(), { parallelism: 1 }).shuffleGrouping('spout');
  b.setBolt('sink', () => new KafkaBolt({ topic: ctx.output, brokers: ctx.brokers, clientId: `${ctx.clientId}-sink`, client, createClient: timed(clock) }), {
    parallelism: 1,
  }).shuffleGrouping('identity');
  return b.build();
}

/** The kafkajs client, telling `clock` when the consumer hands over records and when a write is acknowledged. */
function timed(clock: PassClock): (options: KafkaClientOptions) => KafkaClient {
  return (options) => {
    const real = createKafkaClient(options);
    return {
      admin: () => real.admin(),
      producer: (o): KafkaProducerLike => {
        const p = real.producer(o);
        return {
          connect: () => p.connect(),
          disconnect: () => p.disconnect(),
          send: async (batch) => {
            await p.send(batch);
            let n = 0;
            for (const t of batch) n += t.records.length;
            clock.written(n);
          },
        };
      },
      consumer: (o): KafkaConsumerLike => {
        const c = real.consumer(o);
        return {
          connect: () => c.connect(),
          subscribe: (topics) => c.subscribe(topics),
          run: (listener) =>
            c.run({
              onRecords: (topic, partition, records) => {
                if (records.length > 0) clock.consumed();
                return listener.onRecords(topic, partition, records);
              },
              onRebalancing: () => listener.onRebalancing(),
              onAssigned: (a) => listener.onAssigned(a),
              onCrash: (e) => listener.onCrash(e),
            }),
          pause: (ps) => c.pause(ps),
          resume: (ps) => c.resume(ps),
          seek: (topic, partition, offset) => c.seek(topic, partition, offset),
          commit: (offsets) => c.commit(offsets),
          committed: (topic) => c.committed(topic),
          bounds: (topic) => c.bounds(topic),
          disconnect: () => c.disconnect(),
        };
      },
    };
  };
}
