/**
 * The floor under kafka-pipeline: the same records moved from the input
 * topic to the output topic by a consume-then-produce loop written by hand
 * with kafkajs, no framework. At-least-once, as a careful user writes it:
 * for each batch the consumer hands over (one partition's records), write
 * them all with one sendBatch (acks = all), then commit the batch's offsets,
 * and only then take the next batch. Figure: records per second from the
 * first record consumed to the last write acknowledged.
 */
import kafkajs from 'kafkajs';
import type { BenchOptions, BenchResult } from '../result.ts';
import { round, rssMb } from '../result.ts';
import { CONSUMER, PassClock, RECORDS, withKafkaBench } from './kafka.ts';

export async function kafkaBareLoop(_options: BenchOptions): Promise<BenchResult> {
  return withKafkaBench('kafka-bare-loop', async (ctx) => {
    const kafka = new kafkajs.Kafka({ brokers: [...ctx.brokers], clientId: ctx.clientId, logLevel: kafkajs.logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({
      groupId: ctx.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: CONSUMER.maxWaitTimeMs,
      maxBytesPerPartition: CONSUMER.maxBytesPerPartition,
    });
    const clock = new PassClock();
    await producer.connect();
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [ctx.input], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const msgs = batch.messages;
          if (msgs.length === 0) return;
          clock.consumed();
          const messages = new Array<{ key: Buffer | null; value: Buffer | null }>(msgs.length);
          for (let i = 0; i < msgs.length; i++) messages[i] = { key: msgs[i]!.key, value: msgs[i]!.value };
          await producer.sendBatch({ acks: -1, topicMessages: [{ topic: ctx.output, messages }] });
          clock.written(msgs.length);
          const last = msgs[msgs.length - 1]!.offset;
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1) }]);
          resolveOffset(last);
          await heartbeat();
        },
      });
      const pass = await clock.finished('kafka-bare-loop');
      const rss = rssMb();
      return {
        bench: 'kafka-bare-loop',
        mode: 'local',
        threads: 1,
        tuplesPerSec: pass.recordsPerSec,
        records: RECORDS,
        seconds: round(pass.seconds, 3),
        rssMb: rss,
        cpu: pass.cpu,
      } satisfies BenchResult;
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  });
}
