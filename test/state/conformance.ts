/**
 * The state store conformance suite: one set of tests every StateStore
 * passes (docs/state.md). Each store's test file calls
 * stateStoreConformance with a harness that makes fresh locations (a
 * directory, a topology in a schema, a key prefix) and stores on them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckpointMetadata, FaultHook, StateStore } from '../../src/state/index.ts';

export interface HarnessOptions {
  readonly faults?: FaultHook;
  readonly retain?: number;
  /** Background work (compaction, pruning) on; off in the crash tests, so steps are counted deterministically. */
  readonly background?: boolean;
}

export interface StoreHarness {
  readonly name: string;
  /** A fresh, empty location. */
  location(): string;
  /** A store (not opened) on a location. */
  create(location: string, options?: HarnessOptions): StateStore;
  /** Whether two stores may be open on one location at once (the embedded store locks its directory). */
  readonly sharedLocation: boolean;
  /** Remove what the tests left. */
  cleanup(): Promise<void>;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The keyed state of a component as a map key -> "kg|value", checking the batches' shape on the way. */
export async function readAll(store: StateStore, id: number, component: string, from = 0, to = 127): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let lastKg = -1;
  for await (const b of store.readKeyed(id, component, from, to)) {
    expect(b.keyGroup).toBeGreaterThanOrEqual(from);
    expect(b.keyGroup).toBeLessThanOrEqual(to);
    expect(b.keyGroup).toBeGreaterThanOrEqual(lastKg);
    lastKg = b.keyGroup;
    expect(b.keys.length).toBe(b.values.length);
    for (let i = 0; i < b.keys.length; i++) {
      expect(out.has(b.keys[i]!)).toBe(false);
      out.set(b.keys[i]!, `${b.keyGroup}|${dec(b.values[i]!)}`);
    }
  }
  return out;
}

export async function readOps(store: StateStore, id: number, component: string): Promise<Array<[number, string]>> {
  return (await store.readOperator(id, component)).map((e) => [e.taskIndex, dec(e.value)]);
}

/** What a checkpoint should hold: per component, key -> "kg|value"; operator state per component. */
export interface Expected {
  keyed: Map<string, Map<string, string>>;
  operator: Map<string, Array<[number, string]>>;
  metadata: CheckpointMetadata;
}

function clone(e: Expected): Expected {
  return {
    keyed: new Map([...e.keyed].map(([c, m]) => [c, new Map(m)])),
    operator: new Map([...e.operator].map(([c, l]) => [c, [...l]])),
    metadata: e.metadata,
  };
}

/** One checkpoint's writes, applied both to a writer and to a model. */
export interface Ops {
  puts: Array<[string, number, string, string]>; // component, kg, key, value
  deletes: Array<[string, number, string]>;
  operator: Array<[string, number, string]>;
  metadata: CheckpointMetadata;
}

export function applyModel(prev: Expected, ops: Ops): Expected {
  const next = clone(prev);
  for (const [c, kg, key, value] of ops.puts) {
    if (!next.keyed.has(c)) next.keyed.set(c, new Map());
    next.keyed.get(c)!.set(key, `${kg}|${value}`);
  }
  for (const [c, , key] of ops.deletes) next.keyed.get(c)?.delete(key);
  const byComponent = new Map<string, Map<number, string>>();
  for (const [c, task, value] of ops.operator) {
    if (!byComponent.has(c)) byComponent.set(c, new Map());
    byComponent.get(c)!.set(task, value);
  }
  for (const [c, tasks] of byComponent) next.operator.set(c, [...tasks].sort((a, b) => a[0] - b[0]));
  next.metadata = ops.metadata;
  return next;
}

export async function writeCheckpoint(store: StateStore, id: number, ops: Ops, base?: number | null): Promise<void> {
  const w = store.begin(id, base === undefined ? {} : { base });
  for (const [c, kg, key, value] of ops.puts) w.putKeyed(c, kg, key, enc(value));
  for (const [c, kg, key] of ops.deletes) w.deleteKeyed(c, kg, key);
  for (const [c, task, value] of ops.operator) w.putOperator(c, task, enc(value));
  await w.commit(ops.metadata);
}

export const EMPTY: Expected = { keyed: new Map(), operator: new Map(), metadata: {} };

/** Check that checkpoint `id` holds exactly `e` (components: those of e, plus any extra named). */
export async function expectCheckpoint(store: StateStore, id: number, e: Expected, extra: string[] = []): Promise<void> {
  for (const c of new Set([...e.keyed.keys(), ...e.operator.keys(), ...extra])) {
    expect(Object.fromEntries(await readAll(store, id, c)), `keyed state of ${c} at ${id}`).toEqual(Object.fromEntries(e.keyed.get(c) ?? new Map()));
    expect(await readOps(store, id, c), `operator state of ${c} at ${id}`).toEqual(e.operator.get(c) ?? []);
  }
}

/** A deterministic pseudo-random source. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Random ops over a small key space: puts, deletes of existing keys, operator state now and then. */
export function randomOps(rand: () => number, id: number, prev: Expected, n = 40): Ops {
  const ops: Ops = { puts: [], deletes: [], operator: [], metadata: { checkpoint: id, spouts: { s: { p0: id * 10 } } } };
  const comps = ['count', 'dedupe'];
  for (let i = 0; i < n; i++) {
    const c = comps[Math.floor(rand() * comps.length)]!;
    const k = Math.floor(rand() * 60);
    const kg = (k * 7) % 128;
    const key = `key-${k}`;
    if (prev.keyed.get(c)?.has(key) && rand() < 0.3) ops.deletes.push([c, kg, key]);
    else ops.puts.push([c, kg, key, `v${id}-${i}`]);
  }
  if (rand() < 0.6) ops.operator.push(['spout', 0, `pos-${id}-0`], ['spout', 1, `pos-${id}-1`]);
  return ops;
}

/** A crash: the fault hook throws from step k on. */
export class InjectedCrash extends Error {
  constructor(readonly step: string) {
    super(`injected crash at ${step}`);
  }
}

export class FaultInjector {
  armed = false;
  count = 0;
  readonly steps: string[] = [];
  constructor(readonly at = Infinity) {}
  readonly hook: FaultHook = (step) => {
    if (!this.armed) return;
    if (this.count >= this.at) throw new InjectedCrash(step);
    this.count++;
    this.steps.push(step);
  };
}

export function stateStoreConformance(h: StoreHarness): void {
  describe(`${h.name} store: conformance`, () => {
    afterAll(() => h.cleanup());

    async function opened(loc: string, options?: HarnessOptions): Promise<StateStore> {
      const s = h.create(loc, options);
      await s.open();
      return s;
    }

    it('starts empty', async () => {
      const s = await opened(h.location());
      expect(await s.latest()).toBeNull();
      expect(await s.checkpoints()).toEqual([]);
      await s.close();
    });

    it('round-trips keyed and operator state and the metadata, also through a fresh instance', async () => {
      const loc = h.location();
      const s = await opened(loc);
      const ops: Ops = {
        puts: [
          ['count', 0, 'apple', '1'],
          ['count', 5, 'pear', '22'],
          ['count', 127, 'plum', '333'],
          ['count', 5, 'ünïcödé ✓ 𝄞', 'four'],
          ['other', 3, 'k', ''],
        ],
        deletes: [],
        operator: [
          ['spout', 1, 'offset-1'],
          ['spout', 0, 'offset-0'],
        ],
        metadata: { spouts: { s: { 'topic-0': 42 } }, parallelism: { count: 2 }, maxParallelism: 128, nested: [1, 'two', null, true] },
      };
      await writeCheckpoint(s, 1, ops);
      const e = applyModel(EMPTY, ops);
      const check = async (store: StateStore): Promise<void> => {
        const l = await store.latest();
        expect(l?.id).toBe(1);
        expect(l?.metadata).toEqual(ops.metadata);
        expect(await store.checkpoints()).toEqual([1]);
        await expectCheckpoint(store, 1, e, ['absent']);
        // a range reads only its key groups
        expect([...(await readAll(store, 1, 'count', 1, 10)).keys()].sort()).toEqual(['pear', 'ünïcödé ✓ 𝄞']);
        expect([...(await readAll(store, 1, 'count', 127, 127)).keys()]).toEqual(['plum']);
      };
      await check(s);
      await s.close();
      const again = await opened(loc);
      await check(again);
      await again.close();
    });

    it('applies incremental deltas with deletes over many checkpoints, and reads every retained one', async () => {
      const loc = h.location();
      const s = await opened(loc, { retain: 3 });
      const rand = lcg(42);
      const models: Expected[] = [EMPTY];
      for (let id = 1; id <= 12; id++) {
        const ops = randomOps(rand, id, models[id - 1]!);
        await writeCheckpoint(s, id, ops);
        models.push(applyModel(models[id - 1]!, ops));
        const kept = await s.checkpoints();
        expect(kept).toEqual([id - 2, id - 1, id].filter((x) => x >= 1));
        for (const k of kept) await expectCheckpoint(s, k, models[k]!);
        expect((await s.latest())?.metadata).toEqual(ops.metadata);
      }
      await s.close();
      const again = await opened(loc, { retain: 3 });
      for (const k of [10, 11, 12]) await expectCheckpoint(again, k, models[k]!);
      await again.close();
    });

    it('keeps the last two checkpoints by default; an older one is E_STATE_NO_CHECKPOINT', async () => {
      const s = await opened(h.location());
      let m = EMPTY;
      for (let id = 1; id <= 4; id++) {
        const ops: Ops = { puts: [['c', 1, 'k', `v${id}`]], deletes: [], operator: [], metadata: { id } };
        await writeCheckpoint(s, id, ops);
        m = applyModel(m, ops);
      }
      expect(await s.checkpoints()).toEqual([3, 4]);
      expect(await readAll(s, 3, 'c')).toEqual(new Map([['k', '1|v3']]));
      await expect(readAll(s, 2, 'c')).rejects.toMatchObject({ code: 'E_STATE_NO_CHECKPOINT' });
      await expect(s.readOperator(2, 'c')).rejects.toMatchObject({ code: 'E_STATE_NO_CHECKPOINT' });
      await s.close();
    });

    it('operator state: a component that writes any replaces all of its tasks; one that writes none keeps its own', async () => {
      const s = await opened(h.location(), { retain: 3 });
      await writeCheckpoint(s, 1, { puts: [], deletes: [], operator: [['a', 0, 'a0'], ['a', 1, 'a1'], ['a', 2, 'a2'], ['b', 0, 'b0']], metadata: {} });
      await writeCheckpoint(s, 2, { puts: [], deletes: [], operator: [['a', 0, 'a0-2'], ['a', 1, 'a1-2']], metadata: {} });
      await writeCheckpoint(s, 3, { puts: [['k', 0, 'x', 'y']], deletes: [], operator: [], metadata: {} });
      expect(await readOps(s, 3, 'a')).toEqual([[0, 'a0-2'], [1, 'a1-2']]);
      expect(await readOps(s, 3, 'b')).toEqual([[0, 'b0']]);
      expect(await readOps(s, 1, 'a')).toEqual([[0, 'a0'], [1, 'a1'], [2, 'a2']]);
      expect(await readOps(s, 3, 'none')).toEqual([]);
      await s.close();
    });

    it('a checkpoint with no writes still commits its metadata', async () => {
      const s = await opened(h.location());
      await writeCheckpoint(s, 1, { puts: [['c', 0, 'k', 'v']], deletes: [], operator: [], metadata: { n: 1 } });
      await s.begin(2).commit({ n: 2 });
      expect(await s.latest()).toMatchObject({ id: 2, metadata: { n: 2 } });
      expect(await readAll(s, 2, 'c')).toEqual(new Map([['k', '0|v']]));
      await s.close();
    });

    it('takes the last write of a key within one checkpoint', async () => {
      const s = await opened(h.location());
      const w = s.begin(1);
      w.putKeyed('c', 1, 'a', enc('1'));
      w.putKeyed('c', 1, 'a', enc('2'));
      w.putKeyed('c', 1, 'b', enc('1'));
      w.deleteKeyed('c', 1, 'b');
      w.deleteKeyed('c', 1, 'z');
      w.putKeyed('c', 1, 'z', enc('back'));
      w.putOperator('o', 0, enc('x'));
      w.putOperator('o', 0, enc('y'));
      expect(w.size).toBe(4);
      await w.commit({});
      expect(Object.fromEntries(await readAll(s, 1, 'c'))).toEqual({ a: '1|2', z: '1|back' });
      expect(await readOps(s, 1, 'o')).toEqual([[0, 'y']]);
      await s.close();
    });

    it('refuses a checkpoint id not above the newest (E_STATE_OLD_CHECKPOINT), also after a reopen', async () => {
      const loc = h.location();
      const s = await opened(loc);
      await writeCheckpoint(s, 5, { puts: [['c', 0, 'k', 'v']], deletes: [], operator: [], metadata: {} });
      expect(() => s.begin(5)).toThrow(expect.objectContaining({ code: 'E_STATE_OLD_CHECKPOINT' }));
      expect(() => s.begin(3)).toThrow(expect.objectContaining({ code: 'E_STATE_OLD_CHECKPOINT' }));
      expect(() => s.begin(0)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      expect(() => s.begin(1.5)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      await s.close();
      const again = await opened(loc);
      expect(() => again.begin(4)).toThrow(expect.objectContaining({ code: 'E_STATE_OLD_CHECKPOINT' }));
      await writeCheckpoint(again, 9, { puts: [], deletes: [], operator: [], metadata: {} });
      expect(await again.checkpoints()).toEqual([5, 9]);
      await again.close();
    });

    it('checks its arguments and its lifecycle', async () => {
      const s = h.create(h.location());
      expect(() => s.begin(1)).toThrow(expect.objectContaining({ code: 'E_BAD_STATE' }));
      await s.open();
      const w = s.begin(1);
      expect(() => s.begin(2)).toThrow(expect.objectContaining({ code: 'E_BAD_STATE' }));
      expect(() => w.putKeyed('', 0, 'k', enc('v'))).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      expect(() => w.putKeyed('c', -1, 'k', enc('v'))).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      expect(() => w.putKeyed('c', 32768, 'k', enc('v'))).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      expect(() => w.putKeyed('c', 0, 'a\0b', enc('v'))).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      expect(() => w.putKeyed('c', 0, '\ud800', enc('v'))).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      expect(() => w.putKeyed('c', 0, 'k', 'v' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      expect(() => w.putOperator('c', -1, enc('v'))).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      await expect(w.commit([] as unknown as CheckpointMetadata)).rejects.toMatchObject({ code: 'E_BAD_ARGUMENT' });
      w.putKeyed('c', 0, 'k', enc('v'));
      await w.commit({});
      expect(() => w.putKeyed('c', 0, 'k', enc('v'))).toThrow(expect.objectContaining({ code: 'E_BAD_STATE' }));
      await expect(w.commit({})).rejects.toMatchObject({ code: 'E_BAD_STATE' });
      expect(() => s.readKeyed(1, 'c', 5, 4)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      await s.close();
      await expect(s.latest()).rejects.toMatchObject({ code: 'E_BAD_STATE' });
    });

    it('an aborted checkpoint leaves nothing, and its id can be used again', async () => {
      const loc = h.location();
      const s = await opened(loc);
      await writeCheckpoint(s, 1, { puts: [['c', 0, 'k', 'one']], deletes: [], operator: [], metadata: { n: 1 } });
      const w = s.begin(2);
      w.putKeyed('c', 0, 'k', enc('two'));
      w.putOperator('o', 0, enc('x'));
      await w.abort();
      expect(await s.latest()).toMatchObject({ id: 1 });
      expect(await readAll(s, 1, 'c')).toEqual(new Map([['k', '0|one']]));
      await writeCheckpoint(s, 2, { puts: [['c', 0, 'j', 'two']], deletes: [], operator: [], metadata: { n: 2 } });
      expect(Object.fromEntries(await readAll(s, 2, 'c'))).toEqual({ k: '0|one', j: '0|two' });
      expect(await readOps(s, 2, 'o')).toEqual([]);
      await s.close();
    });

    it('goes on from an older checkpoint ({ base }): what came after it is discarded', async () => {
      const loc = h.location();
      const s = await opened(loc, { retain: 3 });
      const o1: Ops = { puts: [['c', 1, 'a', '1'], ['c', 2, 'b', '1']], deletes: [], operator: [['o', 0, 'one']], metadata: { n: 1 } };
      const o2: Ops = { puts: [['c', 1, 'a', '2'], ['c', 3, 'x', '2']], deletes: [['c', 2, 'b']], operator: [['o', 0, 'two']], metadata: { n: 2 } };
      const o3: Ops = { puts: [['c', 4, 'y', '3']], deletes: [['c', 1, 'a']], operator: [['o', 0, 'three']], metadata: { n: 3 } };
      const o4: Ops = { puts: [['c', 5, 'z', '4']], deletes: [], operator: [], metadata: { n: 4 } };
      await writeCheckpoint(s, 1, o1);
      await writeCheckpoint(s, 2, o2);
      await writeCheckpoint(s, 3, o3);
      const m1 = applyModel(EMPTY, o1);
      await writeCheckpoint(s, 4, o4, 1);
      const m4 = applyModel(m1, o4);
      expect(await s.checkpoints()).toEqual([1, 4]);
      await expectCheckpoint(s, 4, m4);
      await expectCheckpoint(s, 1, m1);
      expect(await s.latest()).toMatchObject({ id: 4, metadata: { n: 4 } });
      await s.close();
      const again = await opened(loc, { retain: 3 });
      await expectCheckpoint(again, 4, m4);
      expect(() => again.begin(5, { base: 2 })).toThrow(expect.objectContaining({ code: 'E_STATE_NO_CHECKPOINT' }));
      await again.close();
    });

    it('a full checkpoint ({ base: null }) depends on none', async () => {
      const s = await opened(h.location());
      await writeCheckpoint(s, 1, { puts: [['c', 1, 'a', '1'], ['d', 1, 'b', '1']], deletes: [], operator: [['o', 0, 'one']], metadata: {} });
      await writeCheckpoint(s, 2, { puts: [['c', 2, 'n', '2']], deletes: [], operator: [], metadata: { full: true } }, null);
      expect(await s.checkpoints()).toEqual([2]);
      expect(Object.fromEntries(await readAll(s, 2, 'c'))).toEqual({ n: '2|2' });
      expect(await readAll(s, 2, 'd')).toEqual(new Map());
      expect(await readOps(s, 2, 'o')).toEqual([]);
      await writeCheckpoint(s, 3, { puts: [['c', 2, 'm', '3']], deletes: [], operator: [], metadata: {} });
      expect(Object.fromEntries(await readAll(s, 2, 'c'))).toEqual({ n: '2|2' });
      expect(Object.fromEntries(await readAll(s, 3, 'c'))).toEqual({ n: '2|2', m: '2|3' });
      await s.close();
    });

    it('drops a component from every retained checkpoint; later writes of it count', async () => {
      const loc = h.location();
      const s = await opened(loc);
      await writeCheckpoint(s, 1, { puts: [['gone', 1, 'a', '1'], ['kept', 1, 'a', '1']], deletes: [], operator: [['gone', 0, 'g'], ['kept', 0, 'k']], metadata: {} });
      await writeCheckpoint(s, 2, { puts: [['gone', 2, 'b', '2'], ['kept', 2, 'b', '2']], deletes: [['gone', 1, 'a']], operator: [], metadata: {} });
      await s.dropComponent('gone');
      for (const id of [1, 2]) {
        expect(await readAll(s, id, 'gone')).toEqual(new Map());
        expect(await readOps(s, id, 'gone')).toEqual([]);
      }
      expect(Object.fromEntries(await readAll(s, 2, 'kept'))).toEqual({ a: '1|1', b: '2|2' });
      expect(await readOps(s, 2, 'kept')).toEqual([[0, 'k']]);
      await s.dropComponent('never-there');
      await writeCheckpoint(s, 3, { puts: [['gone', 3, 'c', '3']], deletes: [], operator: [['gone', 0, 'new']], metadata: {} });
      await s.compact();
      await s.close();
      const again = await opened(loc);
      expect(Object.fromEntries(await readAll(again, 3, 'gone'))).toEqual({ c: '3|3' });
      expect(await readOps(again, 3, 'gone')).toEqual([[0, 'new']]);
      expect(await readAll(again, 2, 'gone')).toEqual(new Map());
      expect(Object.fromEntries(await readAll(again, 3, 'kept'))).toEqual({ a: '1|1', b: '2|2' });
      await again.close();
    });

    it('compaction changes no retained checkpoint', async () => {
      const loc = h.location();
      const s = await opened(loc, { retain: 3, background: false });
      const rand = lcg(7);
      const models: Expected[] = [EMPTY];
      for (let id = 1; id <= 10; id++) {
        const ops = randomOps(rand, id, models[id - 1]!);
        await writeCheckpoint(s, id, ops);
        models.push(applyModel(models[id - 1]!, ops));
        if (id % 4 === 0) await s.compact();
      }
      await s.compact();
      await s.compact();
      for (const k of [8, 9, 10]) await expectCheckpoint(s, k, models[k]!);
      await s.close();
      const again = await opened(loc, { retain: 3 });
      for (const k of [8, 9, 10]) await expectCheckpoint(again, k, models[k]!);
      await again.close();
    });

    it('holds binary values and many keys', async () => {
      const s = await opened(h.location());
      const w = s.begin(1);
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        const v = new Uint8Array(i % 50);
        for (let j = 0; j < v.length; j++) v[j] = (i + j * 31) & 0xff;
        w.putKeyed('big', i % 128, `k${i}`, v);
      }
      w.putKeyed('big', 7, 'empty', new Uint8Array(0));
      await w.commit({});
      let count = 0;
      let bad = 0;
      for await (const b of s.readKeyed(1, 'big', 0, 127)) {
        for (let i = 0; i < b.keys.length; i++) {
          count++;
          const key = b.keys[i]!;
          const v = b.values[i]!;
          if (key === 'empty') {
            if (v.length !== 0 || b.keyGroup !== 7) bad++;
            continue;
          }
          const k = Number(key.slice(1));
          if (b.keyGroup !== k % 128 || v.length !== k % 50) bad++;
          for (let j = 0; j < v.length; j++) if (v[j] !== ((k + j * 31) & 0xff)) bad++;
        }
      }
      expect(count).toBe(n + 1);
      expect(bad).toBe(0);
      await s.close();
    });

    it('a reader that stops early lets go of what it held; the store goes on', async () => {
      const s = await opened(h.location(), { background: false });
      const w = s.begin(1);
      for (let kg = 0; kg < 40; kg++) for (let i = 0; i < 5; i++) w.putKeyed('c', kg, `k${kg}-${i}`, enc('v'));
      await w.commit({});
      for (let round = 0; round < 3; round++) {
        let seen = 0;
        for await (const b of s.readKeyed(1, 'c', 0, 127)) {
          seen += b.keys.length;
          if (seen >= 5) break;
        }
        expect(seen).toBe(5);
      }
      await writeCheckpoint(s, 2, { puts: [['c', 0, 'k0-0', 'w']], deletes: [], operator: [], metadata: {} });
      await writeCheckpoint(s, 3, { puts: [['c', 1, 'k1-0', 'w']], deletes: [], operator: [], metadata: {} });
      await s.compact();
      expect((await readAll(s, 3, 'c')).size).toBe(200);
      await s.close();
    });

    if (h.sharedLocation) {
      it('fences a second writer with a stale view (E_STATE_FENCED); nothing of it is applied', async () => {
        const loc = h.location();
        const a = await opened(loc);
        await writeCheckpoint(a, 1, { puts: [['c', 0, 'k', 'one']], deletes: [], operator: [], metadata: { by: 'a' } });
        const b = await opened(loc); // sees checkpoint 1
        await writeCheckpoint(a, 2, { puts: [['c', 0, 'k', 'a2']], deletes: [], operator: [], metadata: { by: 'a' } });
        const stale = b.begin(2);
        stale.putKeyed('c', 0, 'k', enc('b2'));
        stale.putKeyed('c', 0, 'extra', enc('b2'));
        await expect(stale.commit({ by: 'b' })).rejects.toMatchObject({ code: 'E_STATE_FENCED', details: { expected: 1, found: 2 } });
        const later = b.begin(3);
        later.putKeyed('c', 0, 'k', enc('b3'));
        await expect(later.commit({ by: 'b' })).rejects.toMatchObject({ code: 'E_STATE_FENCED' });
        expect(await a.latest()).toMatchObject({ id: 2, metadata: { by: 'a' } });
        expect(Object.fromEntries(await readAll(a, 2, 'c'))).toEqual({ k: '0|a2' });
        // A fresh instance sees the newest and may go on.
        const c = await opened(loc);
        await writeCheckpoint(c, 3, { puts: [['c', 0, 'k', 'c3']], deletes: [], operator: [], metadata: { by: 'c' } });
        expect(Object.fromEntries(await readAll(a, 3, 'c'))).toEqual({ k: '0|c3' });
        await Promise.all([a.close(), b.close(), c.close()]);
      });
    }

    // ---- crashes -------------------------------------------------------------

    const PREV: Ops[] = [
      { puts: [['count', 1, 'a', '1'], ['count', 2, 'b', '1'], ['count', 3, 'c', '1'], ['dedupe', 9, 'x', '1']], deletes: [], operator: [['spout', 0, 'p1'], ['spout', 1, 'q1']], metadata: { n: 1 } },
      { puts: [['count', 1, 'a', '2'], ['count', 4, 'd', '2']], deletes: [['count', 3, 'c']], operator: [['spout', 0, 'p2'], ['spout', 1, 'q2']], metadata: { n: 2 } },
    ];
    const NEXT: Ops = {
      puts: [['count', 1, 'a', '3'], ['count', 5, 'e', '3'], ['dedupe', 9, 'y', '3'], ['dedupe', 100, 'z', '3']],
      deletes: [['count', 2, 'b'], ['dedupe', 9, 'x']],
      operator: [['spout', 0, 'p3']],
      metadata: { n: 3, spouts: { s: 3 } },
    };
    const M1 = applyModel(EMPTY, PREV[0]!);
    const M2 = applyModel(M1, PREV[1]!);
    const M3 = applyModel(M2, NEXT);

    /**
     * Count the steps of `action`, then for every k crash at step k on a
     * fresh location, reopen, and check the store is in one of the allowed
     * states.
     */
    async function crashEveryStep(
      prepare: (s: StateStore) => Promise<void>,
      action: (s: StateStore) => Promise<void>,
      check: (s: StateStore) => Promise<'old' | 'new'>,
    ): Promise<{ steps: string[]; outcomes: Array<'old' | 'new'> }> {
      const counting = new FaultInjector();
      const loc0 = h.location();
      const s0 = await opened(loc0, { faults: counting.hook, background: false });
      await prepare(s0);
      counting.armed = true;
      await action(s0);
      counting.armed = false;
      await s0.close();
      const steps = counting.steps;
      const outcomes: Array<'old' | 'new'> = [];
      const whole = await opened(loc0, { background: false });
      expect(await check(whole)).toBe('new');
      await whole.close();
      for (let k = 0; k < steps.length; k++) {
        const f = new FaultInjector(k);
        const loc = h.location();
        const s = await opened(loc, { faults: f.hook, background: false });
        await prepare(s);
        f.armed = true;
        let crashed: unknown;
        try {
          await action(s);
        } catch (e) {
          crashed = e;
        }
        // Everything after the step fails; some steps (cleanup after the commit point) are allowed to be swallowed.
        if (crashed !== undefined && !(crashed instanceof InjectedCrash)) {
          const cause = (crashed as { cause?: unknown }).cause;
          if (!(cause instanceof InjectedCrash)) throw crashed;
        }
        await s.abandon();
        const fresh = await opened(loc, { background: false });
        try {
          outcomes.push(await check(fresh));
        } catch (e) {
          throw new Error(`after a crash at step ${k} (${steps[k]}): ${(e as Error).message}`, { cause: e });
        }
        await fresh.close();
      }
      return { steps, outcomes };
    }

    it('a crash at any step of a commit leaves the previous checkpoint or the new one, whole', async () => {
      const { steps, outcomes } = await crashEveryStep(
        async (s) => {
          await writeCheckpoint(s, 1, PREV[0]!);
          await writeCheckpoint(s, 2, PREV[1]!);
        },
        (s) => writeCheckpoint(s, 3, NEXT),
        async (s) => {
          const l = await s.latest();
          if (l?.id === 3) {
            expect(l.metadata).toEqual(NEXT.metadata);
            expect(await s.checkpoints()).toEqual([2, 3]);
            await expectCheckpoint(s, 3, M3);
            await expectCheckpoint(s, 2, M2);
            // and it goes on
            await writeCheckpoint(s, 4, { puts: [['count', 1, 'a', '4']], deletes: [], operator: [], metadata: { n: 4 } });
            expect((await readAll(s, 4, 'count')).get('a')).toBe('1|4');
            expect((await readAll(s, 4, 'count')).get('e')).toBe('5|3');
            return 'new';
          }
          expect(l?.id).toBe(2);
          expect(l?.metadata).toEqual(PREV[1]!.metadata);
          expect(await s.checkpoints()).toEqual([1, 2]);
          await expectCheckpoint(s, 2, M2);
          await expectCheckpoint(s, 1, M1);
          await writeCheckpoint(s, 3, NEXT);
          await expectCheckpoint(s, 3, M3);
          return 'old';
        },
      );
      expect(outcomes[0]).toBe('old');
      expect(outcomes).toContain('new');
      // Once new, never old again: the commit point is one step.
      expect(outcomes.slice(outcomes.indexOf('new')).every((o) => o === 'new')).toBe(true);
      expect(steps.length).toBe(outcomes.length);
    });

    it('a crash at any step of a commit that goes on from an older base leaves either history whole', async () => {
      const o3: Ops = { puts: [['count', 7, 'g', '3']], deletes: [['count', 1, 'a']], operator: [['spout', 0, 'p3']], metadata: { n: 3 } };
      const M3b = applyModel(M2, o3);
      const o4: Ops = { puts: [['count', 8, 'h', '4']], deletes: [], operator: [], metadata: { n: 4 } };
      const M4 = applyModel(M2, o4);
      const { outcomes } = await crashEveryStep(
        async (s) => {
          await writeCheckpoint(s, 1, PREV[0]!);
          await writeCheckpoint(s, 2, PREV[1]!);
          await writeCheckpoint(s, 3, o3);
        },
        (s) => writeCheckpoint(s, 4, o4, 2),
        async (s) => {
          const l = await s.latest();
          if (l?.id === 4) {
            expect(await s.checkpoints()).toEqual([2, 4]);
            await expectCheckpoint(s, 4, M4);
            await expectCheckpoint(s, 2, M2);
            return 'new';
          }
          expect(l?.id).toBe(3);
          expect(await s.checkpoints()).toEqual([2, 3]);
          await expectCheckpoint(s, 3, M3b);
          await expectCheckpoint(s, 2, M2);
          return 'old';
        },
      );
      expect(outcomes[0]).toBe('old');
      expect(outcomes).toContain('new');
    });

    it('a crash at any step of a compaction changes no retained checkpoint', async () => {
      const rand = lcg(99);
      const models: Expected[] = [EMPTY];
      const opsList: Ops[] = [];
      for (let id = 1; id <= 6; id++) {
        const ops = randomOps(rand, id, models[id - 1]!, 30);
        opsList.push(ops);
        models.push(applyModel(models[id - 1]!, ops));
      }
      await crashEveryStep(
        async (s) => {
          for (let id = 1; id <= 6; id++) await writeCheckpoint(s, id, opsList[id - 1]!);
          await s.dropComponent('dedupe');
        },
        (s) => s.compact(),
        async (s) => {
          expect(await s.checkpoints()).toEqual([5, 6]);
          for (const id of [5, 6]) {
            const m = clone(models[id]!);
            m.keyed.delete('dedupe');
            await expectCheckpoint(s, id, m, ['dedupe']);
          }
          await s.compact();
          const m6 = clone(models[6]!);
          m6.keyed.delete('dedupe');
          await expectCheckpoint(s, 6, m6, ['dedupe']);
          return 'new';
        },
      );
    });

    it('a crash at any step of dropping a component leaves it whole or gone', async () => {
      const { outcomes } = await crashEveryStep(
        async (s) => {
          await writeCheckpoint(s, 1, PREV[0]!);
          await writeCheckpoint(s, 2, PREV[1]!);
        },
        (s) => s.dropComponent('count'),
        async (s) => {
          const count = await readAll(s, 2, 'count');
          await expectCheckpoint(s, 2, { ...M2, keyed: new Map([...M2.keyed].filter(([c]) => c !== 'count')) }, []);
          if (count.size === 0) {
            expect(await readAll(s, 1, 'count')).toEqual(new Map());
            return 'new';
          }
          await expectCheckpoint(s, 2, M2);
          await expectCheckpoint(s, 1, M1);
          return 'old';
        },
      );
      expect(outcomes[0]).toBe('old');
      expect(outcomes).toContain('new');
    });
  });
}
