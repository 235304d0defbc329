/**
 * The same exactly-once scenario on each store a running topology can
 * checkpoint to, against the real servers: the embedded files, PostgreSQL
 * (127.0.0.1:5432, database `test`, a schema of this run's own) and Redis
 * (127.0.0.1:6379, a key prefix of this run's own). A checkpoint is taken
 * mid-stream, the run counts past it and stops as a crash would, a new run
 * (at another count parallelism) restores it: the counts in the store
 * equal the true counts of the input exactly.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { decodeValue } from '../../src/state/index.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore, PostgresStore, RedisStore, SimulatedClock, submit } from '../../src/index.ts';
import type { StateStore } from '../../src/index.ts';
import { build, trueCounts } from '../fixtures/topologies/stateful-word-count.ts';

const PG_URL = process.env['SQUALL_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['SQUALL_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';
const schema = `squall_cp_${randomBytes(4).toString('hex')}`;
const prefix = `squall-cp-test:${randomBytes(4).toString('hex')}:`;
const dir = mkdtempSync(join(tmpdir(), 'squall-cp-stores-'));

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
  const r = new Redis(REDIS_URL);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
});

const stores: { name: string; make: () => StateStore }[] = [
  { name: 'embedded', make: () => new EmbeddedStore({ dir }) },
  { name: 'postgres', make: () => new PostgresStore({ topology: 'stateful-word-count', schema, connection: PG_URL }) },
  { name: 'redis', make: () => new RedisStore({ topology: 'stateful-word-count', prefix, connection: REDIS_URL }) },
];

async function storedCounts(make: () => StateStore): Promise<Map<string, number>> {
  const store = make();
  await store.open();
  try {
    const latest = await store.latest();
    const out = new Map<string, number>();
    for await (const b of store.readKeyed(latest!.id, 'count', 0, 127)) {
      for (let i = 0; i < b.keys.length; i++) {
        const word = b.keys[i]!.split('\u001f')[1]!;
        expect(out.has(word)).toBe(false);
        out.set(word, decodeValue(b.values[i]!) as number);
      }
    }
    return out;
  } finally {
    await store.close();
  }
}

describe.each(stores)('checkpoints on the $name store', ({ make }) => {
  it('restores a mid-stream checkpoint at another parallelism after a crash-like stop: exact counts', async () => {
    const total = 3_000;
    const gate = { allowed: 800 };
    const config = { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000 };
    const run1 = await submit(build({ spouts: 2, counts: 2, gate }), { clock: new SimulatedClock(), stepping: 'manual', seed: 1, config, state: { store: make() } });
    run1.settle();
    const cp = run1.checkpoint();
    gate.allowed = 2_000;
    run1.settle();
    expect(await cp).toBe(1);
    await run1.kill({ waitMs: 0, checkpoint: false });

    gate.allowed = total;
    const run2 = await submit(build({ spouts: 2, counts: 3, gate }), { clock: new SimulatedClock(), stepping: 'manual', seed: 2, config, state: { store: make() } });
    expect(run2.checkpoints()!.restoredFrom).toBe(1);
    run2.settle();
    await run2.kill({ waitMs: 0 }); // a graceful kill: the last checkpoint holds everything
    expect(run2.checkpoints()!.lastCompletedId).toBe(2);
    expect(await storedCounts(make)).toEqual(trueCounts(total));
  });
});
