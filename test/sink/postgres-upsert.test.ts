/**
 * PostgresUpsertSink against the real server (127.0.0.1:5432, database
 * `test`), each test in a schema of its own, dropped at the end: rows
 * visible only once their checkpoint completes, all in one transaction,
 * carrying the checkpoint id; a replay of a commit rewrites the same rows
 * and never undoes a newer checkpoint's.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresUpsertSink } from '../../src/sink/index.ts';
import type { PostgresUpsertSinkOptions, TwoPhaseCommitState, UpsertTransaction } from '../../src/sink/index.ts';
import type { RestoredState } from '../../src/state/index.ts';
import { prepareBolt, testTuple } from '../../src/testing/index.ts';

const PG_URL = process.env['SQUALL_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

function schema(): string {
  const s = `squall_sink_${randomBytes(4).toString('hex')}`;
  schemas.push(s);
  return s;
}

afterAll(async () => {
  for (const s of schemas) await sql(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
});

const options = (s: string): PostgresUpsertSinkOptions => ({
  connection: PG_URL,
  schema: s,
  table: 'counts',
  key: ['word'],
  columns: ['count'],
  createTable: { word: 'text', count: 'bigint' },
});

async function sink(o: PostgresUpsertSinkOptions, restore?: RestoredState): Promise<PostgresUpsertSink> {
  const s = new PostgresUpsertSink(o);
  if (restore !== undefined) s.restoreState(restore);
  await prepareBolt(s, { componentId: 'counts', config: { ackers: 0, checkpointIntervalMs: 1000 } });
  return s;
}

const count = (word: string, n: number) => testTuple([word, n], { fields: ['word', 'count'] });
const rows = (s: string) => sql<{ word: string; count: string; checkpoint_id: string }>(`SELECT word, count, checkpoint_id FROM "${s}".counts ORDER BY word`);
const restoredFrom = (checkpointId: number, st: TwoPhaseCommitState<UpsertTransaction>): RestoredState => ({ checkpointId, own: st, all: [{ taskIndex: 0, value: st }], previousParallelism: 1 });

describe('PostgresUpsertSink against PostgreSQL', () => {
  it('upserts a checkpoint\'s rows, newest per key, in one transaction once it completes, each carrying the checkpoint id', async () => {
    const s = schema();
    const a = await sink(options(s));
    a.execute(count('apple', 1));
    a.execute(count('pear', 1));
    a.execute(count('apple', 2)); // the newest row per key wins
    await a.snapshotState(1);
    expect(await rows(s)).toEqual([]); // pre-committed: nothing visible yet
    a.execute(count('pear', 2));
    await a.notifyCheckpointComplete(1);
    expect(await rows(s)).toEqual([
      { word: 'apple', count: '2', checkpoint_id: '1' },
      { word: 'pear', count: '1', checkpoint_id: '1' },
    ]);
    await a.snapshotState(2);
    await a.notifyCheckpointComplete(2);
    expect(await rows(s)).toEqual([
      { word: 'apple', count: '2', checkpoint_id: '1' },
      { word: 'pear', count: '2', checkpoint_id: '2' },
    ]);
    await a.cleanup();
  });

  it('a crash between the checkpoint and the commit: the restore commits the checkpoint\'s rows, and a second replay rewrites the same rows', async () => {
    const s = schema();
    const a = await sink(options(s));
    for (let i = 0; i < 500; i++) a.execute(count(`w${i % 50}`, i));
    const s1 = (await a.snapshotState(1)) as TwoPhaseCommitState<UpsertTransaction>;
    a.execute(count('w0', 1000)); // after the barrier: replayed by the spout after the restore
    // Crash: checkpoint 1 is durable, its commit never ran.
    const b = await sink(options(s), restoredFrom(1, s1));
    const once = await rows(s);
    expect(once.length).toBe(50);
    expect(once.find((r) => r.word === 'w0')).toEqual({ word: 'w0', count: '450', checkpoint_id: '1' });
    await b.cleanup();
    // Another crash before checkpoint 2: the same restore again.
    const c = await sink(options(s), restoredFrom(1, s1));
    expect(await rows(s)).toEqual(once);
    // Checkpoint 2 moves w0 on; replaying checkpoint 1's commit once more leaves it at 2's value.
    c.execute(count('w0', 1000));
    await c.snapshotState(2);
    await c.notifyCheckpointComplete(2);
    await c.cleanup();
    const d = await sink(options(s), restoredFrom(1, s1));
    expect((await rows(s)).find((r) => r.word === 'w0')).toEqual({ word: 'w0', count: '1000', checkpoint_id: '2' });
    await d.cleanup();
  });

  it('a failed commit (the table is gone) leaves the rows pending: reported, and committed by the next completed checkpoint', async () => {
    const s = schema();
    const a = await sink(options(s));
    a.execute(count('kiwi', 3));
    await a.snapshotState(1);
    await sql(`ALTER TABLE "${s}".counts RENAME TO counts_away`);
    await expect(a.notifyCheckpointComplete(1)).rejects.toMatchObject({ code: 'E_STATE_UNAVAILABLE', details: { retriable: false } });
    expect(a.pendingCheckpoints()).toEqual([1]);
    await sql(`ALTER TABLE "${s}".counts_away RENAME TO counts`);
    a.execute(count('fig', 1));
    await a.snapshotState(2);
    await a.notifyCheckpointComplete(2);
    expect((await rows(s)).map((r) => [r.word, r.count, r.checkpoint_id])).toEqual([
      ['fig', '1', '2'],
      ['kiwi', '3', '1'],
    ]);
    await a.cleanup();
  });

  it('rejects bad options with E_BAD_CONFIG naming the option, and an input without a column with E_BAD_ARGUMENT', async () => {
    const s = schema();
    await expect(sink({ ...options(s), table: 'no-such;table' })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', details: { key: 'table' } });
    await expect(sink({ ...options(s), key: [] })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', details: { key: 'key' } });
    await expect(sink({ ...options(s), columns: ['count', 'checkpoint_id'] })).rejects.toMatchObject({ code: 'E_BAD_CONFIG', details: { key: 'columns' } });
    const a = new PostgresUpsertSink(options(s));
    const { collector } = await prepareBolt(a, { componentId: 'counts', config: { ackers: 0, checkpointIntervalMs: 1000 } });
    const bad = testTuple(['x'], { fields: ['word'] });
    a.execute(bad);
    // The input is failed and reported; without ackers it is lost, so checkpoints are declined until a rollback.
    await expect(a.snapshotState(1)).rejects.toMatchObject({ code: 'E_BAD_STATE' });
    expect(collector.failed).toEqual([bad]);
    expect(collector.errors).toEqual([expect.objectContaining({ code: 'E_BAD_ARGUMENT', details: { column: 'count' } })]);
    await a.cleanup();
  });
});
