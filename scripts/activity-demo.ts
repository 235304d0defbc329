/**
 * Try topologies/user-activity.ts by hand (the README's "Per-user hourly activity"):
 *
 *   npm run activity:demo -- setup            # the four topics and the table
 *   npx squall run topologies/user-activity.ts
 *   npm run activity:demo -- produce 20000    # a realistic event stream (options below)
 *   npm run activity:demo -- check            # true hourly counts vs the table and the output topic
 *
 * It reads the topology's environment (SQUALL_KAFKA_BROKERS,
 * SQUALL_ACTIVITY_INPUT, _OUTPUT, _LATE, _DLQ, SQUALL_ACTIVITY_PG,
 * _PG_SCHEMA, _PG_TABLE; SQUALL_KAFKA_SSL / SQUALL_KAFKA_SASL_* for a
 * secured cluster). The functions are exported for
 * test/kafka/user-activity.test.ts and bench/user-activity.ts.
 *
 * What `produce` writes: N events over the last `--hours` hours of event
 * time (up to now: the current hour stays open), users drawn from a Zipf distribution (a
 * few very active, a long tail), views most common, then likes, comments
 * and shares. Each event arrives up to `--disorder-ms` after it happened
 * (out of order), a fraction `--duplicates` is sent again a few records
 * later (same eventId), a fraction `--late` comes from devices that were
 * offline for hours (very late: from one to six hours before the stream's
 * first event, far past the 5 minutes of allowed lateness, so they belong
 * on the late topic whatever the watermark's lag), and about one record in a
 * thousand is malformed (not JSON, no userId, an unknown action, a `ts`
 * that is not a time). The record key is the eventId, so the copies of an
 * event share a partition. And `--late-allowed` events per hour (default
 * 5) are late but within the allowed lateness, each a correction: from a
 * device offline for a few minutes, in the hour's last ten minutes, for a
 * user active in the hour's first half. They are written when the stream
 * is 4 minutes of event time past the hour's end (CORRECTION_LEAD_MS), and
 * only once the hour's rows of those users are in the table: `produce`
 * waits for the topology to fire the hour (it must be running).
 *
 * What `check` expects, from the input topic alone: per partition, in
 * offset order, the watermark the topology can have reached when a record
 * arrives is at most the largest `ts` before it in that partition less the
 * out-of-orderness (the spout's per-partition rule, and the task's
 * watermark is the least over partitions). An event whose hour `[start,
 * end)` has `end - 1 + 5 min` above that bound is counted (on time or as a
 * late correction); one at or below it is too late and belongs on the late
 * topic. The very late events of `produce` belong to hours that ended before
 * the stream's first event (less the disorder and lateness), so any
 * watermark the stream has produced makes them too late, however far it
 * lags: the two classes cannot be confused. Only the first copy of an eventId counts. An hour must have
 * fired once its `end - 1` is at or below the least partition watermark
 * at the end; a later hour may still be open (it fires once the input has
 * been idle for `idleTimeoutMs` and the watermark moves on with the clock),
 * and is compared only if it is there.
 *
 * Late corrections: whether an event that comes shortly after its hour's
 * end is on time or a correction depends on the watermark when it is read,
 * which depends on how far each partition has been read then; no rule on
 * the input alone can tell. So the corrections `check` confirms are the
 * `produce` events written after their hour fired (ids `<tag>-correction-<n>`):
 * a fired hour in the table means a completed checkpoint, so every run since,
 * a restored one too, had it fired when they came; and they came with the
 * stream 4 minutes past the end, so by the rule above no watermark can be
 * more than 3 minutes past it: inside the 5 minutes of lateness. Their rows
 * must have an on-time version 1 without them and a newer late version with
 * them, on the topic and in the table, and there must be such rows.
 */
// squall's Kafka client first: it fixes kafkajs's read_committed filter as kafkajs loads (docs/exactly-once.md).
import { createKafkaClient } from '../src/kafka/index.ts';
import type { KafkaClient, ProducerRecord } from '../src/kafka/index.ts';
import { SquallError } from '../src/index.ts';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import { nanoid } from 'nanoid';
import pg from 'pg';
import { kafkaSecurityFromEnv } from '../topologies/kafka-word-count.ts';
import { mulberry32 } from '../topologies/corpus.ts';
import { zipfKeys } from '../topologies/windowed-count.ts';
import { ALLOWED_LATENESS_MS, defaults, eventTimeOf, HOUR_MS, hourOf, parseEvent, TABLE_COLUMNS, TABLE_KEY, TABLE_TYPES } from '../topologies/user-activity.ts';
import type { Action, HourlyCounts, HourlyRecord } from '../topologies/user-activity.ts';

/** Where the demo's data lives: the topology's config keys. */
export interface ActivityTarget {
  brokers: string[];
  input: string;
  output: string;
  late: string;
  dlq: string;
  pgUrl: string;
  schema: string;
  table: string;
}

/** The target from the topology's defaults (the environment). */
export function targetFromEnv(): ActivityTarget {
  return {
    brokers: String(defaults['kafka.brokers']).split(',').map((s) => s.trim()),
    input: String(defaults['input']),
    output: String(defaults['output']),
    late: String(defaults['late']),
    dlq: String(defaults['dlq']),
    pgUrl: String(defaults['pg.url']),
    schema: String(defaults['pg.schema']),
    table: String(defaults['pg.table']),
  };
}

function client(t: ActivityTarget): KafkaClient {
  return createKafkaClient({ brokers: t.brokers, clientId: 'squall-activity-demo', ...kafkaSecurityFromEnv() });
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The table's DDL: what the topology's PostgresUpsertSink creates (with its checkpoint_id column). */
export function tableDdl(schema: string, table: string): string[] {
  const cols = [...TABLE_KEY, ...TABLE_COLUMNS].map((c) => `${quote(c)} ${TABLE_TYPES[c]}`);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${quote(schema)}.${quote(table)} (${cols.join(', ')}, "checkpoint_id" bigint NOT NULL, PRIMARY KEY (${TABLE_KEY.map(quote).join(', ')}))`,
  ];
}

/** Create the topics (those that exist are left as they are) and the table. */
export async function setup(t: ActivityTarget, partitions = 4, log: (line: string) => void = console.log): Promise<void> {
  const admin = client(t).admin();
  await admin.connect();
  try {
    const replicationFactor = Number(process.env['SQUALL_KAFKA_REPLICATION'] || 1);
    for (const [topic, n] of [
      [t.input, partitions],
      [t.output, partitions],
      [t.late, 1],
      [t.dlq, 1],
    ] as const) {
      const created = await admin.createTopics([{ topic, numPartitions: n, replicationFactor }]);
      log(created ? `created topic ${topic} (${n} partition${n === 1 ? '' : 's'})` : `topic ${topic} exists already`);
    }
  } finally {
    await admin.disconnect();
  }
  const c = new pg.Client({ connectionString: t.pgUrl });
  await c.connect();
  try {
    for (const q of tableDdl(t.schema, t.table)) await c.query(q);
    log(`table ${t.schema}.${t.table} is there`);
  } finally {
    await c.end();
  }
}

// --- the event stream ----------------------------------------------------------

export interface StreamOptions {
  events: number;
  /** Distinct users (Zipf). Default 1000. */
  users?: number;
  /** Fraction of events sent twice. Default 0.02. */
  duplicates?: number;
  /** Fraction of events that are very late (from hours before the stream began). Default 0.005. */
  late?: number;
  /** How long after it happened an event may arrive, at most. Default 120000 (2 min). */
  disorderMs?: number;
  /** Hours of event time the stream spans. Default 4. */
  hours?: number;
  /** Fraction of malformed records. Default 0.001 (above 0: at least 4 when events >= 1000). */
  malformed?: number;
  /** When the stream's last event happened (ms). Default: now, so the stream covers the last `hours` hours and the current hour is still open. */
  endMs?: number;
  /**
   * Late-but-allowed events per hour that closes within the stream (default
   * 0): each of a user active in the hour, written (by {@link writeStream})
   * after the hour's row is in the table, so after the hour fired on time,
   * and before the stream is past the allowed lateness: each one is a
   * correction (see CORRECTION_LEAD_MS).
   */
  corrections?: number;
  seed?: number;
  /** Makes event ids unique to this stream. Default: random. */
  tag?: string;
}

const ACTION_WEIGHTS: readonly [Action, number][] = [
  ['view', 0.6],
  ['like', 0.25],
  ['comment', 0.1],
  ['share', 0.05],
];

/**
 * Before records[at] (the first of the hour's correction events), the writer
 * waits until the table has the hour's row of every one of `users`: the
 * hour fired on time, in a completed checkpoint (the sinks commit on
 * completion), so every run from then on, a restored one too, has it fired.
 */
export interface Gate {
  at: number;
  /** The hour's start (ms). */
  hour: number;
  users: string[];
}

export interface GeneratedStream {
  records: ProducerRecord[];
  /** What went in: events (first copies, correction events included), duplicates, very late events, malformed records, correction events. */
  counts: { events: number; duplicates: number; veryLate: number; malformed: number; corrections: number };
  /** Where the writer waits for an hour to fire before its correction events (in order of `at`). */
  gates: Gate[];
  startMs: number;
  endMs: number;
}

/** The event ids of correction events (late but within the allowed lateness, written after their hour fired). */
export const CORRECTION_ID = /-correction-\d+$/;

/**
 * How far past an hour's end the stream is when the hour's correction
 * events are written: 4 minutes of event time. Then every partition's
 * watermark can be at most 3 minutes past the end (the largest `ts` written
 * before, at most the end + 4 minutes, less the minute of out-of-orderness),
 * well inside the 5 minutes of allowed lateness, and the data before has
 * taken the watermark past the end on every partition (each partition's
 * largest `ts` is within seconds of the stream's time), so the hour fires
 * from the data alone.
 */
export const CORRECTION_LEAD_MS = 4 * 60_000;

/** The records of an event stream, in the order to write them. */
export function generate(o: StreamOptions): GeneratedStream {
  const n = o.events;
  const users = o.users ?? 1000;
  const dupF = o.duplicates ?? 0.02;
  const lateF = o.late ?? 0.005;
  const disorder = o.disorderMs ?? 120_000;
  const hours = o.hours ?? 4;
  const malF = o.malformed ?? 0.001;
  const span = hours * HOUR_MS;
  const endMs = o.endMs ?? Date.now();
  const startMs = endMs - span;
  const rnd = mulberry32(o.seed ?? 1);
  const tag = o.tag ?? nanoid(6).replace(/[^A-Za-z0-9]/g, 'x');
  const who = zipfKeys(users, Math.max(n, 1), (o.seed ?? 1) * 7919 + 1);
  // Very late events only once the stream is under way, so every partition has a watermark by then.
  const lateFrom = Math.min(n, Math.max(1000, Math.floor(n / 10)));
  const malformedAt = new Set<number>();
  const malformedCount = n >= 1000 && malF > 0 ? Math.max(4, Math.round(n * malF)) : Math.round(n * malF);
  while (malformedAt.size < malformedCount) malformedAt.add(Math.floor(rnd() * n));
  const records: ProducerRecord[] = [];
  const later = new Map<number, ProducerRecord[]>();
  const counts = { events: 0, duplicates: 0, veryLate: 0, malformed: 0, corrections: 0 };
  const gates: Gate[] = [];
  const perHour = o.corrections ?? 0;
  // Users with an event in the first half of an hour: on time whatever the watermark (it cannot be near the hour's end yet).
  const early = new Map<number, string[]>();
  let gateHour = hourOf(startMs);
  let malformedKind = 0;
  const pickAction = (): Action => {
    let r = rnd();
    for (const [a, w] of ACTION_WEIGHTS) {
      if (r < w) return a;
      r -= w;
    }
    return 'view';
  };
  for (let i = 0; i < n; i++) {
    const base = startMs + Math.floor((i / n) * span);
    // The stream is CORRECTION_LEAD_MS past an hour's end: that hour's correction events, once it fired.
    if (perHour > 0 && base >= gateHour + HOUR_MS + CORRECTION_LEAD_MS) {
      // A stream so sparse that it jumped further past the end has no room for them inside the lateness.
      const room = base < gateHour + HOUR_MS + CORRECTION_LEAD_MS + 60_000;
      const active = room ? [...new Set(early.get(gateHour) ?? [])] : [];
      const users: string[] = [];
      while (users.length < Math.min(perHour, active.length)) {
        const u = active[Math.floor(rnd() * active.length)]!;
        if (!users.includes(u)) users.push(u);
      }
      if (users.length > 0) {
        gates.push({ at: records.length, hour: gateHour, users });
        const end = gateHour + HOUR_MS;
        for (const userId of users) {
          // From a device offline for a few minutes: in the hour's last ten, arriving minutes after it ended.
          const eventId = `${tag}-correction-${counts.corrections++}`;
          const ts = end - 1 - Math.floor(rnd() * 10 * 60_000);
          records.push({ key: eventId, value: JSON.stringify({ eventId, userId, action: pickAction(), ts }) });
          counts.events++;
        }
      }
      early.delete(gateHour);
      gateHour += HOUR_MS;
    }
    if (malformedAt.has(i)) {
      const ts = base;
      const value = [
        `{"eventId": "${tag}-bad-${i}", "userId": "user-1", "action": "like", "ts": ${ts}`, // cut short: not JSON
        JSON.stringify({ eventId: `${tag}-bad-${i}`, action: 'view', ts }),
        JSON.stringify({ eventId: `${tag}-bad-${i}`, userId: 'user-1', action: 'poke', ts }),
        JSON.stringify({ eventId: `${tag}-bad-${i}`, userId: 'user-1', action: 'share', ts: 'yesterday' }),
      ][malformedKind++ % 4]!;
      records.push({ key: `${tag}-bad-${i}`, value });
      counts.malformed++;
    }
    const action = pickAction();
    const veryLate = i >= lateFrom && rnd() < lateF;
    // Very late: from a device offline since before the stream began, so too late for any watermark the stream
    // has produced (even one that lags far behind it); otherwise up to `disorder` after it happened.
    const ts = veryLate ? startMs - HOUR_MS - ALLOWED_LATENESS_MS - disorder - 60_000 - Math.floor(rnd() * 5 * HOUR_MS) : base - Math.floor(rnd() * disorder);
    const eventId = `${tag}-${i}`;
    const userId = `user-${who[i]}`;
    const rec: ProducerRecord = { key: eventId, value: JSON.stringify({ eventId, userId, action, ts }) };
    records.push(rec);
    counts.events++;
    if (veryLate) counts.veryLate++;
    else if (perHour > 0 && ts - hourOf(ts) < HOUR_MS / 2 && hourOf(ts) >= gateHour) {
      const list = early.get(hourOf(ts));
      if (list === undefined) early.set(hourOf(ts), [userId]);
      else list.push(userId);
    }
    if (rnd() < dupF) {
      // Sent again by a client that retried: a few records later.
      const at = i + 1 + Math.floor(rnd() * 20);
      const list = later.get(at) ?? [];
      list.push(rec);
      later.set(at, list);
      counts.duplicates++;
    }
    for (const d of later.get(i) ?? []) records.push(d);
    later.delete(i);
  }
  for (const list of later.values()) records.push(...list);
  return { records, counts, gates, startMs, endMs };
}

export interface WriteOptions {
  /** Records per send (default 1000). */
  batch?: number;
  /** Pause after each send, ms (default 0). */
  pauseMs?: number;
  /** How long to wait at a gate for the hour to fire (default 120000); past it, E_NOT_RUNNING. */
  gateTimeoutMs?: number;
  /** After each send and each gate passed. */
  progress?: (written: number, gatesPassed: number) => void;
  log?: (line: string) => void;
}

/**
 * Write a generated stream to the input topic (acks = all), in order, and
 * at each gate wait until the hour has fired (its rows are in the table)
 * before writing its correction events: the topology must be running.
 */
export async function writeStream(t: ActivityTarget, s: GeneratedStream, o: WriteOptions = {}): Promise<void> {
  const batch = o.batch ?? 1000;
  const producer = client(t).producer();
  await producer.connect();
  const db = s.gates.length > 0 ? new pg.Client({ connectionString: t.pgUrl }) : null;
  try {
    await db?.connect();
    let i = 0;
    for (let g = 0; g <= s.gates.length; g++) {
      const gate = s.gates[g];
      const end = gate?.at ?? s.records.length;
      while (i < end) {
        const to = Math.min(end, i + batch);
        await producer.send([{ topic: t.input, records: s.records.slice(i, to) }]);
        i = to;
        o.progress?.(i, g);
        if ((o.pauseMs ?? 0) > 0) await sleep(o.pauseMs!);
      }
      if (gate === undefined) break;
      o.log?.(`waiting for hour ${new Date(gate.hour).toISOString()} to fire (${gate.users.length} rows in ${t.schema}.${t.table}) before its ${gate.users.length} late-but-allowed events`);
      await waitForRows(db!, t, gate, o.gateTimeoutMs ?? 120_000);
      o.progress?.(i, g + 1);
    }
  } finally {
    await producer.disconnect();
    await db?.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until the table has the gate hour's row of every gate user (polled every 100 ms), or E_NOT_RUNNING after timeoutMs. */
async function waitForRows(db: pg.Client, t: ActivityTarget, gate: Gate, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const q = `SELECT count(*)::int AS n FROM ${quote(t.schema)}.${quote(t.table)} WHERE hour = $1 AND user_id = ANY($2)`;
  for (;;) {
    const exists = await db.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [`${quote(t.schema)}.${quote(t.table)}`]);
    if (exists.rows[0].e === true && (await db.query(q, [new Date(gate.hour), gate.users])).rows[0].n === gate.users.length) return;
    if (Date.now() > deadline) {
      throw new SquallError({
        code: 'E_NOT_RUNNING',
        message:
          `hour ${new Date(gate.hour).toISOString()} has not fired after ${timeoutMs} ms (no row for ${gate.users.join(', ')} in ${t.schema}.${t.table}): ` +
          'is topologies/user-activity.ts running on this input? Its late-but-allowed events must come after the hour fired (produce --late-allowed 0 writes none)',
        details: { hour: gate.hour, users: gate.users, timeoutMs },
      });
    }
    await sleep(100);
  }
}

// --- reading -------------------------------------------------------------------

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/**
 * Every record of a topic a read_committed consumer sees: read until each
 * partition reached the end it had when the read began (its last stable
 * offset), or until nothing new came for `idleMs` (markers of transactions
 * take offsets that no record has).
 */
export async function readAll(t: ActivityTarget, topic: string, idleMs = 2000): Promise<ReadRecord[]> {
  const kafka = new kafkajs.Kafka({ brokers: t.brokers, clientId: 'squall-activity-check', logLevel: kafkajs.logLevel.NOTHING, ...kafkaSecurityFromEnv() });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(p.partition, Number(p.high));
  } finally {
    await admin.disconnect();
  }
  const out: ReadRecord[] = [];
  const pending = new Set([...ends].filter(([, high]) => high > 0).map(([p]) => p));
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `squall-activity-check-${nanoid(8)}`, maxWaitTimeInMs: 100, readUncommitted: false });
  let last = performance.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        last = performance.now();
        const offset = Number(message.offset);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
        out.push({ partition, offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
        if (offset >= ends.get(partition)! - 1) pending.delete(partition);
      },
    });
    while (pending.size > 0 && performance.now() - last < idleMs) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

// --- check ---------------------------------------------------------------------

export interface CheckOptions {
  /** The topology's activity.maxOutOfOrdernessMs (default 60000). */
  maxOutOfOrdernessMs?: number;
  /** Quiet time that ends a read of a topic (default 2000). */
  idleMs?: number;
}

export interface CheckReport {
  /** Empty when the table and the output topic hold the true counts, and the late and dead-letter topics what they should. */
  mismatches: string[];
  input: { records: number; events: number; duplicates: number; malformed: number; tooLate: number; counted: number; corrections: number };
  hours: { mustHaveFired: number; open: number; inTable: number; onOutput: number };
  output: { records: number; late: number; dlq: number; lateCorrections: number };
  /**
   * The rows of correction events (late but allowed, written after their
   * hour fired): how many, and how many were confirmed (an on-time version 1
   * without them, a newer late version with them, the table at that version).
   */
  corrections: { rows: number; confirmed: number };
}

const key = (user: string, start: number) => `${user} ${new Date(start).toISOString()}`;
const sameCounts = (a: HourlyCounts, b: HourlyCounts) => a.likes === b.likes && a.comments === b.comments && a.shares === b.shares && a.views === b.views && a.total === b.total;
const show = (c: HourlyCounts) => `likes ${c.likes}, comments ${c.comments}, shares ${c.shares}, views ${c.views}, total ${c.total}`;

/** The true hourly counts from the input topic, compared with the table and the output, late and dead-letter topics. */
export async function check(t: ActivityTarget, o: CheckOptions = {}): Promise<CheckReport> {
  const ooo = o.maxOutOfOrdernessMs ?? 60_000;
  const idleMs = o.idleMs ?? 2000;
  const mismatches: string[] = [];
  const input = await readAll(t, t.input, idleMs);
  input.sort((a, b) => a.partition - b.partition || a.offset - b.offset);

  // The truth, partition by partition in offset order.
  const truth = new Map<string, { user: string; start: number; counts: HourlyCounts }>();
  const expectLate = new Set<string>();
  const expectDlq = new Map<string, 'json' | 'event'>();
  const seen = new Set<string>();
  const maxTs = new Map<number, number>();
  const stats = { records: input.length, events: 0, duplicates: 0, malformed: 0, tooLate: 0, counted: 0, corrections: 0 };
  /** Per (user, hour): the correction events counted in it. */
  const correctionRows = new Map<string, number>();
  for (const r of input) {
    const source = `${t.input}/${r.partition}/${r.offset}`;
    let value: unknown;
    try {
      value = r.value === null ? null : JSON.parse(r.value);
    } catch {
      expectDlq.set(source, 'json');
      stats.malformed++;
      continue;
    }
    const bound = (maxTs.get(r.partition) ?? -Infinity) - ooo;
    const ts = eventTimeOf(value);
    if (ts > (maxTs.get(r.partition) ?? -Infinity)) maxTs.set(r.partition, ts);
    const p = parseEvent(value);
    if (!('event' in p)) {
      expectDlq.set(source, 'event');
      stats.malformed++;
      continue;
    }
    const e = p.event;
    if (seen.has(e.eventId)) {
      stats.duplicates++;
      continue;
    }
    seen.add(e.eventId);
    stats.events++;
    const start = hourOf(e.ts);
    const correction = CORRECTION_ID.test(e.eventId);
    if (correction) stats.corrections++;
    if (start + HOUR_MS - 1 + ALLOWED_LATENESS_MS <= bound) {
      if (correction) mismatches.push(`input: correction event ${e.eventId} (${source}) is too late by the rule; it should have been written inside the lateness`);
      expectLate.add(e.eventId);
      stats.tooLate++;
      continue;
    }
    stats.counted++;
    const k = key(e.userId, start);
    if (correction) correctionRows.set(k, (correctionRows.get(k) ?? 0) + 1);
    let row = truth.get(k);
    if (row === undefined) truth.set(k, (row = { user: e.userId, start, counts: { likes: 0, comments: 0, shares: 0, views: 0, total: 0 } }));
    const col = ({ like: 'likes', comment: 'comments', share: 'shares', view: 'views' } as const)[e.action];
    row.counts[col]++;
    row.counts.total++;
  }
  // Hours every partition's watermark has passed must have fired.
  const watermark = maxTs.size === 0 ? -Infinity : Math.min(...maxTs.values()) - ooo;
  const mustFire = (start: number) => start + HOUR_MS - 1 <= watermark;

  // The table.
  const c = new pg.Client({ connectionString: t.pgUrl });
  await c.connect();
  const table = new Map<string, { counts: HourlyCounts; version: number }>();
  try {
    const res = await c.query(`SELECT user_id, hour, likes, comments, shares, views, total, version FROM ${quote(t.schema)}.${quote(t.table)}`);
    for (const row of res.rows as Record<string, unknown>[]) {
      const n = (k: string) => Number(row[k]);
      table.set(key(String(row['user_id']), (row['hour'] as Date).getTime()), {
        counts: { likes: n('likes'), comments: n('comments'), shares: n('shares'), views: n('views'), total: n('total') },
        version: n('version'),
      });
    }
  } finally {
    await c.end();
  }

  // The output topic: the newest version per (user, hour), each version once.
  const outRecords = await readAll(t, t.output, idleMs);
  const versions = new Map<string, Map<number, HourlyRecord>>();
  let lateCorrections = 0;
  for (const r of outRecords) {
    let rec: HourlyRecord;
    try {
      rec = JSON.parse(r.value ?? '') as HourlyRecord;
    } catch {
      mismatches.push(`output ${t.output}/${r.partition}/${r.offset}: not a JSON row: ${String(r.value).slice(0, 80)}`);
      continue;
    }
    if (rec.kind === 'late') lateCorrections++;
    const k = key(rec.userId, rec.start);
    let vs = versions.get(k);
    if (vs === undefined) versions.set(k, (vs = new Map()));
    if (vs.has(rec.version)) mismatches.push(`output: ${k} version ${rec.version} is there twice (a result published more than once)`);
    vs.set(rec.version, rec);
  }
  const newest = new Map<string, HourlyRecord>();
  for (const [k, vs] of versions) {
    const top = Math.max(...vs.keys());
    for (let v = 1; v <= top; v++) if (!vs.has(v)) mismatches.push(`output: ${k} has version ${top} but not version ${v}`);
    newest.set(k, vs.get(top)!);
  }

  let mustHaveFired = 0;
  let open = 0;
  for (const [k, row] of truth) {
    const must = mustFire(row.start);
    if (must) mustHaveFired++;
    else open++;
    const inTable = table.get(k);
    if (inTable === undefined) {
      if (must) mismatches.push(`table: ${k} is missing; true counts ${show(row.counts)}`);
    } else if (!sameCounts(inTable.counts, row.counts)) mismatches.push(`table: ${k} has ${show(inTable.counts)}; true counts ${show(row.counts)}`);
    const out = newest.get(k);
    if (out === undefined) {
      if (must) mismatches.push(`output: ${k} is missing; true counts ${show(row.counts)}`);
    } else {
      if (!sameCounts(out, row.counts)) mismatches.push(`output: ${k} (newest version ${out.version}) has ${show(out)}; true counts ${show(row.counts)}`);
      if (inTable !== undefined && inTable.version !== out.version) mismatches.push(`table: ${k} is version ${inTable.version}, the output's newest is ${out.version}`);
      if (out.end !== out.start + HOUR_MS) mismatches.push(`output: ${k} ends at ${out.end}, not an hour after its start`);
    }
  }
  // Late corrections. A correction event was written once its hour's row was
  // in the table: the hour had fired on time in a completed checkpoint, so
  // every run since (a restored one too) had it fired when the event came,
  // and the event was inside the lateness (the rule above). So its row must
  // have an on-time version 1 without it, a later 'late' version with it
  // (the newest is compared with the true counts above), and the table at
  // that version. And there must be such rows: without them nothing here
  // shows that late corrections reach the table and the topic.
  let confirmed = 0;
  for (const [k, n] of correctionRows) {
    const row = truth.get(k)!;
    const vs = versions.get(k);
    const first = vs?.get(1);
    const out = newest.get(k);
    const inTable = table.get(k);
    const before = mismatches.length;
    if (first === undefined || first.kind !== 'on-time') mismatches.push(`correction: ${k} has no on-time version 1 on the output (${first === undefined ? 'none' : first.kind})`);
    else if (first.total > row.counts.total - n) mismatches.push(`correction: ${k}'s on-time version 1 has total ${first.total}, but ${n} of its ${row.counts.total} events came after it fired`);
    if (out === undefined || out.version < 2 || out.kind !== 'late') mismatches.push(`correction: ${k}'s newest version on the output is ${out === undefined ? 'missing' : `${out.version} (${out.kind})`}; the late events must have made a late version above 1`);
    if (inTable === undefined || inTable.version < 2) mismatches.push(`correction: ${k} is ${inTable === undefined ? 'missing' : `version ${inTable.version}`} in the table; the late events must have made a version above 1`);
    if (mismatches.length === before) confirmed++;
  }
  if (correctionRows.size === 0 && mustHaveFired > 0) {
    mismatches.push('correction: the input has no late-but-allowed event of a closed hour, so nothing shows late corrections reach the table and the topic (produce writes them unless --late-allowed 0)');
  }

  for (const k of table.keys()) if (!truth.has(k)) mismatches.push(`table: ${k} has no event that counts for it`);
  for (const k of newest.keys()) if (!truth.has(k)) mismatches.push(`output: ${k} has no event that counts for it`);

  // The late topic: every too-late event once, nothing else.
  const lateRecords = await readAll(t, t.late, idleMs);
  const lateSeen = new Map<string, number>();
  for (const r of lateRecords) {
    const id = String((JSON.parse(r.value ?? 'null') as { eventId?: unknown } | null)?.eventId);
    lateSeen.set(id, (lateSeen.get(id) ?? 0) + 1);
  }
  for (const id of expectLate) if (!lateSeen.has(id)) mismatches.push(`late: event ${id} is too late but not on ${t.late}`);
  for (const [id, n] of lateSeen) {
    if (!expectLate.has(id)) mismatches.push(`late: event ${id} is on ${t.late} but should have been counted`);
    else if (n > 1) mismatches.push(`late: event ${id} is on ${t.late} ${n} times`);
  }

  // The dead-letter topic: every malformed record; the topology's own (not an event) exactly once, the spout's (not JSON) at least once.
  const dlqRecords = await readAll(t, t.dlq, idleMs);
  const dlqSeen = new Map<string, number>();
  for (const r of dlqRecords) {
    const src = r.headers['squall.source'] ?? '';
    dlqSeen.set(src, (dlqSeen.get(src) ?? 0) + 1);
    if (r.headers['squall.error'] === undefined || r.headers['squall.error'] === '') mismatches.push(`dlq: the record from ${src} gives no reason`);
  }
  for (const [src, why] of expectDlq) {
    const n = dlqSeen.get(src) ?? 0;
    if (n === 0) mismatches.push(`dlq: ${src} is malformed (${why === 'json' ? 'not JSON' : 'not an event'}) but not on ${t.dlq}`);
    else if (why === 'event' && n > 1) mismatches.push(`dlq: ${src} is on ${t.dlq} ${n} times`);
  }
  for (const src of dlqSeen.keys()) if (!expectDlq.has(src)) mismatches.push(`dlq: ${src} is on ${t.dlq} but is a good event`);

  return {
    mismatches,
    input: stats,
    hours: { mustHaveFired, open, inTable: table.size, onOutput: newest.size },
    output: { records: outRecords.length, late: lateRecords.length, dlq: dlqRecords.length, lateCorrections },
    corrections: { rows: correctionRows.size, confirmed },
  };
}

// --- the command line ----------------------------------------------------------

const USAGE = `usage: npm run activity:demo -- <command>
  setup [--partitions P]      create the input and output topics (P partitions, default 4), the late and
                              dead-letter topics, and the table
  produce N [--users U] [--duplicates f] [--late f] [--late-allowed k] [--disorder-ms d] [--hours h] [--seed s]
                              write N events (default users 1000, duplicates 0.02, late 0.005,
                              disorder 120000 ms, over the last 4 hours), and k late-but-allowed
                              events per closed hour (default 5), each once its hour fired: the
                              topology must be running
  check                       compare the table and the output topic with the true counts from the input;
                              exit code 1 on any mismatch`;

function options(args: string[]): { positional: string[]; flags: Map<string, number> } {
  const positional: string[] = [];
  const flags = new Map<string, number>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const v = Number(args[++i]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a number, not '${args[i] ?? ''}'`);
    flags.set(a.slice(2), v);
  }
  return { positional, flags };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { positional, flags } = options(rest);
  const allowed: Record<string, string[]> = { setup: ['partitions'], produce: ['users', 'duplicates', 'late', 'late-allowed', 'disorder-ms', 'hours', 'seed'], check: ['max-out-of-orderness-ms'] };
  if (command === undefined || allowed[command] === undefined) {
    console.error(USAGE);
    return 2;
  }
  for (const f of flags.keys()) {
    if (!allowed[command]!.includes(f)) throw new Error(`${command} takes no --${f}`);
  }
  const t = targetFromEnv();
  if (command === 'setup') {
    await setup(t, flags.get('partitions') ?? 4);
    return 0;
  }
  if (command === 'produce') {
    const n = Number(positional[0] ?? 20_000);
    if (!Number.isInteger(n) || n < 1) throw new Error(`N is '${positional[0]}'; it must be a whole number of events`);
    const lateAllowed = flags.get('late-allowed') ?? 5;
    if (!Number.isInteger(lateAllowed)) throw new Error(`--late-allowed needs a whole number of events per hour, not ${lateAllowed}`);
    const s = generate({
      events: n,
      ...(flags.has('users') ? { users: flags.get('users')! } : {}),
      ...(flags.has('duplicates') ? { duplicates: flags.get('duplicates')! } : {}),
      ...(flags.has('late') ? { late: flags.get('late')! } : {}),
      ...(flags.has('disorder-ms') ? { disorderMs: flags.get('disorder-ms')! } : {}),
      ...(flags.has('hours') ? { hours: flags.get('hours')! } : {}),
      corrections: lateAllowed,
      seed: flags.get('seed') ?? Date.now() % 1_000_000,
    });
    await writeStream(t, s, { log: (line) => console.log(line) });
    const c = s.counts;
    console.log(
      `wrote ${s.records.length} records to ${t.input}: ${c.events} events from ${new Date(s.startMs).toISOString()} to ${new Date(s.endMs).toISOString()}, ` +
        `${c.duplicates} sent twice, ${c.veryLate} very late, ${c.corrections} late but allowed (after their hour fired), ${c.malformed} malformed`,
    );
    if ((flags.get('disorder-ms') ?? 0) >= ALLOWED_LATENESS_MS) console.log(`note: a disorder of ${flags.get('disorder-ms')} ms or more can make events too late`);
    return 0;
  }
  const r = await check(t, flags.has('max-out-of-orderness-ms') ? { maxOutOfOrdernessMs: flags.get('max-out-of-orderness-ms')! } : {});
  const i = r.input;
  console.log(`input ${t.input}: ${i.records} records: ${i.events} events (${i.counted} to count, ${i.tooLate} too late), ${i.duplicates} duplicates, ${i.malformed} malformed`);
  console.log(`hours (user x hour): ${r.hours.mustHaveFired} closed by the watermark, ${r.hours.open} still open; ${r.hours.inTable} rows in ${t.schema}.${t.table}, ${r.hours.onOutput} on ${t.output}`);
  console.log(`${t.output}: ${r.output.records} rows (${r.output.lateCorrections} late corrections); ${t.late}: ${r.output.late} events; ${t.dlq}: ${r.output.dlq} records`);
  console.log(`late but allowed: ${i.corrections} events in ${r.corrections.rows} rows, ${r.corrections.confirmed} confirmed as corrections (on time without them, then a late version with them)`);
  for (const m of r.mismatches.slice(0, 50)) console.log(`MISMATCH ${m}`);
  if (r.mismatches.length > 50) console.log(`... and ${r.mismatches.length - 50} more mismatches`);
  console.log(r.mismatches.length === 0 ? 'OK: the table and the output topic hold the true counts' : `${r.mismatches.length} mismatches`);
  return r.mismatches.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    console.error(`activity:demo: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  }
}
