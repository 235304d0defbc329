/**
 * The seed case's figures (topologies/user-activity.ts; not part of `npm
 * run bench` or the tests), against the dev broker and PostgreSQL at
 * 127.0.0.1:5432/test (SQUALL_BENCH_PG), with a checkpoint every second:
 *
 *   node --import tsx bench/user-activity.ts [--events 200000] [--users 10000] [--live-seconds 20] [--rate 5000]
 *
 * 1. Throughput: `events` events (2% sent twice, up to 30 s out of order,
 *    four hours and ten minutes of event time) are written to the input
 *    topic first; then the topology starts (local mode, in this process)
 *    and works through them. Events per second = input records / (time
 *    from submit until PostgreSQL holds every closed hour's count: the sum
 *    of `total` equals the events of those hours). The rows on the output
 *    topic commit with the same checkpoints.
 * 2. Latency: events arrive live at `rate` per second, event time running
 *    at 30 minutes per second, so hours close all the time. For each
 *    on-time row (version 1): from when it leaves the window bolt (a
 *    pass-through bolt right after it stamps the time: that is when the
 *    task's watermark passed the hour's end) to when its upsert commits in
 *    PostgreSQL (a trigger on the table sends NOTIFY, delivered at commit;
 *    a listener in this process stamps the time). Same clock, same
 *    process. Reported: p50, p99, max over the rows.
 *
 * Topics, schema and state directory are the run's own and removed at the end.
 */
import { createKafkaClient } from '../src/kafka/index.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { BasicBolt, submit, WINDOW_RESULT_FIELDS } from '../src/index.ts';
import type { BasicOutputCollector, OutputDeclarer, Tuple } from '../src/index.ts';
import type { ProducerRecord } from '../src/kafka/index.ts';
import { generate, tableDdl } from '../scripts/activity-demo.ts';
import { build, HOUR_MS, hourOf } from '../topologies/user-activity.ts';
import { zipfKeys } from '../topologies/windowed-count.ts';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    users: { type: 'string', default: '10000' },
    'live-seconds': { type: 'string', default: '20' },
    rate: { type: 'string', default: '5000' },
  },
});
const N = Number(opts.events);
const USERS = Number(opts.users);
const LIVE_S = Number(opts['live-seconds']);
const RATE = Number(opts.rate);
const PG_URL = process.env['SQUALL_BENCH_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const BROKERS = (process.env['SQUALL_KAFKA_BROKERS'] || '127.0.0.1:9092').split(',');
const id = randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When each on-time row left the window bolt (Date.now()), by `user|start`. */
const firedAt = new Map<string, number>();

class Tap extends BasicBolt {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(WINDOW_RESULT_FIELDS);
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    if (input.getNumber('version') === 1) firedAt.set(`${input.getValue(0) as string}|${input.getNumber('start')}`, Date.now());
    out.emit([...input.values]);
  }
}

async function sql(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function phase(name: string, live: boolean): Promise<void> {
  const tag = `ua-bench-${id}-${name}`;
  const topics = { input: `${tag}-in`, output: `${tag}-out`, late: `${tag}-late`, dlq: `${tag}-dlq` };
  const schema = `squall_bench_ua_${id}_${name}`;
  const channel = `ua_bench_${id}_${name}`;
  const client = createKafkaClient({ brokers: BROKERS, clientId: 'squall-bench-ua', logLevel: 'nothing' });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics([
    { topic: topics.input, numPartitions: 4, replicationFactor: 1 },
    { topic: topics.output, numPartitions: 4, replicationFactor: 1 },
    { topic: topics.late, numPartitions: 1, replicationFactor: 1 },
    { topic: topics.dlq, numPartitions: 1, replicationFactor: 1 },
  ]);
  for (const q of tableDdl(schema, 'user_activity_hourly')) await sql(q);
  await sql(`CREATE FUNCTION "${schema}".notify_row() RETURNS trigger AS $$ BEGIN PERFORM pg_notify('${channel}', NEW.user_id || '|' || (extract(epoch from NEW.hour) * 1000)::bigint || '|' || NEW.version); RETURN NEW; END $$ LANGUAGE plpgsql`);
  await sql(`CREATE TRIGGER notify_row AFTER INSERT OR UPDATE ON "${schema}".user_activity_hourly FOR EACH ROW EXECUTE FUNCTION "${schema}".notify_row()`);
  const committedAt = new Map<string, number>();
  const listener = new pg.Client({ connectionString: PG_URL });
  await listener.connect();
  listener.on('notification', (m) => {
    const [user, start, version] = (m.payload ?? '').split('|');
    if (version === '1') committedAt.set(`${user}|${start}`, Date.now());
  });
  await listener.query(`LISTEN ${channel}`);

  const producer = client.producer();
  await producer.connect();
  const dir = mkdtempSync(join(tmpdir(), 'squall-bench-ua-'));
  const config = {
    'kafka.brokers': BROKERS.join(','),
    ...topics,
    'kafka.groupId': tag,
    'transactional.idPrefix': tag,
    'pg.url': PG_URL,
    'pg.schema': schema,
    'pg.table': 'user_activity_hourly',
    checkpointIntervalMs: 1000,
  };
  firedAt.clear();
  try {
    if (!live) {
      // Four hours and ten minutes, ending ten minutes into an hour: every hour but the last closes.
      const endMs = hourOf(Date.now()) - 50 * 60_000;
      const s = generate({ events: N, users: USERS, duplicates: 0.02, late: 0, malformed: 0, disorderMs: 30_000, hours: 4 + 1 / 6, endMs, seed: 5 });
      const lastHour = hourOf(endMs);
      const expected = new Set<string>();
      for (const r of s.records) {
        const e = JSON.parse(String(r.value)) as { eventId: string; ts: number };
        if (e.ts < lastHour) expected.add(e.eventId);
      }
      for (let i = 0; i < s.records.length; i += 2000) await producer.send([{ topic: topics.input, records: s.records.slice(i, i + 2000) }]);
      const t0 = performance.now();
      const run = await submit(build(config, { tap: () => new Tap() }), { state: { dir } });
      let total = 0;
      while (total < expected.size && performance.now() - t0 < 600_000) {
        await sleep(100);
        total = Number((await sql(`SELECT coalesce(sum(total), 0) AS t FROM "${schema}".user_activity_hourly`)).rows[0].t);
      }
      const seconds = (performance.now() - t0) / 1000;
      await run.kill({ waitMs: 0 });
      if (total !== expected.size) throw new Error(`PostgreSQL holds ${total} events of the closed hours, not ${expected.size}`);
      console.log(
        JSON.stringify({ bench: 'user-activity throughput', records: s.records.length, events: N, users: USERS, seconds: +seconds.toFixed(2), eventsPerSecond: Math.round(s.records.length / seconds), checkpointIntervalMs: 1000 }),
      );
      return;
    }
    const run = await submit(build(config, { tap: () => new Tap() }), { state: { dir } });
    await sleep(2000); // joined, first checkpoint
    const who = zipfKeys(USERS, 1 << 16, 9);
    const start = hourOf(Date.now()) - 24 * HOUR_MS;
    const t0 = performance.now();
    let i = 0;
    while (performance.now() - t0 < LIVE_S * 1000) {
      const elapsed = performance.now() - t0;
      const due = Math.floor((elapsed / 1000) * RATE);
      const records: ProducerRecord[] = [];
      for (; i < due; i++) {
        const ts = start + Math.floor(elapsed * 1800) - ((i * 7919) % 30_000);
        const eventId = `${tag}-${i}`;
        records.push({ key: eventId, value: JSON.stringify({ eventId, userId: `user-${who[i & 0xffff]}`, action: i % 3 === 0 ? 'like' : 'view', ts }) });
      }
      if (records.length > 0) await producer.send([{ topic: topics.input, records }]);
      await sleep(50);
    }
    await sleep(3000); // the last firings' checkpoint
    await run.kill({ waitMs: 0 });
    const lat: number[] = [];
    for (const [k, fired] of firedAt) {
      const c = committedAt.get(k);
      if (c !== undefined) lat.push(c - fired);
    }
    lat.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'user-activity window end -> PostgreSQL',
        events: i,
        ratePerSecond: RATE,
        rowsFired: firedAt.size,
        rowsMeasured: lat.length,
        p50Ms: lat.length ? pct(lat, 0.5) : null,
        p99Ms: lat.length ? pct(lat, 0.99) : null,
        maxMs: lat.length ? lat[lat.length - 1] : null,
        checkpointIntervalMs: 1000,
      }),
    );
  } finally {
    await producer.disconnect();
    await listener.end();
    await admin.deleteTopics(Object.values(topics)).catch(() => undefined);
    await admin.disconnect();
    await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    rmSync(dir, { recursive: true, force: true });
  }
}

await phase('tp', false);
await phase('lat', true);
process.exit(0);
