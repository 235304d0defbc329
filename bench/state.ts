/**
 * State store benchmark (not part of `npm run bench` or the tests):
 *
 *   node --import tsx bench/state.ts [--keys 1000000] [--stores embedded,postgres,redis]
 *                                    [--deltas 10] [--delta-fraction 0.01] [--json]
 *
 * Per store, on a fresh location: a full checkpoint of N keys (a word-count
 * like state: key "word-<i>", an 8-byte value, spread over 128 key groups),
 * then `deltas` checkpoints that each change a fraction of the keys (updates,
 * and a tenth of them deletes), then a restore (every key group of the newest
 * checkpoint read back), then a compaction. Times are wall clock; "buffer" is
 * the putKeyed calls, "commit" the commit() up to durable. Embedded state goes
 * to a temporary directory (fsync on); PostgreSQL to 127.0.0.1:5432/test in a
 * schema of its own; Redis to 127.0.0.1:6379 under a prefix of its own. All
 * are removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedStore, PostgresStore, RedisStore, keyGroupOf } from '../src/state/index.ts';
import type { StateStore } from '../src/state/index.ts';

const { values: opts } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'embedded,postgres' },
    deltas: { type: 'string', default: '10' },
    'delta-fraction': { type: 'string', default: '0.01' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(opts.keys);
const DELTAS = Number(opts.deltas);
const FRACTION = Number(opts['delta-fraction']);
const PG_URL = process.env['SQUALL_BENCH_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['SQUALL_BENCH_REDIS'] ?? 'redis://127.0.0.1:6379';
const MAX = 128;

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

// Keys, their groups and first values exist before the clock starts: a task has them in its state already.
const KEYS = Array.from({ length: N }, (_, i) => `word-${i}`);
const keyOf = (i: number): string => KEYS[i]!;
const groupOf = new Int32Array(N);
for (let i = 0; i < N; i++) groupOf[i] = keyGroupOf(fnv(keyOf(i)), MAX);

function value(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n, true);
  return b;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Result {
  store: string;
  keys: number;
  fullBufferMs: number;
  fullCommitMs: number;
  deltaKeys: number;
  deltaCommitP50Ms: number;
  deltaCommitP99Ms: number;
  restoreMs: number;
  restoredKeys: number;
  compactMs: number;
  restoreAfterCompactMs: number;
  bytes?: number | undefined;
  rssMb: number;
}

async function restore(store: StateStore, id: number): Promise<{ ms: number; keys: number }> {
  const t0 = performance.now();
  let keys = 0;
  for await (const b of store.readKeyed(id, 'count', 0, MAX - 1)) keys += b.keys.length;
  await store.readOperator(id, 'spout');
  return { ms: performance.now() - t0, keys };
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

async function run(name: string, store: StateStore, bytes: () => Promise<number | undefined>): Promise<Result> {
  await store.open();
  // Full checkpoint.
  const values = Array.from({ length: N }, (_, i) => value(i));
  let t0 = performance.now();
  const w = store.begin(1);
  for (let i = 0; i < N; i++) w.putKeyed('count', groupOf[i]!, keyOf(i), values[i]!);
  w.putOperator('spout', 0, value(0));
  const fullBufferMs = performance.now() - t0;
  t0 = performance.now();
  await w.commit({ spouts: { sentences: 0 }, maxParallelism: MAX });
  const fullCommitMs = performance.now() - t0;
  // Deltas: a random fraction of the keys, a tenth of them deleted (and put back later).
  const deltaKeys = Math.round(N * FRACTION);
  const times: number[] = [];
  let seed = 12345;
  const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let d = 0; d < DELTAS; d++) {
    const id = d + 2;
    const dw = store.begin(id);
    for (let j = 0; j < deltaKeys; j++) {
      const i = Math.floor(rand() * N);
      if (j % 10 === 0) dw.deleteKeyed('count', groupOf[i]!, keyOf(i));
      else dw.putKeyed('count', groupOf[i]!, keyOf(i), value(i + id));
    }
    dw.putOperator('spout', 0, value(id));
    const t = performance.now();
    await dw.commit({ spouts: { sentences: id }, maxParallelism: MAX });
    times.push(performance.now() - t);
  }
  const latest = (await store.latest())!.id;
  const r = await restore(store, latest);
  t0 = performance.now();
  await store.compact();
  const compactMs = performance.now() - t0;
  const r2 = await restore(store, latest);
  const size = await bytes();
  await store.close();
  return {
    store: name,
    keys: N,
    fullBufferMs: Math.round(fullBufferMs),
    fullCommitMs: Math.round(fullCommitMs),
    deltaKeys,
    deltaCommitP50Ms: Math.round(percentile(times, 50)),
    deltaCommitP99Ms: Math.round(percentile(times, 99)),
    restoreMs: Math.round(r.ms),
    restoredKeys: r.keys,
    compactMs: Math.round(compactMs),
    restoreAfterCompactMs: Math.round(r2.ms),
    bytes: size,
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const name of opts.stores.split(',')) {
    if (name === 'embedded') {
      const dir = mkdtempSync(join(tmpdir(), 'squall-bench-state-'));
      try {
        results.push(await run(name, new EmbeddedStore({ dir, compaction: { auto: false } }), async () => dirBytes(dir)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else if (name === 'postgres') {
      const schema = `squall_bench_${randomBytes(4).toString('hex')}`;
      const { default: pg } = await import('pg');
      const sql = async (q: string): Promise<unknown[]> => {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        try {
          return (await c.query(q)).rows;
        } finally {
          await c.end();
        }
      };
      try {
        const s = new PostgresStore({ topology: 'bench', schema, connection: PG_URL, compactEvery: 0 });
        results.push(
          await run(name, s, async () => {
            const rows = (await sql(`SELECT pg_total_relation_size('"${schema}".keyed_state') AS n`)) as Array<{ n: string }>;
            return Number(rows[0]!.n);
          }),
        );
      } finally {
        await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    } else if (name === 'redis') {
      const prefix = `squall-bench:${randomBytes(4).toString('hex')}:`;
      const { Redis } = await import('ioredis');
      try {
        results.push(await run(name, new RedisStore({ topology: 'bench', prefix, connection: REDIS_URL }), async () => undefined));
      } finally {
        const r = new Redis(REDIS_URL);
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await r.del(...keys);
        } while (cursor !== '0');
        r.disconnect();
      }
    } else {
      throw new RangeError(`unknown store ${name}: embedded, postgres or redis`);
    }
    const last = results[results.length - 1]!;
    if (opts.json) console.log(JSON.stringify(last));
    else {
      console.log(
        `${last.store.padEnd(9)} ${N} keys: full checkpoint ${last.fullCommitMs} ms (+${last.fullBufferMs} ms buffering); ` +
          `${DELTAS} deltas of ${last.deltaKeys} keys: p50 ${last.deltaCommitP50Ms} ms, p99 ${last.deltaCommitP99Ms} ms; ` +
          `restore ${last.restoreMs} ms (${last.restoredKeys} keys); compaction ${last.compactMs} ms, then restore ${last.restoreAfterCompactMs} ms` +
          (last.bytes === undefined ? '' : `; ${(last.bytes / 2 ** 20).toFixed(1)} MiB on disk`) +
          `; rss ${last.rssMb} MiB`,
      );
    }
  }
}

await main();
