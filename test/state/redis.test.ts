/**
 * The Redis store against the real server (127.0.0.1:6379): the
 * conformance suite under a key prefix of this run's own, deleted at the
 * end, and what only it has: staging left by a crashed writer, undo logs,
 * a commit script sent twice.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/state/index.ts';
import { enc, readAll, stateStoreConformance, writeCheckpoint } from './conformance.ts';

const URL = process.env['SQUALL_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';
const prefix = `squall-test:${randomBytes(4).toString('hex')}:`;
let n = 0;

async function keys(pattern: string): Promise<string[]> {
  const r = new Redis(URL);
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out;
  } finally {
    r.disconnect();
  }
}

stateStoreConformance({
  name: 'redis',
  location: () => `t${n++}`,
  create: (topology, o = {}) =>
    new RedisStore({
      topology,
      prefix,
      connection: URL,
      ...(o.faults === undefined ? {} : { faults: o.faults }),
      ...(o.retain === undefined ? {} : { retain: o.retain }),
    }),
  sharedLocation: true,
  cleanup: async () => undefined,
});

afterAll(async () => {
  const all = await keys(`${prefix}*`);
  const r = new Redis(URL);
  for (let i = 0; i < all.length; i += 500) await r.del(...all.slice(i, i + 500));
  r.disconnect();
});

describe('redis store', () => {
  it('keys share the topology hash tag, and a crashed writer leaves only expiring staging', async () => {
    const topology = `stage${n++}`;
    let armed = false;
    let dead = false;
    const s = new RedisStore({
      topology,
      prefix,
      connection: URL,
      faults: (step) => {
        // A crash: from the commit script on, nothing happens (no clean-up either).
        if (armed && step === 'redis commit') dead = true;
        if (dead) throw new Error('crash before the commit script');
      },
    });
    await s.open();
    await writeCheckpoint(s, 1, { puts: [['c', 1, 'a', '1']], deletes: [], operator: [['o', 0, 'x']], metadata: {} });
    armed = true;
    await expect(writeCheckpoint(s, 2, { puts: [['c', 1, 'a', '2']], deletes: [], operator: [['o', 0, 'y']], metadata: {} })).rejects.toThrow(/crash/);
    await s.abandon();
    const all = await keys(`${prefix}{${topology}}*`);
    expect(all.every((k) => k.startsWith(`${prefix}{${topology}}:`))).toBe(true);
    const staged = all.filter((k) => k.includes(':s:') || k.includes(':so:'));
    expect(staged.length).toBe(2);
    const r = new Redis(URL);
    for (const k of staged) expect(await r.ttl(k)).toBeGreaterThan(0);
    r.disconnect();
    const again = new RedisStore({ topology, prefix, connection: URL });
    await again.open();
    expect(await again.latest()).toMatchObject({ id: 1 });
    expect(Object.fromEntries(await readAll(again, 1, 'c'))).toEqual({ a: '1|1' });
    await again.close();
  });

  it('keeps undo logs only for the checkpoints after the oldest kept', async () => {
    const topology = `undo${n++}`;
    const s = new RedisStore({ topology, prefix, connection: URL, retain: 2 });
    await s.open();
    for (let id = 1; id <= 5; id++) {
      const w = s.begin(id);
      w.putKeyed('c', id % 3, `k${id}`, enc(String(id)));
      w.putKeyed('c', 0, 'shared', enc(String(id)));
      await w.commit({});
    }
    const undo = (await keys(`${prefix}{${topology}}:u:*`)).sort();
    expect(undo.every((k) => k.includes(':u:5:'))).toBe(true);
    expect(undo.length).toBe(2);
    expect((await readAll(s, 4, 'c')).get('shared')).toBe('0|4');
    await s.close();
  });

  it('an unreachable server is E_STATE_UNAVAILABLE', async () => {
    const s = new RedisStore({ topology: 'x', prefix, connection: { host: '127.0.0.1', port: 1, retryStrategy: () => null } });
    await expect(s.open()).rejects.toMatchObject({ code: 'E_STATE_UNAVAILABLE' });
  });

  it('commits a checkpoint with many entries atomically', async () => {
    const topology = `big${n++}`;
    const s = new RedisStore({ topology, prefix, connection: URL, batchEntries: 1000 });
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

describe('redis store: a commit sent twice', () => {
  it('is applied once: the second run of the script recognizes its own commit', async () => {
    const topology = `twice${n++}`;
    const client = new Redis(URL);
    let evals = 0;
    // A client that sends the commit script twice, as a resend after a lost reply would.
    const twice = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'call') {
          return async (...args: unknown[]) => {
            const call = target.call.bind(target) as (...a: unknown[]) => Promise<unknown>;
            const first = await call(...args);
            if (args[0] === 'EVALSHA' && args.some((a) => typeof a === 'string' && a.includes('twice-marker'))) {
              evals++;
              return call(...args);
            }
            return first;
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const s = new RedisStore({ topology, prefix, redis: twice as Redis });
    await s.open();
    await writeCheckpoint(s, 1, { puts: [['c', 1, 'a', '1']], deletes: [], operator: [], metadata: {} });
    const w = s.begin(2);
    w.putKeyed('c', 1, 'a', enc('2'));
    w.deleteKeyed('c', 1, 'gone');
    await w.commit({ note: 'twice-marker' });
    expect(evals).toBe(1);
    expect(await s.checkpoints()).toEqual([1, 2]);
    expect(Object.fromEntries(await readAll(s, 2, 'c'))).toEqual({ a: '1|2' });
    expect(Object.fromEntries(await readAll(s, 1, 'c'))).toEqual({ a: '1|1' });
    await s.close();
    client.disconnect();
  });
});
