/**
 * The embedded store: the conformance suite, and what only files have:
 * corrupt and truncated files, the lock, leftovers of a crash, compaction,
 * and a real kill -9 of a process writing checkpoints.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore, defaultStateDir } from '../../src/state/index.ts';
import type { EmbeddedStoreOptions } from '../../src/state/index.ts';
import { EMPTY, applyModel, enc, expectCheckpoint, readAll, stateStoreConformance, writeCheckpoint } from './conformance.ts';
import type { Ops } from './conformance.ts';

const root = mkdtempSync(join(tmpdir(), 'squall-state-'));
let n = 0;
const location = (): string => join(root, `s${n++}`);

stateStoreConformance({
  name: 'embedded',
  location,
  create: (dir, o = {}) =>
    new EmbeddedStore({
      dir,
      ...(o.faults === undefined ? {} : { faults: o.faults }),
      ...(o.retain === undefined ? {} : { retain: o.retain }),
      compaction: { auto: o.background ?? true, maxDeltas: 3 },
    }),
  sharedLocation: false,
  cleanup: async () => undefined,
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function store(dir: string, options: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> {
  const s = new EmbeddedStore({ dir, ...options });
  await s.open();
  return s;
}

const ops = (id: number, extra: Partial<Ops> = {}): Ops => ({
  puts: [['c', id % 4, `k${id}`, `v${id}`], ['c', 0, 'shared', `s${id}`]],
  deletes: [],
  operator: [['o', 0, `op${id}`]],
  metadata: { n: id },
  ...extra,
});

function files(dir: string, re: RegExp): string[] {
  return readdirSync(dir).filter((f) => re.test(f));
}

/** The delta file of checkpoint id. */
function deltaOf(dir: string, id: number): string {
  const f = files(dir, new RegExp(`^d-${id}-.*\\.sqs$`));
  expect(f).toHaveLength(1);
  return join(dir, f[0]!);
}

describe('embedded store: files', () => {
  it('puts the state under .squall/state/<topology> by default', () => {
    expect(defaultStateDir('word-count')).toBe(join('.squall', 'state', 'word-count'));
    expect(defaultStateDir('a/b', '/x')).toBe(join('/x', 'a%2Fb'));
  });

  it('a truncated newest checkpoint is E_STATE_CORRUPT with the path; the previous one is restorable', async () => {
    const dir = location();
    const s = await store(dir, { compaction: { auto: false } });
    await writeCheckpoint(s, 1, ops(1));
    await writeCheckpoint(s, 2, ops(2));
    await s.close();
    const m1 = applyModel(EMPTY, ops(1));
    const bad = deltaOf(dir, 2);
    truncateSync(bad, statSync(bad).size - 7);

    const again = await store(dir, { compaction: { auto: false } });
    const err = await again.latest().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_STATE_CORRUPT', details: { path: bad, checkpointId: 2, restorable: [1] } });
    expect((err as Error).message).toContain(bad);
    expect((err as Error).message).toMatch(/previous checkpoint 1 is possible/);
    await expect(readAll(again, 2, 'c')).rejects.toMatchObject({ code: 'E_STATE_CORRUPT', details: { path: bad } });

    const l = await again.latest({ skipCorrupt: true });
    expect(l).toMatchObject({ id: 1, metadata: { n: 1 }, skipped: [{ id: 2, path: bad }] });
    await expectCheckpoint(again, 1, m1);
    // Going on from checkpoint 1 discards checkpoint 2 and its file.
    await writeCheckpoint(again, 3, ops(3), 1);
    expect(await again.checkpoints()).toEqual([1, 3]);
    await expectCheckpoint(again, 3, applyModel(m1, ops(3)));
    expect(() => statSync(bad)).toThrow();
    expect(await again.latest()).toMatchObject({ id: 3 });
    await again.close();
  });

  it('a flipped bit inside a block fails its CRC: E_STATE_CORRUPT on read, and skipCorrupt finds it', async () => {
    const dir = location();
    const s = await store(dir, { compaction: { auto: false } });
    await writeCheckpoint(s, 1, ops(1));
    await writeCheckpoint(s, 2, ops(2));
    await s.close();
    const bad = deltaOf(dir, 2);
    const bytes = readFileSync(bad);
    bytes[20] ^= 0x01; // inside the first block, after the 16-byte header
    writeFileSync(bad, bytes);

    const again = await store(dir);
    expect(await again.latest()).toMatchObject({ id: 2 }); // the footer still verifies
    const err = await readAll(again, 2, 'c').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_STATE_CORRUPT', details: { path: bad, restorable: [1] } });
    expect((err as Error).message).toMatch(/CRC-32/);
    expect(await again.latest({ skipCorrupt: true })).toMatchObject({ id: 1 });
    await expectCheckpoint(again, 1, applyModel(EMPTY, ops(1)));
    await again.close();
  });

  it('a missing file, and nothing older intact: says so', async () => {
    const dir = location();
    const s = await store(dir, { retain: 1 });
    await writeCheckpoint(s, 1, ops(1));
    await s.close();
    rmSync(deltaOf(dir, 1));
    const again = await store(dir);
    await expect(again.latest()).rejects.toMatchObject({ code: 'E_STATE_CORRUPT', details: { restorable: [] } });
    const err = await again.latest({ skipCorrupt: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_STATE_CORRUPT' });
    expect((err as Error).message).toMatch(/missing.*No older checkpoint is intact/);
    await again.close();
  });

  it('a corrupt manifest is E_STATE_CORRUPT naming CURRENT', async () => {
    const dir = location();
    const s = await store(dir);
    await writeCheckpoint(s, 1, ops(1));
    await s.close();
    const current = join(dir, 'CURRENT');
    const text = readFileSync(current, 'utf8');
    writeFileSync(current, text.replace('"n":1', '"n":7'));
    const again = new EmbeddedStore({ dir });
    await expect(again.open()).rejects.toMatchObject({ code: 'E_STATE_CORRUPT', details: { path: current } });
    writeFileSync(current, text.slice(0, 20));
    await expect(new EmbeddedStore({ dir }).open()).rejects.toMatchObject({ code: 'E_STATE_CORRUPT' });
  });

  it('one open store per directory: a second is E_STATE_LOCKED; a lock left by a dead process is taken over', async () => {
    const dir = location();
    const a = await store(dir);
    await expect(store(dir)).rejects.toMatchObject({ code: 'E_STATE_LOCKED' });
    await a.close();
    const b = await store(dir);
    await b.close();
    // A LOCK naming a process that is gone (kill -9 leaves it).
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), token: 'x' }));
    const c = await store(dir);
    await c.close();
    // A live process of another (our parent is alive while we run).
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), token: 'x' }));
    await expect(store(dir)).rejects.toMatchObject({ code: 'E_STATE_LOCKED', details: { holder: `process ${process.ppid}` } });
  });

  it('deletes what a crash left (temporary files, unreferenced deltas) when it opens', async () => {
    const dir = location();
    const s = await store(dir);
    await writeCheckpoint(s, 1, ops(1));
    await s.close();
    writeFileSync(join(dir, 'd-2-deadbeef.sqs.tmp'), 'half');
    writeFileSync(join(dir, 'd-2-cafebabe.sqs'), 'whole but never committed');
    writeFileSync(join(dir, 'CURRENT.tmp'), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    const again = await store(dir);
    expect(readdirSync(dir).sort()).toEqual(['CURRENT', 'LOCK', files(dir, /^d-1-/)[0]!, 'notes.txt'].sort());
    await again.close();
  });

  it('compaction folds old deltas into a base and deletes what no checkpoint needs', async () => {
    const dir = location();
    const s = await store(dir, { compaction: { auto: false } });
    let m = EMPTY;
    for (let id = 1; id <= 6; id++) {
      await writeCheckpoint(s, id, ops(id));
      m = applyModel(m, ops(id));
    }
    expect(files(dir, /^d-/)).toHaveLength(6);
    await s.compact();
    expect(files(dir, /^b-5-/)).toHaveLength(1);
    expect(files(dir, /^d-/).map((f) => f.split('-')[1])).toEqual(['6']);
    await expectCheckpoint(s, 6, m);
    await s.close();
  });

  it('compacts in the background once the deltas pass maxDeltas', async () => {
    const dir = location();
    const errors: unknown[] = [];
    const s = await store(dir, { compaction: { maxDeltas: 3, deltaRatio: 1000 }, onError: (e) => errors.push(e) });
    let m = EMPTY;
    for (let id = 1; id <= 20; id++) {
      await writeCheckpoint(s, id, ops(id));
      m = applyModel(m, ops(id));
    }
    await s.close(); // waits for a compaction under way
    expect(errors).toEqual([]);
    expect(files(dir, /^b-/).length).toBe(1);
    expect(files(dir, /^d-/).length).toBeLessThan(10); // most of the 20 deltas folded
    const again = await store(dir);
    await expectCheckpoint(again, 20, m);
    await again.close();
  });

  it('a reader keeps its files while a compaction replaces them', async () => {
    const dir = location();
    const s = await store(dir, { compaction: { auto: false } });
    const w = s.begin(1);
    for (let kg = 0; kg < 128; kg++) for (let i = 0; i < 50; i++) w.putKeyed('c', kg, `k${kg}-${i}`, enc('v1'));
    await w.commit({});
    await writeCheckpoint(s, 2, { puts: [['c', 3, 'k3-0', 'v2']], deletes: [], operator: [], metadata: {} });
    await writeCheckpoint(s, 3, { puts: [['c', 4, 'k4-0', 'v3']], deletes: [], operator: [], metadata: {} });
    const it2 = s.readKeyed(2, 'c', 0, 127)[Symbol.asyncIterator]();
    const first = await it2.next();
    expect(first.done).toBe(false);
    await s.compact(); // folds 1+2 into a base; 1's delta is no longer referenced but is pinned
    let count = first.value!.keys.length;
    for (let r = await it2.next(); !r.done; r = await it2.next()) count += r.value.keys.length;
    expect(count).toBe(128 * 50);
    // deleted once the reader let go (in the background)
    for (let i = 0; i < 200 && files(dir, /^d-1-/).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(files(dir, /^d-1-/)).toEqual([]);
    expect((await readAll(s, 3, 'c')).get('k4-0')).toBe('4|v3');
    await s.close();
  });
});

describe('embedded store: kill -9', () => {
  it('a process killed with SIGKILL while writing checkpoints leaves a consistent newest checkpoint, every time', async () => {
    const { spawn } = await import('node:child_process');
    const { expectedState } = await import('./fixtures/checkpoint-loop.ts');
    const dir = location();
    const script = join(import.meta.dirname, 'fixtures', 'checkpoint-loop.ts');
    let lastSeen = 0;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errText = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // Wait until it has committed a few checkpoints, then kill it at a random moment.
      const deadline = Date.now() + 20_000;
      while (!/committed \d+\n[\s\S]*committed \d+\n/.test(out)) {
        if (Date.now() > deadline) throw new Error(`the writer did not start: ${errText}`);
        if (child.exitCode !== null) throw new Error(`the writer exited: ${errText}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 300));
      child.kill('SIGKILL');
      await exited;
      const committed = [...out.matchAll(/committed (\d+)/g)].map((m) => Number(m[1]));
      const s = await store(dir, { compaction: { auto: false } });
      const latest = await s.latest();
      expect(latest).not.toBeNull();
      // Never older than what the child saw committed; at most the one it was writing.
      expect(latest!.id).toBeGreaterThanOrEqual(committed[committed.length - 1]!);
      expect(latest!.id).toBeLessThanOrEqual(committed[committed.length - 1]! + 1);
      expect(latest!.id).toBeGreaterThan(lastSeen);
      lastSeen = latest!.id;
      expect(latest!.metadata).toEqual({ n: latest!.id });
      const want = expectedState(latest!.id);
      const got = await readAll(s, latest!.id, 'count');
      expect(got.size).toBe(want.size);
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
      expect((await s.readOperator(latest!.id, 'spout')).map((e) => new TextDecoder().decode(e.value))).toEqual([`pos-${latest!.id}`]);
      for (const id of await s.checkpoints()) expect((await readAll(s, id, 'count')).size).toBe(expectedState(id).size);
      await s.close();
    }
  }, 120_000);
});
