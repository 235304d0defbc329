/**
 * The Kafka word count, exactly once: topologies/kafka-word-count.ts in
 * checkpoint mode. The counts are keyed state, checkpointed every second
 * (config `checkpointIntervalMs`) with the KafkaSpout's offsets; the
 * KafkaBolt writes in Kafka transactions, one per checkpoint, committed when
 * the checkpoint completes. After a crash (kill -9 included) the restart
 * restores the last checkpoint, rewinds the spout to its offsets and
 * aborts or completes what the dead run left open, so a read_committed
 * consumer of the output sees every input word counted exactly once, and a
 * word's last count is its exact count.
 *
 *   npx squall run topologies/kafka-word-count-exactly-once.ts --set input=sentences --set output=word-counts --state-dir /var/lib/squall/wc
 *
 * Config as kafka-word-count.ts, plus `transactional.idPrefix` (default
 * `squall-kafka-word-count`): the transactional ids' prefix, which must be
 * unique per deployment and stable across its restarts (docs/exactly-once.md).
 */
import { TopologyBuilder } from '../src/index.ts';
import { CountSink, defaults, KeyedCountBolt, SentenceSpout, SplitBolt } from './kafka-word-count.ts';

const builder = new TopologyBuilder('kafka-word-count-exactly-once');
builder.setSpout('sentences', () => new SentenceSpout());
builder.setBolt('split', () => new SplitBolt(), { parallelism: 2 }).shuffleGrouping('sentences');
builder.setBolt('count', () => new KeyedCountBolt(), { parallelism: 2 }).fieldsGrouping('split', ['word']);
builder.setBolt('out', () => new CountSink()).shuffleGrouping('count');

export default builder.build({
  ...defaults,
  'transactional.idPrefix': process.env['SQUALL_KAFKA_TXN_PREFIX'] || 'squall-kafka-word-count',
  ackers: 0,
  checkpointIntervalMs: 1000,
});
