/**
 * The PostgreSQL store against the real server (127.0.0.1:5432, database
 * `test`): the conformance suite in a schema of this run's own, dropped at
 * the end, and what only it has: pruning of superseded versions.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/state/index.ts';
import { enc, readAll, stateStoreConformance, writeCheckpoint } from './conformance.ts';

export const PG_URL = process.env['SQUALL_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `squall_test_${randomBytes(4).toString('hex')}`;
let n = 0;

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

stateStoreConformance({
  name: 'postgres',
  location: () => `t${n++}`,
  create: (topology, o = {}) =>
    new PostgresStore({
      topology,
      schema,
      connection: PG_URL,
      ...(o.faults === undefined ? {} : { faults: o.faults }),
      ...(o.retain === undefined ? {} : { retain: o.retain }),
      compactEvery: o.background === false ? 0 : 3,
    }),
  sharedLocation: true,
  cleanup: async () => undefined,
});

afterAll(async () => {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

describe('postgres store', () => {
  it('prunes versions no kept checkpoint needs, deletes included', async () => {
    const topology = `prune${n++}`;
    const s = new PostgresStore({ topology, schema, connection: PG_URL, compactEvery: 0 });
    await s.open();
    for (let id = 1; id <= 6; id++) {
      const w = s.begin(id);
      w.putKeyed('c', 0, 'hot', enc(`v${id}`));
      if (id === 1) w.putKeyed('c', 0, 'cold', enc('v1'));
      if (id === 2) w.putKeyed('c', 0, 'doomed', enc('v2'));
      if (id === 3) w.deleteKeyed('c', 0, 'doomed');
      w.putOperator('o', 0, enc(`op${id}`));
      await w.commit({});
    }
    const rows = async (): Promise<number> =>
      Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".keyed_state WHERE topology = $1`, [topology]))[0]!.n);
    expect(await rows()).toBe(6 + 1 + 2);
    await s.compact();
    // kept: 5 and 6. hot: versions 5 and 6; cold: 1; doomed: gone.
    expect(await rows()).toBe(3);
    const ops = await sql(`SELECT checkpoint_id FROM "${schema}".operator_state WHERE topology = $1 ORDER BY 1`, [topology]);
    expect(ops.map((r) => Number(r['checkpoint_id']))).toEqual([5, 6]);
    expect(Object.fromEntries(await readAll(s, 5, 'c'))).toEqual({ hot: '0|v5', cold: '0|v1' });
    expect(Object.fromEntries(await readAll(s, 6, 'c'))).toEqual({ hot: '0|v6', cold: '0|v1' });
    await s.close();
  });

  it('an unreachable server is E_STATE_UNAVAILABLE', async () => {
    const s = new PostgresStore({ topology: 'x', schema, connection: { host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2000 } });
    await expect(s.open()).rejects.toMatchObject({ code: 'E_STATE_UNAVAILABLE' });
  });

  it('commits a checkpoint with many rows in one transaction', async () => {
    const topology = `big${n++}`;
    const s = new PostgresStore({ topology, schema, connection: PG_URL, batchRows: 1000 });
    await s.open();
    const w = s.begin(1);
    for (let i = 0; i < 12_345; i++) w.putKeyed('c', i % 128, `k${i}`, enc(String(i)));
    await w.commit({});
    await writeCheckpoint(s, 2, { puts: [], deletes: [['c', 5, 'k5']], operator: [], metadata: {} });
    expect((await readAll(s, 1, 'c')).size).toBe(12_345);
    expect((await readAll(s, 2, 'c')).size).toBe(12_344);
    await s.close();
  });
});
