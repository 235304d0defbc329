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
 * dead-letter topic. Topics, schema, consumer group and transactional ids
 * are this test's own.
 */
import { createKafkaClient } from '../../src/kafka/index.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { check, generate } from '../../scripts/activity-demo.ts';
import type { ActivityTarget, CheckReport } from '../../scripts/activity-demo.ts';
import { HOUR_MS } from '../../topologies/user-activity.ts';
import { spawnCli } from '../cli/cli.ts';
import type { Spawned } from '../cli/cli.ts';
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

    // Four hours of events ending on the hour and a half, so that the three full hours before it must close.
    const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - HOUR_MS / 2;
    const stream = generate({ events: 24_000, users: 400, duplicates: 0.03, late: 0.01, disorderMs: 120_000, hours: 4, endMs, seed: 11 });
    const records = stream.records;

    // The input arrives over several seconds while the processes come and go.
    const producer = createKafkaClient(kafka.clientOptions()).producer();
    await producer.connect();
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < records.length; i += 500) {
        await producer.send([{ topic: t.input, records: records.slice(i, i + 500) }]);
        written = Math.min(records.length, i + 500);
        await sleep(150);
      }
    })();

    let p: Spawned | null = null;
    try {
      for (const runMs of [2_500, 2_000]) {
        p = spawnCli(args, env);
        await p.stderrContains('running topology');
        await sleep(runMs);
        p.child.kill('SIGKILL');
        expect((await p.done).signal).toBe('SIGKILL');
        p = null;
        // Mid-stream: input still to come.
        expect(written).toBeLessThan(records.length);
      }
      p = spawnCli(args, env);
      await p.stderrContains('running topology');
      await writing;

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
      await writing.catch(() => undefined);
      await producer.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
