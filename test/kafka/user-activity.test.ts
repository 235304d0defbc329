/**
 * The seed case end to end (topologies/user-activity.ts) as real `squall
 * run` processes against the real broker and PostgreSQL: an event stream
 * from scripts/activity-demo.ts (Zipf users, out of order, duplicated,
 * some very late, a few malformed) arrives while the process is killed
 * with SIGKILL twice and started again on the same state directory. Then
 * `check` finds the table and the newest version per (user, hour) on the
 * output topic (read_committed) equal to the true counts from the input:
 * no row missing, none double-counted, each version published once; every
 * too-late event once on the late topic; every malformed record on the
 * dead-letter topic; every late-but-allowed event (written once its hour
 * had fired) a correction: its row on time without it, then a late version
 * with it. The kills come after the first and the second hour fired.
 * Topics, schema, consumer group and transactional ids are this test's own.
 */
// squall's Kafka client first: it fixes kafkajs's read_committed filter as kafkajs loads (docs/exactly-once.md).
import '../../src/kafka/index.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { check, CORRECTION_ID, generate, writeStream } from '../../scripts/activity-demo.ts';
import type { ActivityTarget, CheckReport } from '../../scripts/activity-demo.ts';
import { HOUR_MS } from '../../topologies/user-activity.ts';
import { spawnCli } from '../cli/cli.ts';
import type { Spawned } from '../cli/cli.ts';
import { until } from '../helpers.ts';
import { useKafka } from '../support/kafka.ts';

const PG_URL = process.env['SQUALL_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const uid = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('user activity per hour, killed with SIGKILL twice mid-stream', () => {
  const kafka = useKafka();

  it('ends with the true hourly counts in PostgreSQL and on the output topic, late events on the late topic, malformed ones on the DLQ', async () => {
    const t: ActivityTarget = {
      brokers: kafka.brokers,
      input: await kafka.createTopic('ua-in', 4),
      output: await kafka.createTopic('ua-out', 4),
      late: await kafka.createTopic('ua-late', 1),
      dlq: await kafka.createTopic('ua-dlq', 1),
      pgUrl: PG_URL,
      schema: `squall_ua_${uid()}`,
      table: 'user_activity_hourly',
    };
    const dir = mkdtempSync(join(tmpdir(), 'squall-ua-'));
    const set: Record<string, string | number> = {
      'kafka.brokers': kafka.brokers.join(','),
      input: t.input,
      output: t.output,
      late: t.late,
      dlq: t.dlq,
      'kafka.groupId': `squall-test-ua-${uid()}`,
      'kafka.sessionTimeoutMs': 6000,
      'transactional.idPrefix': `squall-test-ua-${uid()}`,
      'pg.url': t.pgUrl,
      'pg.schema': t.schema,
      'pg.table': t.table,
      checkpointIntervalMs: 500,
    };
    const args = ['run', 'topologies/user-activity.ts', '--state-dir', dir];
    for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
    const env = { KAFKAJS_NO_PARTITIONER_WARNING: '1', SQUALL_KAFKA_SSL: '', SQUALL_KAFKA_SASL_MECHANISM: '', SQUALL_KAFKA_CLIENT_ID: '' };

    // Four hours of events ending on the hour and a half, so that the three full hours before it must close; four
    // late-but-allowed events per closed hour, each written once its hour has fired (a gate per hour, four in all).
    const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - HOUR_MS / 2;
    const stream = generate({ events: 24_000, users: 400, duplicates: 0.03, late: 0.01, corrections: 4, disorderMs: 120_000, hours: 4, endMs, seed: 11 });
    const records = stream.records;
    expect(stream.gates.length).toBe(4);

    // The input arrives over several seconds while the processes come and go; at each gate the writer waits for the hour to fire.
    let written = 0;
    let gates = 0;
    let writeError: unknown = null;
    const writing = writeStream(t, stream, {
      batch: 500,
      pauseMs: 150,
      progress: (w, g) => {
        written = w;
        gates = g;
      },
    }).catch((err: unknown) => {
      writeError = err;
    });

    let p: Spawned | null = null;
    try {
      // Killed once the first hour has fired (a checkpoint with windows in it is complete) and again after the
      // second, a little after each gate: the stream is under way, its correction events just written.
      for (const gate of [1, 2]) {
        p = spawnCli(args, env);
        await p.stderrContains('running topology');
        await until(() => gates >= gate || writeError !== null, `hour ${gate} to fire`, 120_000);
        expect(writeError).toBeNull();
        await sleep(300);
        p.child.kill('SIGKILL');
        expect((await p.done).signal).toBe('SIGKILL');
        p = null;
        // Mid-stream: input still to come.
        expect(written).toBeLessThan(records.length);
      }
      p = spawnCli(args, env);
      await p.stderrContains('running topology');
      await writing;
      expect(writeError).toBeNull();
      expect([written, gates]).toEqual([records.length, 4]);

      // Until the table and the output topic hold the true counts (or the deadline).
      let report: CheckReport | null = null;
      const deadline = Date.now() + 120_000;
      for (;;) {
        report = await check(t, { idleMs: 1000 });
        if (report.mismatches.length === 0 || Date.now() > deadline) break;
        await sleep(1000);
      }
      expect(report.mismatches.slice(0, 20)).toEqual([]);
      p.child.kill('SIGTERM');
      const end = await p.done;
      p = null;
      expect(end.code, end.stderr).toBe(0);
      expect(end.stdout + end.stderr).toMatch(/restored from checkpoint \d+/);

      // After the graceful stop, once more: nothing undone, nothing added.
      report = await check(t, { idleMs: 1000 });
      expect(report.mismatches.slice(0, 20)).toEqual([]);
      const c = stream.counts;
      expect(report.input.events).toBe(c.events);
      expect(report.input.duplicates).toBe(c.duplicates);
      expect(report.input.malformed).toBe(c.malformed);
      expect(report.input.tooLate).toBe(c.veryLate);
      expect(report.output.late).toBe(c.veryLate);
      // Every late-but-allowed event corrected its row: version 1 on time without it, a late version with it.
      expect(report.input.corrections).toBe(c.corrections);
      expect(c.corrections).toBe(16);
      expect(report.corrections.rows).toBeGreaterThan(0);
      expect(report.corrections.confirmed).toBe(report.corrections.rows);
      expect(report.output.lateCorrections).toBeGreaterThanOrEqual(report.corrections.rows);
      expect(report.output.dlq).toBeGreaterThanOrEqual(c.malformed);
      // Three full hours (and the rest of the first) closed for every user active in them.
      expect(report.hours.mustHaveFired).toBeGreaterThan(0);
      expect(report.hours.inTable).toBeGreaterThanOrEqual(report.hours.mustHaveFired);

      // The table's totals: every counted event of a closed hour once.
      const db = new pg.Client({ connectionString: t.pgUrl });
      await db.connect();
      try {
        const { rows } = await db.query(`SELECT coalesce(sum(total), 0)::bigint AS total, count(*)::int AS rows FROM "${t.schema}"."${t.table}"`);
        expect(Number(rows[0].rows)).toBe(report.hours.inTable);
        expect(Number(rows[0].total)).toBeLessThanOrEqual(report.input.counted);
      } finally {
        await db.query(`DROP SCHEMA IF EXISTS "${t.schema}" CASCADE`);
        await db.end();
      }
    } finally {
      if (p !== null) p.child.kill('SIGKILL');
      await writing;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('the activity stream generator', () => {
  it('places each hour\'s late-but-allowed events behind a gate, with the stream 4 to 5 minutes past the hour: inside the lateness by the per-partition rule, past the end on the data alone', () => {
    const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - HOUR_MS / 2;
    const s = generate({ events: 24_000, users: 400, duplicates: 0.03, late: 0.01, corrections: 4, hours: 4, endMs, seed: 11 });
    const values = s.records.map((r) => {
      try {
        return JSON.parse(String(r.value)) as { eventId?: string; userId?: string; ts?: number };
      } catch {
        return {}; // a malformed record
      }
    });
    expect(s.gates.map((g) => g.hour)).toEqual([1, 2, 3, 4].map((h) => endMs - 4 * HOUR_MS - HOUR_MS / 2 + (h - 1) * HOUR_MS));
    let corrections = 0;
    for (const g of s.gates) {
      const end = g.hour + HOUR_MS;
      // Everything written before the gate is at most 5 minutes past the end (so no watermark, a minute behind, is past
      // end + 4 min < end - 1 + 5 min), and the stream has gone 4 minutes past it.
      const most = Math.max(...values.slice(0, g.at).map((v) => (typeof v.ts === 'number' ? v.ts : -Infinity)));
      expect(most).toBeLessThan(end + 5 * 60_000);
      expect(most).toBeGreaterThanOrEqual(end + 3 * 60_000);
      // The gate's events: one per user, each of a user with an event in the hour's first half, in the hour's last ten minutes.
      const mine = values.slice(g.at, g.at + g.users.length);
      expect(mine.map((v) => v.userId)).toEqual(g.users);
      for (const v of mine) {
        expect(v.eventId).toMatch(CORRECTION_ID);
        expect(v.ts).toBeGreaterThanOrEqual(end - 10 * 60_000);
        expect(v.ts).toBeLessThan(end);
        expect(values.slice(0, g.at).some((e) => e.userId === v.userId && !CORRECTION_ID.test(e.eventId ?? '') && e.ts! >= g.hour && e.ts! < g.hour + HOUR_MS / 2)).toBe(true);
      }
      corrections += mine.length;
    }
    expect([corrections, s.counts.corrections]).toEqual([16, 16]);
    expect(values.filter((v) => CORRECTION_ID.test(v.eventId ?? '')).length).toBe(16);
    // Without them, the stream is the one it always was for the seed (the benchmark's).
    const plain = generate({ events: 24_000, users: 400, duplicates: 0.03, late: 0.01, hours: 4, endMs, seed: 11, tag: 'x' });
    const again = generate({ events: 24_000, users: 400, duplicates: 0.03, late: 0.01, corrections: 0, hours: 4, endMs, seed: 11, tag: 'x' });
    expect(plain.gates).toEqual([]);
    expect(again.records).toEqual(plain.records);
  });
});
