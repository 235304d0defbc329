import { describe, expect, it } from 'vitest';
import { BasicBolt, TopologyBuilder, planTopology } from '../../src/index.ts';
import type {
  BasicOutputCollector,
  CustomGrouping,
  InputDeclarer,
  OutputDeclarer,
  Spout,
  SpoutOutputCollector,
  Topology,
  TopologyContext,
  Tuple,
} from '../../src/index.ts';
import { FixedTupleSpout, completeTopology } from '../../src/testing/index.ts';
import type { FixedTuples } from '../../src/testing/index.ts';

/**
 * Each grouping's contract, end to end: a real topology run to completion,
 * where the receiving bolt 'recv' emits [its task id, ...input values], so
 * the emitted tuples show which task received what.
 */

const PARALLELISM = 4;

/** Emits [taskId, ...values] for every input. */
class TagWithTask extends BasicBolt {
  private taskId = 0;
  constructor(private readonly fields: readonly string[]) {
    super();
  }
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['task', ...this.fields]);
  }
  override prepare(context: TopologyContext): void {
    this.taskId = context.taskId;
  }
  execute(input: Tuple, out: BasicOutputCollector): void {
    out.emit([this.taskId, ...input.values]);
  }
}

interface Received {
  /** recv's task ids, ascending. */
  tasks: readonly number[];
  /** Values received (without the task tag) per task id; every task of recv has an entry. */
  byTask: Map<number, unknown[][]>;
  /** Every [task, ...values] recv emitted. */
  tagged: unknown[][];
}

function received(topology: Topology, emitted: unknown[][]): Received {
  const tasks = planTopology(topology).componentTasks.get('recv')!;
  const byTask = new Map<number, unknown[][]>(tasks.map((t) => [t, []]));
  for (const [task, ...values] of emitted) {
    const list = byTask.get(task as number);
    if (list === undefined) throw new Error(`task ${String(task)} is not a task of recv`);
    list.push(values);
  }
  return { tasks, byTask, tagged: emitted };
}

/** source (fixed tuples with `fields`) → recv (PARALLELISM tasks), wired by `wire`. */
async function runGrouping(
  tuples: unknown[][],
  fields: readonly string[],
  wire: (recv: InputDeclarer) => void,
): Promise<Received> {
  const b = new TopologyBuilder('groupings');
  b.setSpout('source', () => new FixedTupleSpout(tuples, { default: fields }));
  wire(b.setBolt('recv', () => new TagWithTask(fields), { parallelism: PARALLELISM }));
  const topology = b.build();
  const result = await completeTopology(topology, { timeoutMs: 5_000 });
  expect(result.errors).toEqual([]);
  const source = result.metrics.components.find((c) => c.id === 'source')!;
  expect(source.acked).toBe(tuples.length);
  return received(topology, result.emitted('recv'));
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

const KV = ['key', 'n'] as const;

describe('groupings through a running topology', () => {
  it('fields: sends equal keys to the same task, over 4,000 tuples and 4 tasks', async () => {
    const tuples = keyed(4_000, 257);
    const r = await runGrouping(tuples, KV, (recv) => recv.fieldsGrouping('source', ['key']));
    const perKey = tasksPerKey(r, (v) => v[0] as string);
    expect(perKey.size).toBe(257);
    for (const [, tasks] of perKey) expect(tasks.size).toBe(1);
    // Every tuple arrived once, and the keys are spread over every task.
    expect(counts(r).reduce((a, b) => a + b, 0)).toBe(tuples.length);
    for (const c of counts(r)) expect(c).toBeGreaterThan(0);
  });

  it('fields: groups on the pair of two fields, not on either one alone', async () => {
    const tuples = Array.from({ length: 3_000 }, (_, i) => [`a${i % 10}`, i % 13, i]);
    const r = await runGrouping(tuples, ['a', 'b', 'n'], (recv) => recv.fieldsGrouping('source', ['a', 'b']));
    const perPair = tasksPerKey(r, (v) => `${String(v[0])}|${String(v[1])}`);
    expect(perPair.size).toBe(130);
    for (const [, tasks] of perPair) expect(tasks.size).toBe(1);
    // 'b' takes part in the hash: some value of 'a' alone reaches several tasks.
    const perA = tasksPerKey(r, (v) => v[0] as string);
    expect([...perA.values()].some((tasks) => tasks.size > 1)).toBe(true);
  });

  it('shuffle: gives each of 4 tasks exactly k of k*4 tuples from one spout task', async () => {
    const r = await runGrouping(keyed(4_000, 10), KV, (recv) => recv.shuffleGrouping('source'));
    expect(counts(r)).toEqual([1_000, 1_000, 1_000, 1_000]);
  });

  it('shuffle: stays within one of even when the total does not divide', async () => {
    const r = await runGrouping(keyed(4_002, 10), KV, (recv) => recv.shuffleGrouping('source'));
    for (const c of counts(r)) expect(Math.abs(c - 4_002 / 4)).toBeLessThanOrEqual(1);
  });

  it('global: sends every tuple to the lowest task id', async () => {
    const r = await runGrouping(keyed(1_000, 10), KV, (recv) => recv.globalGrouping('source'));
    const lowest = Math.min(...r.tasks);
    expect(r.byTask.get(lowest)).toHaveLength(1_000);
    expect(counts(r)).toEqual([1_000, 0, 0, 0]);
  });

  it('all: gives every task every tuple', async () => {
    const tuples = keyed(500, 10);
    const r = await runGrouping(tuples, KV, (recv) => recv.allGrouping('source'));
    for (const t of r.tasks) expect(r.byTask.get(t)!.map((v) => v[1]).sort((a, b) => (a as number) - (b as number))).toEqual(tuples.map((v) => v[1]));
  });

  it('none: spreads like shuffle, exactly balanced', async () => {
    const r = await runGrouping(keyed(4_000, 10), KV, (recv) => recv.noneGrouping('source'));
    expect(counts(r)).toEqual([1_000, 1_000, 1_000, 1_000]);
  });

  it('localOrShuffle: on one host every task is local, so it balances like shuffle', async () => {
    const r = await runGrouping(keyed(4_000, 10), KV, (recv) => recv.localOrShuffleGrouping('source'));
    expect(counts(r)).toEqual([1_000, 1_000, 1_000, 1_000]);
  });

  it('partialKey: sends each key to at most two tasks, splitting a hot key over two', async () => {
    // One hot key carries half the tuples; 40 cold keys share the rest.
    const tuples = Array.from({ length: 4_000 }, (_, i) => [i % 2 === 0 ? 'hot' : `cold${i % 40}`, i]);
    const r = await runGrouping(tuples, KV, (recv) => recv.partialKeyGrouping('source', ['key']));
    const perKey = tasksPerKey(r, (v) => v[0] as string);
    expect(perKey.size).toBe(21);
    for (const [, tasks] of perKey) expect(tasks.size).toBeLessThanOrEqual(2);
    expect(perKey.get('hot')!.size).toBe(2);
    // Balance is the point: no task carries the whole hot key.
    for (const c of counts(r)) expect(c).toBeLessThan(2_000);
  });

  it('custom: sends odd values to the first task and even ones to the last', async () => {
    let targets: readonly number[] = [];
    const oddFirst: CustomGrouping = {
      prepare(ctx) {
        targets = ctx.targetTasks;
      },
      chooseTasks(values) {
        return [(values[1] as number) % 2 === 1 ? targets[0]! : targets[targets.length - 1]!];
      },
    };
    const r = await runGrouping(keyed(1_000, 10), KV, (recv) => recv.customGrouping('source', oddFirst));
    const [first, second, third, last] = r.tasks;
    expect(r.byTask.get(first!)!.map((v) => v[1] as number).every((n) => n % 2 === 1)).toBe(true);
    expect(r.byTask.get(last!)!.map((v) => v[1] as number).every((n) => n % 2 === 0)).toBe(true);
    expect(counts(r)).toEqual([500, 0, 0, 500]);
    expect(r.byTask.get(second!)).toEqual([]);
    expect(r.byTask.get(third!)).toEqual([]);
  });
});

describe('direct grouping through a running topology', () => {
  /** Emits [n] for each input to the task named by its 'target' field, on the direct stream 'routed'. */
  class Dispatch extends BasicBolt {
    declareOutputFields(d: OutputDeclarer): void {
      d.declareStream('routed', ['n'], { direct: true });
    }
    execute(input: Tuple, out: BasicOutputCollector): void {
      out.emitDirect(input.getNumber('target'), 'routed', [input.getNumber('n')]);
    }
  }

  function dispatchTopology(): Topology {
    const b = new TopologyBuilder('direct');
    b.setSpout('source', () => new FixedTupleSpout([], { default: ['n', 'target'] }));
    b.setBolt('dispatch', () => new Dispatch()).shuffleGrouping('source');
    b.setBolt('recv', () => new TagWithTask(['n']), { parallelism: PARALLELISM }).directGrouping('dispatch', 'routed');
    return b.build();
  }

  it('delivers emitDirect only to the named task', async () => {
    const topology = dispatchTopology();
    const tasks = planTopology(topology).componentTasks.get('recv')!;
    const named = tasks[2]!;
    const tuples: FixedTuples = Array.from({ length: 1_000 }, (_, i) => [i, named]);
    const result = await completeTopology(topology, { mockedSources: { source: tuples }, timeoutMs: 5_000 });
    expect(result.errors).toEqual([]);
    const r = received(topology, result.emitted('recv'));
    expect(counts(r)).toEqual([0, 0, 1_000, 0]);
    expect(r.byTask.get(named)!.map((v) => v[0])).toEqual(tuples.map((v) => v[0]));
  });

  it('delivers each emitDirect to the task it names, and to no other', async () => {
    const topology = dispatchTopology();
    const tasks = planTopology(topology).componentTasks.get('recv')!;
    const tuples: [number, number][] = Array.from({ length: 2_000 }, (_, i) => [i, tasks[(i * 31) % tasks.length]!]);
    const result = await completeTopology(topology, { mockedSources: { source: tuples }, timeoutMs: 5_000 });
    expect(result.errors).toEqual([]);
    const want = new Map(tuples.map(([n, target]) => [n, target]));
    const r = received(topology, result.emitted('recv'));
    expect(r.tagged).toHaveLength(tuples.length);
    for (const [task, n] of r.tagged) expect(task).toBe(want.get(n as number));
  });

  it("delivers a spout's emitDirect only to the named task", async () => {
    let target = 0;
    class DirectSpout implements Spout {
      private collector!: SpoutOutputCollector;
      private i = 0;
      acked = 0;
      declareOutputFields(d: OutputDeclarer): void {
        d.declareStream('routed', ['n'], { direct: true });
      }
      open(_context: TopologyContext, collector: SpoutOutputCollector): void {
        this.collector = collector;
      }
      nextTuple(): void {
        if (this.i < 500) this.collector.emitDirect(target, 'routed', [this.i], this.i++);
      }
      ack(): void {
        this.acked++;
      }
      isDone(): boolean {
        return this.acked === 500;
      }
    }
    const b = new TopologyBuilder('direct-spout');
    b.setSpout('source', () => new DirectSpout());
    b.setBolt('recv', () => new TagWithTask(['n']), { parallelism: PARALLELISM }).directGrouping('source', 'routed');
    const topology = b.build();
    const tasks = planTopology(topology).componentTasks.get('recv')!;
    target = tasks[tasks.length - 1]!;
    const result = await completeTopology(topology, { timeoutMs: 5_000 });
    expect(result.errors).toEqual([]);
    expect(counts(received(topology, result.emitted('recv')))).toEqual([0, 0, 0, 500]);
  });
});
