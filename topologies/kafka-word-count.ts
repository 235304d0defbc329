/**
 * Word count from Kafka to Kafka: sentences are read from an input topic by
 * a KafkaSpout (a consumer-group member), split into words, counted
 * (fields grouping on the word), and every new count is written to an
 * output topic by a KafkaBolt.
 *
 *   npx squall run topologies/kafka-word-count.ts --set input=sentences --set output=word-counts
 *
 * Each output record has key = the word, value = its running count (a
 * decimal string), and headers that name the input word it counts:
 * `src` = `<partition>:<offset>:<index>` (the input record and the word's
 * position in it, from 0), `src-topic` = the input topic, and `run` = the
 * id of the squall run (process) that counted it, as `squall run` prints
 * it. So the output alone shows whether every input word was counted:
 * at-least-once means every (partition, offset, index) of the input
 * appears at least once; one that appears twice was counted again.
 *
 * Counts are held in memory, per count task. A restarted process starts
 * counting from zero again, and a record replayed after a crash or a
 * rebalance is counted again. The output is therefore not a table of exact
 * counts but the at-least-once stream of count updates: a word's latest
 * value is its count since the task that counted it started, and may
 * include repeats. (Exact counts need state checkpointed with the offsets,
 * which squall does not have yet.)
 *
 * Several `squall run` processes with the same group id share the input
 * topic's partitions, and take over the partitions of one that dies once
 * the broker notices (`kafka.sessionTimeoutMs`, default 30 s): that is how
 * this topology grows past one machine. Each process keeps its own counts,
 * so a word's updates come from several processes.
 *
 * Config (environment variable, else default; a `--set` wins over both):
 *
 * | key             | environment             | default                   |
 * | --------------- | ----------------------- | ------------------------- |
 * | `kafka.brokers` | SQUALL_KAFKA_BROKERS    | 127.0.0.1:9092            |
 * | `input`         | SQUALL_KAFKA_INPUT      | sentences                 |
 * | `output`        | SQUALL_KAFKA_OUTPUT     | word-counts               |
 * | `kafka.groupId` | SQUALL_KAFKA_GROUP      | squall-kafka-word-count   |
 * | `kafka.clientId`| SQUALL_KAFKA_CLIENT_ID  | squall-kafka-word-count-<component> |
 *
 * `input` is a topic or a comma-separated list; `output` is one topic. The
 * spout and the bolt each read `input` / `output`, never the shared
 * `kafka.topics` / `kafka.topic` keys (one config namespace serves every
 * component, so those two would be easy to mix up); setting either is an
 * E_BAD_CONFIG error. Every other key of KafkaSpout and KafkaBolt applies
 * as documented in docs/kafka.md, e.g. `kafka.sessionTimeoutMs`,
 * `kafka.commitIntervalMs`, `kafka.maxWaitTimeMs`, `kafka.batchSize`,
 * `kafka.lingerMs`. Both topics must exist (squall never creates topics):
 * `npm run kafka:demo -- setup` creates the defaults.
 *
 * TLS and SASL come from the environment only, so that secrets stay out of
 * the command line and the topology config: SQUALL_KAFKA_SSL=1 (TLS with
 * the system's CAs), SQUALL_KAFKA_SASL_MECHANISM (plain, scram-sha-256 or
 * scram-sha-512), SQUALL_KAFKA_SASL_USERNAME, SQUALL_KAFKA_SASL_PASSWORD.
 * See {@link kafkaSecurityFromEnv}.
 */
import { BasicBolt, SquallError, TopologyBuilder } from '../src/index.ts';
import type { BasicOutputCollector, OutputDeclarer, TopologyContext, Tuple, ValueState } from '../src/index.ts';
import { KafkaBolt, KafkaSpout, stringRecords } from '../src/kafka/index.ts';
import { BoltMadeInPrepare, SpoutMadeInOpen } from './made-later.ts';
import type { KafkaClientOptions } from '../src/kafka/index.ts';

const env = process.env;

/** The words of a sentence, in order: lower case, runs of letters, digits and apostrophes. */
export function words(sentence: string): string[] {
  return sentence.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

/** The `src` header of the output record that counts word `index` of an input record. */
export function srcOf(partition: number, offset: number, index: number): string {
  return `${partition}:${offset}:${index}`;
}

/**
 * TLS and SASL client options from the environment (see the module
 * comment), for the spout, the bolt and scripts/kafka/word-count-demo.ts.
 * Throws E_BAD_CONFIG for an unknown mechanism or a mechanism without
 * credentials.
 */
export function kafkaSecurityFromEnv(e: NodeJS.ProcessEnv = env): Pick<KafkaClientOptions, 'ssl' | 'sasl'> {
  const out: Pick<KafkaClientOptions, 'ssl' | 'sasl'> = {};
  const ssl = e['SQUALL_KAFKA_SSL'];
  if (ssl !== undefined && ssl !== '' && ssl !== '0' && ssl !== 'false') out.ssl = true;
  const mechanism = (e['SQUALL_KAFKA_SASL_MECHANISM'] ?? '').toLowerCase();
  if (mechanism === '') return out;
  if (mechanism !== 'plain' && mechanism !== 'scram-sha-256' && mechanism !== 'scram-sha-512') {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `SQUALL_KAFKA_SASL_MECHANISM is '${mechanism}'; it must be plain, scram-sha-256 or scram-sha-512 (for others, such as oauthbearer, pass client.sasl to KafkaSpout and KafkaBolt in code)`,
      details: { key: 'SQUALL_KAFKA_SASL_MECHANISM', value: mechanism },
    });
  }
  const username = e['SQUALL_KAFKA_SASL_USERNAME'] ?? '';
  const password = e['SQUALL_KAFKA_SASL_PASSWORD'] ?? '';
  if (username === '' || password === '') {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `SQUALL_KAFKA_SASL_MECHANISM is '${mechanism}' but SQUALL_KAFKA_SASL_USERNAME or SQUALL_KAFKA_SASL_PASSWORD is empty; set both`,
      details: { key: username === '' ? 'SQUALL_KAFKA_SASL_USERNAME' : 'SQUALL_KAFKA_SASL_PASSWORD' },
    });
  }
  out.sasl = { mechanism, username, password };
  return out;
}

/** A comma-separated string or a list of strings; undefined for anything else. */
function listOf(v: unknown): string[] | undefined {
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '')) return v as string[];
  return undefined;
}

/** `input` or `output` from config; refuses the shared kafka.topic(s) keys that this topology does not read. */
function topicsFrom(context: TopologyContext, key: 'input' | 'output', ignored: 'kafka.topics' | 'kafka.topic'): string[] {
  const c = context.config;
  if (c[ignored] !== undefined) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `${context.componentId}: kafka-word-count reads its ${key} topic from config '${key}', not '${ignored}'; use --set ${key}=<topic> (or SQUALL_KAFKA_${key.toUpperCase()})`,
      details: { key: ignored, value: c[ignored] },
    });
  }
  const topics = listOf(c[key]);
  if (topics === undefined || topics.length === 0 || (key === 'output' && topics.length !== 1)) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `${context.componentId}: config '${key}' is ${JSON.stringify(c[key]) ?? 'not set'}; it must be ${key === 'output' ? 'one topic' : 'a topic or a comma-separated list of topics'}: --set ${key}=<topic>`,
      details: { key, value: c[key] },
    });
  }
  return topics;
}

/**
 * The KafkaSpout, with its topics taken from config `input`. A wrapper
 * rather than the spout itself because the topic is only known in open(),
 * where the config (with the CLI's --set) is.
 */
export class SentenceSpout extends SpoutMadeInOpen<KafkaSpout> {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(stringRecords.fields);
  }
  protected make(context: TopologyContext): KafkaSpout {
    return new KafkaSpout({ topics: topicsFrom(context, 'input', 'kafka.topics'), client: kafkaSecurityFromEnv() });
  }
}

/** One tuple per word of the record's value, with where it came from. */
export class SplitBolt extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word', 'topic', 'src']);
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    const value = input.get('value') as string | null;
    if (value === null) return; // a tombstone has no words
    const topic = input.getString('topic');
    const partition = input.getNumber('partition');
    const offset = input.getNumber('offset');
    const ws = words(value);
    for (let i = 0; i < ws.length; i++) out.emit([ws[i], topic, srcOf(partition, offset, i)]);
  }
}

/**
 * Running counts in keyed state (one ValueState per word): with checkpoints
 * they survive a crash (topologies/kafka-word-count-exactly-once.ts).
 */
export class KeyedCountBolt extends BasicBolt {
  private count!: ValueState<number>;
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word', 'count', 'topic', 'src']);
  }
  override prepare(context: TopologyContext): void {
    this.count = context.state.value<number>('count');
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    const n = (this.count.get() ?? 0) + 1;
    this.count.set(n);
    out.emit([input.getString('word'), n, input.getValue(1), input.getValue(2)]);
  }
}

/** Running counts, in memory: lost when the process stops (see the module comment). */
export class CountBolt extends BasicBolt {
  private readonly counts = new Map<string, number>();
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['word', 'count', 'topic', 'src']);
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    const word = input.getString('word');
    const n = (this.counts.get(word) ?? 0) + 1;
    this.counts.set(word, n);
    out.emit([word, n, input.getValue(1), input.getValue(2)]);
  }
}

/** The KafkaBolt, writing to config `output`: key = word, value = count, headers `src`, `src-topic` and `run`. */
export class CountSink extends BoltMadeInPrepare<KafkaBolt> {
  protected make(context: TopologyContext): KafkaBolt {
    const [topic] = topicsFrom(context, 'output', 'kafka.topic');
    const run = context.runId;
    const idPrefix = context.config['transactional.idPrefix'];
    return new KafkaBolt({
      topic: topic!,
      client: kafkaSecurityFromEnv(),
      ...(typeof idPrefix === 'string' && idPrefix !== '' ? { transactional: { idPrefix } } : {}),
      map: (t) => ({
        key: t.getString('word'),
        value: String(t.getNumber('count')),
        headers: { src: t.getString('src'), 'src-topic': t.getString('topic'), run },
      }),
    });
  }
}

/** The config every variant starts from: the environment's, which --set overrides. */
export const defaults: Record<string, unknown> = {
  'kafka.brokers': env['SQUALL_KAFKA_BROKERS'] || '127.0.0.1:9092',
  input: env['SQUALL_KAFKA_INPUT'] || 'sentences',
  output: env['SQUALL_KAFKA_OUTPUT'] || 'word-counts',
  'kafka.groupId': env['SQUALL_KAFKA_GROUP'] || 'squall-kafka-word-count',
};
if (env['SQUALL_KAFKA_CLIENT_ID']) defaults['kafka.clientId'] = env['SQUALL_KAFKA_CLIENT_ID'];

const builder = new TopologyBuilder('kafka-word-count');
builder.setSpout('sentences', () => new SentenceSpout());
builder.setBolt('split', () => new SplitBolt(), { parallelism: 2 }).shuffleGrouping('sentences');
builder.setBolt('count', () => new CountBolt(), { parallelism: 2 }).fieldsGrouping('split', ['word']);
builder.setBolt('out', () => new CountSink()).shuffleGrouping('count');

// The topology's config is where the environment goes; the CLI's --set is
// merged over it when the run starts, so --set wins.
export default builder.build(defaults);
