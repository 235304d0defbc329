import { describe, expect, it } from 'vitest';
import { fieldsHash } from '../../src/index.ts';
import type { Topology } from '../../src/index.ts';
import { PartialKeyRouter } from '../../src/grouping/partial-key.ts';
import { completeTopology } from '../../src/testing/index.ts';
import type { FixedTuples } from '../../src/testing/index.ts';
import { DIRECT_SPOUT_TUPLES, RECV_PARALLELISM } from '../fixtures/topologies/groupings.ts';
import { MODES, loadFixture, planFor } from '../support/modes.ts';
import type { Mode } from '../support/modes.ts';

/**
 * Each grouping's contract, end to end: a real topology run to completion
 * in each mode, where the receiving bolt 'recv' emits [its task id, ...input
 * values], so the emitted tuples show which task received what (see
 * test/fixtures/topologies/groupings.ts). Task ids come from the plan and are
 * the same in every mode, so where a grouping is deterministic the test
 * checks the exact task against a model, which makes the results identical
 * across modes; shuffle draws from each host's own random source, so its
 * test checks balance instead.
 */

/** A grouping run's real-time budget: a threaded run spends ~1 s starting its workers. */
const TIMEOUT_MS = 15_000;

interface Received {
  /** recv's task ids, ascending. */
  tasks: readonly number[];
  /** Values received (without the task tag) per task id; every task of recv has an entry. */
  byTask: Map<number, unknown[][]>;
  /** Every [task, ...values] recv emitted. */
  tagged: unknown[][];
}

function received(topology: Topology, mode: Mode, emitted: unknown[][]): Received {
  const tasks = planFor(topology, mode).componentTasks.get('recv')!;
  const byTask = new Map<number, unknown[][]>(tasks.map((t) => [t, []]));
  for (const [task, ...values] of emitted) {
    const list = byTask.get(task as number);
    if (list === undefined) throw new Error(`task ${String(task)} is not a task of recv`);
    list.push(values);
  }
  return { tasks, byTask, tagged: emitted };
}

/** Run the fixture topology `exportName` on `tuples` from 'source'; every tuple must be acked. */
async function runGrouping(mode: Mode, exportName: string, tuples: unknown[][]): Promise<Received & { topology: Topology }> {
  const topology = await loadFixture('groupings.ts', exportName);
  const result = await completeTopology(topology, { threads: mode.threads, mockedSources: { source: tuples }, timeoutMs: TIMEOUT_MS });
  expect(result.errors).toEqual([]);
  const source = result.metrics.components.find((c) => c.id === 'source')!;
  expect(source.acked).toBe(tuples.length);
  return { topology, ...received(topology, mode, result.emitted('recv')) };
}

/** The tasks each key reached. */
function tasksPerKey(r: Received, keyOf: (values: unknown[]) => string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const [task, values] of r.byTask) {
    for (const v of values) {
      const k = keyOf(v);
      let s = out.get(k);
      if (!s) out.set(k, (s = new Set()));
      s.add(task);
    }
  }
  return out;
}

function counts(r: Received): number[] {
  return r.tasks.map((t) => r.byTask.get(t)!.length);
}

/** n tuples [key, i] over `keys` keys. */
function keyed(n: number, keys: number): unknown[][] {
  return Array.from({ length: n }, (_, i) => [`k${(i * 7919) % keys}`, i]);
}

/** The model of fields grouping: the task the documented fields hash picks. */
function fieldsTask(tasks: readonly number[], values: readonly unknown[], fieldIndexes: readonly number[]): number {
  return tasks[fieldsHash(values, fieldIndexes) % tasks.length]!;
}

describe.each(MODES)('groupings through a running topology ($mode)', (mode) => {
  it('fields: sends each key to the one task its fields hash picks, over 4,000 tuples and 4 tasks', async () => {
    const tuples = keyed(4_000, 257);
    const r = await runGrouping(mode, 'fieldsTopology', tuples);
    const perKey = tasksPerKey(r, (v) => v[0] as string);
    expect(perKey.size).toBe(257);
    for (const [key, tasks] of perKey) expect([...tasks]).toEqual([fieldsTask(r.tasks, [key], [0])]);
    // Every tuple arrived once, and the keys are spread over every task.
    expect(counts(r).reduce((a, b) => a + b, 0)).toBe(tuples.length);
    for (const c of counts(r)) expect(c).toBeGreaterThan(0);
  });

  it('fields: groups on the pair of two fields, not on either one alone', async () => {
    const tuples = Array.from({ length: 3_000 }, (_, i) => [`a${i % 10}`, i % 13, i]);
    const r = await runGrouping(mode, 'fieldsPairTopology', tuples);
    const perPair = tasksPerKey(r, (v) => JSON.stringify([v[0], v[1]]));
    expect(perPair.size).toBe(130);
    for (const [pair, tasks] of perPair) expect([...tasks]).toEqual([fieldsTask(r.tasks, JSON.parse(pair) as unknown[], [0, 1])]);
    // 'b' takes part in the hash: some value of 'a' alone reaches several tasks.
    const perA = tasksPerKey(r, (v) => v[0] as string);
    expect([...perA.values()].some((tasks) => tasks.size > 1)).toBe(true);
  });

  it('shuffle: gives each of 4 tasks exactly k of k*4 tuples from one spout task', async () => {
    const r = await runGrouping(mode, 'shuffleTopology', keyed(4_000, 10));
    expect(counts(r)).toEqual([1_000, 1_000, 1_000, 1_000]);
  });

  it('shuffle: stays within one of even when the total does not divide', async () => {
    const r = await runGrouping(mode, 'shuffleTopology', keyed(4_002, 10));
    for (const c of counts(r)) expect(Math.abs(c - 4_002 / 4)).toBeLessThanOrEqual(1);
  });

  it('global: sends every tuple to the lowest task id', async () => {
    const r = await runGrouping(mode, 'globalTopology', keyed(1_000, 10));
    const lowest = Math.min(...r.tasks);
    expect(r.byTask.get(lowest)).toHaveLength(1_000);
    expect(counts(r)).toEqual([1_000, 0, 0, 0]);
  });

  it('all: gives every task every tuple', async () => {
    const tuples = keyed(500, 10);
    const r = await runGrouping(mode, 'allTopology', tuples);
    for (const t of r.tasks) expect(r.byTask.get(t)!.map((v) => v[1]).sort((a, b) => (a as number) - (b as number))).toEqual(tuples.map((v) => v[1]));
  });

  it('none: spreads like shuffle, exactly balanced', async () => {
    const r = await runGrouping(mode, 'noneTopology', keyed(4_000, 10));
    expect(counts(r)).toEqual([1_000, 1_000, 1_000, 1_000]);
  });

  it("localOrShuffle: balances over the tasks on the source's host and sends nothing to other hosts", async () => {
    const r = await runGrouping(mode, 'localOrShuffleTopology', keyed(4_000, 10));
    const plan = planFor(r.topology, mode);
    const sourceHost = plan.hostOfTask[plan.componentTasks.get('source')![0]!];
    const local = r.tasks.filter((t) => plan.hostOfTask[t] === sourceHost);
    if (mode.threads > 1) {
      // Some of recv run beside the source and some elsewhere, or this would not test the difference.
      expect(local.length).toBeGreaterThan(0);
      expect(local.length).toBeLessThan(RECV_PARALLELISM);
    } else {
      expect(local).toEqual(r.tasks);
    }
    for (const t of r.tasks) {
      const got = r.byTask.get(t)!.length;
      if (local.includes(t)) expect(Math.abs(got - 4_000 / local.length)).toBeLessThanOrEqual(1);
      else expect(got).toBe(0);
    }
  });

  it('partialKey: sends each key to at most two tasks, splitting a hot key over two', async () => {
    // One hot key carries half the tuples; 40 cold keys share the rest.
    const tuples = Array.from({ length: 4_000 }, (_, i) => [i % 2 === 0 ? 'hot' : `cold${i % 40}`, i]);
    const r = await runGrouping(mode, 'partialKeyTopology', tuples);
    const perKey = tasksPerKey(r, (v) => v[0] as string);
    expect(perKey.size).toBe(21);
    for (const [, tasks] of perKey) expect(tasks.size).toBeLessThanOrEqual(2);
    expect(perKey.get('hot')!.size).toBe(2);
    // Balance is the point: no task carries the whole hot key.
    for (const c of counts(r)) expect(c).toBeLessThan(2_000);
    // One source task routes in emit order, so every tuple lands where the router model puts it, in every mode.
    const model = new PartialKeyRouter(r.tasks, [0]);
    const want = new Map(tuples.map((v) => [v[1] as number, model.chooseTasks(v)[0]]));
    for (const [task, , n] of r.tagged) expect(task).toBe(want.get(n as number));
  });

  it('custom: sends odd values to the first task and even ones to the last', async () => {
    const r = await runGrouping(mode, 'customTopology', keyed(1_000, 10));
    const [first, second, third, last] = r.tasks;
    expect(r.byTask.get(first!)!.map((v) => v[1] as number).every((n) => n % 2 === 1)).toBe(true);
    expect(r.byTask.get(last!)!.map((v) => v[1] as number).every((n) => n % 2 === 0)).toBe(true);
    expect(counts(r)).toEqual([500, 0, 0, 500]);
    expect(r.byTask.get(second!)).toEqual([]);
    expect(r.byTask.get(third!)).toEqual([]);
  });
});

describe.each(MODES)('direct grouping through a running topology ($mode)', (mode) => {
  it('delivers emitDirect only to the named task', async () => {
    const topology = await loadFixture('groupings.ts', 'directTopology');
    const named = planFor(topology, mode).componentTasks.get('recv')![2]!;
    const tuples: FixedTuples = Array.from({ length: 1_000 }, (_, i) => [i, named]);
    const result = await completeTopology(topology, { threads: mode.threads, mockedSources: { source: tuples }, timeoutMs: TIMEOUT_MS });
    expect(result.errors).toEqual([]);
    const r = received(topology, mode, result.emitted('recv'));
    expect(counts(r)).toEqual([0, 0, 1_000, 0]);
    expect(r.byTask.get(named)!.map((v) => v[0])).toEqual(tuples.map((v) => v[0]));
  });

  it('delivers each emitDirect to the task it names, and to no other', async () => {
    const topology = await loadFixture('groupings.ts', 'directTopology');
    const tasks = planFor(topology, mode).componentTasks.get('recv')!;
    const tuples: [number, number][] = Array.from({ length: 2_000 }, (_, i) => [i, tasks[(i * 31) % tasks.length]!]);
    const result = await completeTopology(topology, { threads: mode.threads, mockedSources: { source: tuples }, timeoutMs: TIMEOUT_MS });
    expect(result.errors).toEqual([]);
    const want = new Map(tuples.map(([n, target]) => [n, target]));
    const r = received(topology, mode, result.emitted('recv'));
    expect(r.tagged).toHaveLength(tuples.length);
    for (const [task, n] of r.tagged) expect(task).toBe(want.get(n as number));
  });

  it("delivers a spout's emitDirect only to the named task", async () => {
    const topology = await loadFixture('groupings.ts', 'directSpoutTopology');
    const tasks = planFor(topology, mode).componentTasks.get('recv')!;
    const result = await completeTopology(topology, { threads: mode.threads, config: { target: tasks[tasks.length - 1]! }, timeoutMs: TIMEOUT_MS });
    expect(result.errors).toEqual([]);
    expect(counts(received(topology, mode, result.emitted('recv')))).toEqual([0, 0, 0, DIRECT_SPOUT_TUPLES]);
  });
});
