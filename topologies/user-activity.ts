/**
 * Per-user hourly activity, the seed case of event-time windows: a social
 * platform's events arrive as JSON on Kafka, out of order and sometimes
 * twice; each user's actions are counted per hour of event time, the hourly
 * rows are upserted into PostgreSQL and published to Kafka, exactly once.
 *
 *   KafkaSpout 'events' (JSON; not JSON -> dead-letter topic; watermarks per partition)
 *     -> 'parse'   (an event, or a 'malformed' record with the reason -> dead-letter topic)
 *     -> 'dedup'   (fields grouping on eventId: the first copy of an eventId goes on; keyed state with a time to live)
 *     -> 'hourly'  (fields grouping on userId: WindowedBolt, tumbling 1 h of event time, 5 min allowed lateness)
 *          -> 'table'  PostgresUpsertSink: user_activity_hourly, one row per (user, hour), newest version
 *          -> 'out'    transactional KafkaBolt: every row (on time and late corrections) to user-activity-hourly
 *          'late' stream -> 'late' transactional KafkaBolt: events later than the lateness, to user-events-late
 *
 *   npx squall run topologies/user-activity.ts --state-dir .squall/state/user-activity
 *
 * An event is `{"eventId": "...", "userId": "...", "action": "like" | "comment" | "share" | "view", "ts": <ms>}`
 * (`ts`, the event time, may also be an ISO date string). Checkpoint mode
 * (`ackers: 0`, a checkpoint every second): a crash, `kill -9` included,
 * rolls back to the last checkpoint; the table and the output topics
 * (read_committed) then hold every event exactly once.
 *
 * Event time: the KafkaSpout works out a watermark per partition (the
 * largest `ts` read from it less `maxOutOfOrdernessMs`); the task's
 * watermark is the least over its partitions that are not idle. An hour
 * `[start, end)` fires on time once the watermark reaches `end - 1`; an
 * event that comes later, while the watermark is below `end - 1 + 5 min`,
 * corrects the row (a late firing: the next version); one later still
 * goes to the late topic with its original fields.
 *
 * Config (environment variable, else default; a `--set` wins over both):
 *
 * | key                        | environment                  | default |
 * | -------------------------- | ---------------------------- | ------- |
 * | `kafka.brokers`            | SQUALL_KAFKA_BROKERS         | 127.0.0.1:9092 |
 * | `input`                    | SQUALL_ACTIVITY_INPUT        | user-events |
 * | `output`                   | SQUALL_ACTIVITY_OUTPUT       | user-activity-hourly |
 * | `late`                     | SQUALL_ACTIVITY_LATE         | user-events-late |
 * | `dlq`                      | SQUALL_ACTIVITY_DLQ          | user-events-dlq |
 * | `kafka.groupId`            | SQUALL_ACTIVITY_GROUP        | squall-user-activity |
 * | `pg.url`                   | SQUALL_ACTIVITY_PG           | postgres://postgres@127.0.0.1:5432/postgres |
 * | `pg.schema`                | SQUALL_ACTIVITY_PG_SCHEMA    | public |
 * | `pg.table`                 | SQUALL_ACTIVITY_PG_TABLE     | user_activity_hourly |
 * | `transactional.idPrefix`   | SQUALL_ACTIVITY_TXN_PREFIX   | squall-user-activity |
 * | `activity.maxOutOfOrdernessMs` |                          | 60000 |
 * | `activity.idleTimeoutMs`   |                              | 30000 |
 * | `activity.dedupTtlMs`      |                              | 3600000 |
 * | `activity.restoreHoldMs`   |                              | kafka.sessionTimeoutMs + 15000 (the KafkaSpout's eventTime.restoreHoldMs) |
 *
 * `transactional.idPrefix` must be unique to the deployment and the same on
 * every restart (docs/exactly-once.md). The topics must exist (squall never
 * creates topics); the table is created if missing. `npm run activity:demo
 * -- setup` creates all of them (scripts/activity-demo.ts). TLS and SASL
 * come from the environment as for topologies/kafka-word-count.ts.
 */
import { BasicBolt, PostgresUpsertSink, SquallError, TopologyBuilder, tumbling, WindowedBolt } from '../src/index.ts';
import type { BasicOutputCollector, OutputDeclarer, TopologyContext, Tuple, ValueState, WindowAggregate } from '../src/index.ts';
import type { BoltFactory } from '../src/topology/index.ts';
import { jsonRecords, KafkaBolt, KafkaSpout } from '../src/kafka/index.ts';
import type { KafkaSpoutStats } from '../src/kafka/index.ts';
import { kafkaSecurityFromEnv } from './kafka-word-count.ts';
import { BoltMadeInPrepare, SpoutMadeInOpen } from './made-later.ts';

const env = process.env;

export const HOUR_MS = 3_600_000;
/** How long after an hour's end (by the watermark) a late event still corrects its row. */
export const ALLOWED_LATENESS_MS = 300_000;
export const ACTIONS = ['like', 'comment', 'share', 'view'] as const;
export type Action = (typeof ACTIONS)[number];

/** A valid event, as the topology carries it. */
export interface ActivityEvent {
  eventId: string;
  userId: string;
  action: Action;
  /** Event time, ms since the epoch. */
  ts: number;
}

/** The fields of parsed events (the 'late' topic carries them too). */
export const EVENT_FIELDS = ['eventId', 'userId', 'action', 'ts'] as const;

/** An hour's counts: the window's result. */
export interface HourlyCounts {
  likes: number;
  comments: number;
  shares: number;
  views: number;
  total: number;
}

const COLUMN_OF: Record<Action, keyof HourlyCounts> = { like: 'likes', comment: 'comments', share: 'shares', view: 'views' };

/** The table's columns and their SQL types: the key (user_id, hour), the counts, and the version of the window's result. */
export const TABLE_KEY = ['user_id', 'hour'] as const;
export const TABLE_COLUMNS = ['likes', 'comments', 'shares', 'views', 'total', 'version'] as const;
export const TABLE_TYPES: Record<string, string> = {
  user_id: 'text',
  hour: 'timestamptz',
  likes: 'bigint',
  comments: 'bigint',
  shares: 'bigint',
  views: 'bigint',
  total: 'bigint',
  version: 'integer',
};

/** Event time in ms from a `ts` that is a number of ms or an ISO date string; NaN when it is neither. */
export function timeOf(ts: unknown): number {
  if (typeof ts === 'number') return Number.isFinite(ts) ? ts : NaN;
  if (typeof ts === 'string' && /^\d{4}-\d\d-\d\dT/.test(ts)) return Date.parse(ts);
  return NaN;
}

/**
 * The event time of a record's parsed JSON value, for the watermark: its
 * `ts`, or NaN (which moves no watermark) when the value has none. Never
 * throws.
 */
export function eventTimeOf(value: unknown): number {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return NaN;
  return timeOf((value as { ts?: unknown }).ts);
}

/** A parsed JSON value as an event, or why it is not one. */
export function parseEvent(value: unknown): { event: ActivityEvent } | { reason: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { reason: `the value is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, not an object` };
  const v = value as Record<string, unknown>;
  const { eventId, userId, action } = v;
  if (typeof eventId !== 'string' || eventId === '') return { reason: 'eventId is missing or not a non-empty string' };
  if (typeof userId !== 'string' || userId === '') return { reason: 'userId is missing or not a non-empty string' };
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) return { reason: `action is ${JSON.stringify(action) ?? 'missing'}; it must be one of ${ACTIONS.join(', ')}` };
  const ts = timeOf(v['ts']);
  if (Number.isNaN(ts)) return { reason: `ts is ${JSON.stringify(v['ts']) ?? 'missing'}; it must be ms since the epoch or an ISO date` };
  return { event: { eventId, userId, action: action as Action, ts } };
}

/** The start of the hour `ts` falls in. */
export function hourOf(ts: number): number {
  return Math.floor(ts / HOUR_MS) * HOUR_MS;
}

/** A record of the output topic: one row, on time or a late correction. */
export interface HourlyRecord extends HourlyCounts {
  userId: string;
  /** The hour as an ISO date (its start). */
  hour: string;
  start: number;
  end: number;
  kind: string;
  version: number;
}

export const countsAggregate: WindowAggregate<Action, HourlyCounts, HourlyCounts> = {
  create: () => ({ likes: 0, comments: 0, shares: 0, views: 0, total: 0 }),
  add(acc, action) {
    acc[COLUMN_OF[action]]++;
    acc.total++;
    return acc;
  },
  merge(a, b) {
    a.likes += b.likes;
    a.comments += b.comments;
    a.shares += b.shares;
    a.views += b.views;
    a.total += b.total;
    return a;
  },
  result: (acc) => ({ ...acc }),
};

// --- config ------------------------------------------------------------------

type TopicKey = 'input' | 'output' | 'late' | 'dlq';

function str(context: TopologyContext, key: string): string {
  const v = context.config[key];
  if (typeof v !== 'string' || v.trim() === '') {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `${context.componentId}: config '${key}' is ${JSON.stringify(v) ?? 'not set'}; it must be a non-empty string: --set ${key}=<value>`,
      details: { key, value: v },
    });
  }
  return v.trim();
}

function topic(context: TopologyContext, key: TopicKey): string {
  const t = str(context, key);
  if (t.includes(',')) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `${context.componentId}: config '${key}' is '${t}'; it must be one topic`, details: { key, value: t } });
  }
  return t;
}

function ms(context: TopologyContext, key: string, dflt: number): number {
  const v = context.config[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `${context.componentId}: config '${key}' is ${JSON.stringify(v)}; it must be a number of ms, at least 0`, details: { key, value: v } });
  }
  return v;
}

function idPrefix(context: TopologyContext): string {
  return str(context, 'transactional.idPrefix');
}

// --- components --------------------------------------------------------------

/**
 * The KafkaSpout, made in open() where the config (with the CLI's --set) is:
 * JSON values, records that are not JSON to the dead-letter topic, and
 * event time per partition from each value's `ts`. After a restore the
 * KafkaSpout itself holds the watermark for the partitions the group has
 * not given back yet (`eventTime.restoreHoldMs`, docs/kafka.md).
 */
export class EventSpout extends SpoutMadeInOpen<KafkaSpout> {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(jsonRecords.fields);
  }
  protected make(context: TopologyContext): KafkaSpout {
    const hold = context.config['activity.restoreHoldMs'];
    return new KafkaSpout({
      topics: [topic(context, 'input')],
      deserializer: jsonRecords,
      deadLetterTopic: topic(context, 'dlq'),
      client: kafkaSecurityFromEnv(),
      eventTime: {
        timestamp: (_record, values) => eventTimeOf(values[1]),
        maxOutOfOrdernessMs: ms(context, 'activity.maxOutOfOrdernessMs', 60_000),
        idleTimeoutMs: ms(context, 'activity.idleTimeoutMs', 30_000),
        ...(hold !== undefined ? { restoreHoldMs: ms(context, 'activity.restoreHoldMs', 0) } : {}),
      },
    });
  }
  stats(): KafkaSpoutStats | undefined {
    return this.inner?.stats();
  }
}

/** The stream of records that are JSON but not events. */
export const MALFORMED_STREAM = 'malformed';

/** JSON values to events; the rest to the 'malformed' stream with the reason and where they came from. */
export class ParseBolt extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(EVENT_FIELDS);
    d.declareStream(MALFORMED_STREAM, ['key', 'value', 'reason', 'source']);
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    const value = input.get('value');
    const p = parseEvent(value);
    if ('event' in p) {
      const e = p.event;
      out.emit([e.eventId, e.userId, e.action, e.ts]);
    } else {
      const source = `${input.getString('topic')}/${input.getNumber('partition')}/${input.getNumber('offset')}`;
      out.emitTo(MALFORMED_STREAM, [input.get('key'), JSON.stringify(value), p.reason, source]);
    }
  }
}

/** Drops every copy of an eventId after the first (keyed state per eventId, forgotten `activity.dedupTtlMs` after it was seen). */
export class DedupBolt extends BasicBolt {
  private seen!: ValueState<1>;
  duplicates = 0;
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(EVENT_FIELDS);
  }
  override prepare(context: TopologyContext): void {
    this.seen = context.state.value<1>('seen', { ttlMs: ms(context, 'activity.dedupTtlMs', 3_600_000) });
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    if (this.seen.get() !== undefined) {
      this.duplicates++;
      return;
    }
    this.seen.set(1);
    out.emit([...input.values]);
  }
}

/** Each user's actions per hour of event time: [key, start, end, result, kind, version]; too-late events on 'late'. */
export function hourlyWindow(): WindowedBolt<Action, HourlyCounts, HourlyCounts> {
  return new WindowedBolt<Action, HourlyCounts, HourlyCounts>({
    window: tumbling(HOUR_MS),
    time: { field: 'ts' },
    allowedLatenessMs: ALLOWED_LATENESS_MS,
    value: (v) => v[2] as Action,
    aggregate: countsAggregate,
    late: { fields: EVENT_FIELDS },
  });
}

/** A window result as a table row. */
export function rowOf(t: Tuple): Record<string, unknown> {
  const c = t.getValue(3) as HourlyCounts;
  return {
    user_id: t.getValue(0),
    hour: new Date(t.getNumber('start')),
    likes: c.likes,
    comments: c.comments,
    shares: c.shares,
    views: c.views,
    total: c.total,
    version: t.getNumber('version'),
  };
}

/** A window result as an output record's value. */
export function recordOf(t: Tuple): HourlyRecord {
  const c = t.getValue(3) as HourlyCounts;
  const start = t.getNumber('start');
  return {
    userId: t.getValue(0) as string,
    hour: new Date(start).toISOString(),
    start,
    end: t.getNumber('end'),
    likes: c.likes,
    comments: c.comments,
    shares: c.shares,
    views: c.views,
    total: c.total,
    kind: t.getString('kind'),
    version: t.getNumber('version'),
  };
}

/** The hourly rows into PostgreSQL, made in prepare() from config `pg.*`. */
export class TableSink extends BoltMadeInPrepare<PostgresUpsertSink> {
  protected make(context: TopologyContext): PostgresUpsertSink {
    return new PostgresUpsertSink({
      connection: str(context, 'pg.url'),
      schema: str(context, 'pg.schema'),
      table: str(context, 'pg.table'),
      key: TABLE_KEY,
      columns: TABLE_COLUMNS,
      createTable: TABLE_TYPES,
      row: rowOf,
    });
  }
}

/** A transactional KafkaBolt to the topic of config `key`, made in prepare(). */
export class TopicSink extends BoltMadeInPrepare<KafkaBolt> {
  constructor(
    private readonly key: 'output' | 'late' | 'dlq',
    private readonly map: (t: Tuple) => { key: string | null; value: string; headers?: Record<string, string> },
  ) {
    super();
  }
  protected make(context: TopologyContext): KafkaBolt {
    return new KafkaBolt({
      topic: topic(context, this.key),
      client: kafkaSecurityFromEnv(),
      transactional: { idPrefix: idPrefix(context) },
      map: this.map,
    });
  }
}

/** The event's fields as JSON, keyed by user (the late topic). */
export function lateRecord(t: Tuple): { key: string; value: string } {
  const [eventId, userId, action, ts] = t.values as [string, string, Action, number];
  return { key: userId, value: JSON.stringify({ eventId, userId, action, ts }) };
}

/** The error code in the dead-letter headers of a record that is JSON but not an event. */
export const BAD_EVENT_CODE = 'E_ACTIVITY_BAD_EVENT';

/** A malformed record for the dead-letter topic, with the headers the KafkaSpout gives its own dead letters. */
export function deadLetter(t: Tuple): { key: string | null; value: string; headers: Record<string, string> } {
  return {
    key: t.getValue(0) as string | null,
    value: t.getString('value'),
    headers: { 'squall.source': t.getString('source'), 'squall.error.code': BAD_EVENT_CODE, 'squall.error': t.getString('reason') },
  };
}

/** The config every run starts from: the environment's, which --set overrides. */
export const defaults: Record<string, unknown> = {
  'kafka.brokers': env['SQUALL_KAFKA_BROKERS'] || '127.0.0.1:9092',
  input: env['SQUALL_ACTIVITY_INPUT'] || 'user-events',
  output: env['SQUALL_ACTIVITY_OUTPUT'] || 'user-activity-hourly',
  late: env['SQUALL_ACTIVITY_LATE'] || 'user-events-late',
  dlq: env['SQUALL_ACTIVITY_DLQ'] || 'user-events-dlq',
  'kafka.groupId': env['SQUALL_ACTIVITY_GROUP'] || 'squall-user-activity',
  'pg.url': env['SQUALL_ACTIVITY_PG'] || 'postgres://postgres@127.0.0.1:5432/postgres',
  'pg.schema': env['SQUALL_ACTIVITY_PG_SCHEMA'] || 'public',
  'pg.table': env['SQUALL_ACTIVITY_PG_TABLE'] || 'user_activity_hourly',
  'transactional.idPrefix': env['SQUALL_ACTIVITY_TXN_PREFIX'] || 'squall-user-activity',
};
if (env['SQUALL_KAFKA_CLIENT_ID']) defaults['kafka.clientId'] = env['SQUALL_KAFKA_CLIENT_ID'];

export interface BuildOptions {
  /** Tasks of the dedup and hourly bolts (default 2). */
  parallelism?: number;
  /** A bolt between the window and the sinks that sees every row (the benchmark's tap); it must emit the window's fields on. */
  tap?: BoltFactory;
}

export function build(config: Record<string, unknown> = {}, options: BuildOptions = {}) {
  const n = options.parallelism ?? 2;
  const b = new TopologyBuilder('user-activity');
  // `watermarks: {}`: the KafkaSpout sends its own (per partition), and bolts wait for them.
  b.setSpout('events', () => new EventSpout(), { watermarks: {} });
  b.setBolt('parse', () => new ParseBolt()).localOrShuffleGrouping('events');
  b.setBolt('dedup', () => new DedupBolt(), { parallelism: n }).fieldsGrouping('parse', ['eventId']);
  b.setBolt('hourly', () => hourlyWindow(), { parallelism: n }).fieldsGrouping('dedup', ['userId']);
  let rows = 'hourly';
  if (options.tap !== undefined) {
    b.setBolt('tap', options.tap, { parallelism: n }).fieldsGrouping('hourly', ['key']);
    rows = 'tap';
  }
  // One task per (user): every version of a row reaches the same sink task, in order.
  b.setBolt('table', () => new TableSink()).fieldsGrouping(rows, ['key']);
  b.setBolt('out', () => new TopicSink('output', (t) => ({ key: t.getValue(0) as string, value: JSON.stringify(recordOf(t)) }))).fieldsGrouping(rows, ['key']);
  b.setBolt('late', () => new TopicSink('late', lateRecord)).shuffleGrouping('hourly', 'late');
  b.setBolt('dlq', () => new TopicSink('dlq', deadLetter)).shuffleGrouping('parse', MALFORMED_STREAM);
  return b.build({ ...defaults, ackers: 0, checkpointIntervalMs: 1000, ...config });
}

export default build();
