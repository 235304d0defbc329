import { describe, expect, it } from 'vitest';
import { SquallError, TopologyBuilder, custom, isSquallError, submit } from '../../src/index.ts';
import type { CustomGrouping, GroupingSpec, ReportedError } from '../../src/index.ts';
import type { BoltFactory, SpoutFactory } from '../../src/topology/index.ts';
import { completeTopology } from '../../src/testing/index.ts';
import type { CompleteResult } from '../../src/testing/index.ts';
import { HEARD_STREAM, SilentBolt, SilentSpout } from '../fixtures/topologies/components.ts';
import type { BoltScriptName, SpoutScriptName } from '../fixtures/topologies/emit-errors.ts';
import { MODES, loadFixture, planFor } from '../support/modes.ts';

/** The SquallError `fn` throws; fails the test if it throws nothing or something else. */
function thrownBy(fn: () => unknown): SquallError {
  try {
    fn();
  } catch (err) {
    if (!isSquallError(err)) throw new Error(`expected a SquallError, got ${String(err)}`, { cause: err });
    return err;
  }
  throw new Error('expected a SquallError, nothing was thrown');
}

interface Expected {
  code: string;
  component?: string;
  stream?: string;
  /** Substrings the message must contain: the names involved. */
  names?: string[];
  /** What the message tells the user to do. */
  advice?: RegExp;
}

/** Checks a thrown SquallError, or an error as a run reports it (the same fields, as plain data). */
function expectError(e: SquallError | ReportedError, want: Expected): void {
  expect(e.code).toBe(want.code);
  if ('component' in want) expect(e.component).toBe(want.component);
  if ('stream' in want) expect(e.stream).toBe(want.stream);
  for (const name of want.names ?? []) expect(e.message).toContain(name);
  if (want.advice) expect(e.message).toMatch(want.advice);
}

const spout: SpoutFactory = () => new SilentSpout();
const bolt: BoltFactory = () => new SilentBolt();

describe('topology validation at build time', () => {
  it('rejects two components with the same id (E_DUPLICATE_ID)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('count', spout);
    b.setBolt('count', bolt).shuffleGrouping('count');
    expectError(thrownBy(() => b.build()), {
      code: 'E_DUPLICATE_ID',
      component: 'count',
      names: ["'count'"],
      advice: /must be unique/,
    });
  });

  it('rejects a component id beginning with __ (E_RESERVED_ID)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('__mine', bolt).shuffleGrouping('numbers');
    expectError(thrownBy(() => b.build()), {
      code: 'E_RESERVED_ID',
      component: '__mine',
      names: ["'__mine'"],
      advice: /rename it/,
    });
  });

  it('rejects a spout named like the system acker (E_RESERVED_ID)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('__acker', spout);
    expectError(thrownBy(() => b.build()), { code: 'E_RESERVED_ID', component: '__acker', advice: /rename it/ });
  });

  it('rejects a declared stream id beginning with __ (E_RESERVED_ID)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => new SilentSpout({ __tick: { fields: ['n'] } }));
    expectError(thrownBy(() => b.build()), {
      code: 'E_RESERVED_ID',
      component: 'numbers',
      stream: '__tick',
      names: ["'numbers'", "'__tick'"],
      advice: /rename it/,
    });
  });

  it('rejects an empty component id (E_INVALID_ID)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('', spout);
    expectError(thrownBy(() => b.build()), { code: 'E_INVALID_ID', advice: /give every component a name/ });
  });

  it('rejects a blank component id (E_INVALID_ID)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('  ', bolt).shuffleGrouping('numbers');
    expectError(thrownBy(() => b.build()), { code: 'E_INVALID_ID', names: ['bolt'] });
  });

  it('rejects an empty stream id (E_INVALID_ID)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => new SilentSpout({ '': { fields: ['n'] } }));
    expectError(thrownBy(() => b.build()), { code: 'E_INVALID_ID', component: 'numbers', names: ["'numbers'"] });
  });

  it('rejects an empty topology name (E_INVALID_ID)', () => {
    const b = new TopologyBuilder('');
    b.setSpout('numbers', spout);
    expectError(thrownBy(() => b.build()), { code: 'E_INVALID_ID', advice: /new TopologyBuilder\(/ });
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects parallelism %s (E_BAD_PARALLELISM)', (parallelism) => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('split', bolt, { parallelism }).shuffleGrouping('numbers');
    expectError(thrownBy(() => b.build()), {
      code: 'E_BAD_PARALLELISM',
      component: 'split',
      names: ["'split'", String(parallelism)],
      advice: /whole number of tasks, at least 1/,
    });
  });

  it('rejects a spout given an input (E_SPOUT_INPUT)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setSpout('letters', spout).shuffleGrouping('numbers');
    expectError(thrownBy(() => b.build()), {
      code: 'E_SPOUT_INPUT',
      component: 'letters',
      names: ["'letters'"],
      advice: /make 'letters' a bolt \(setBolt\)/,
    });
  });

  it('rejects a subscription to a component that does not exist (E_UNKNOWN_COMPONENT)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('split', bolt).shuffleGrouping('numbrs');
    expectError(thrownBy(() => b.build()), {
      code: 'E_UNKNOWN_COMPONENT',
      component: 'split',
      stream: 'default',
      names: ["'split'", "'numbrs'"],
      advice: /known components: numbers, split/,
    });
  });

  it('rejects a subscription to a stream the source does not declare (E_UNKNOWN_STREAM)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => new SilentSpout({ default: { fields: ['n'] }, odd: { fields: ['n'] } }));
    b.setBolt('split', bolt).shuffleGrouping('numbers', 'even');
    expectError(thrownBy(() => b.build()), {
      code: 'E_UNKNOWN_STREAM',
      component: 'split',
      stream: 'even',
      names: ["'split'", "'even'", "'numbers'"],
      advice: /it declares: default, odd/,
    });
  });

  it('rejects a fields grouping on an undeclared field (E_UNKNOWN_FIELD)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', bolt).fieldsGrouping('numbers', ['word']);
    expectError(thrownBy(() => b.build()), {
      code: 'E_UNKNOWN_FIELD',
      component: 'count',
      stream: 'default',
      names: ["'count'", "'word'", "'numbers'"],
      advice: /its fields are: key, n/,
    });
  });

  it('rejects a partialKey grouping on an undeclared field (E_UNKNOWN_FIELD)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', bolt).partialKeyGrouping('numbers', ['key', 'word']);
    expectError(thrownBy(() => b.build()), {
      code: 'E_UNKNOWN_FIELD',
      component: 'count',
      stream: 'default',
      names: ["'word'"],
      advice: /its fields are: key, n/,
    });
  });

  it('rejects a declared field that is an empty string (E_UNKNOWN_FIELD)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => new SilentSpout({ default: { fields: ['key', ''] } }));
    expectError(thrownBy(() => b.build()), {
      code: 'E_UNKNOWN_FIELD',
      component: 'numbers',
      stream: 'default',
      advice: /non-empty strings/,
    });
  });

  it('rejects direct grouping on a stream that is not direct (E_DIRECT_GROUPING)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', bolt).directGrouping('numbers');
    expectError(thrownBy(() => b.build()), {
      code: 'E_DIRECT_GROUPING',
      component: 'count',
      stream: 'default',
      names: ["'count'", "'numbers'"],
      advice: /declare it with \{ direct: true \}/,
    });
  });

  it('rejects a non-direct grouping on a direct stream (E_DIRECT_GROUPING)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => new SilentSpout({ routed: { fields: ['n'], direct: true } }));
    b.setBolt('count', bolt).shuffleGrouping('numbers', 'routed');
    expectError(thrownBy(() => b.build()), {
      code: 'E_DIRECT_GROUPING',
      component: 'count',
      stream: 'routed',
      names: ["'routed'", "'count'"],
      advice: /must subscribe with directGrouping\(\)/,
    });
  });

  it('rejects a custom grouping without chooseTasks (E_BAD_GROUPING)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', bolt).customGrouping('numbers', {} as CustomGrouping);
    expectError(thrownBy(() => b.build()), {
      code: 'E_BAD_GROUPING',
      component: 'count',
      stream: 'default',
      names: ["'count'", "'numbers'"],
      advice: /chooseTasks\(values\)/,
    });
  });

  it('rejects custom({}) when the grouping spec is made (E_BAD_GROUPING)', () => {
    expectError(thrownBy(() => custom({} as CustomGrouping)), { code: 'E_BAD_GROUPING', advice: /chooseTasks\(values\) method/ });
  });

  it('rejects a fields grouping that names no field (E_BAD_GROUPING)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', bolt).fieldsGrouping('numbers', []);
    expectError(thrownBy(() => b.build()), { code: 'E_BAD_GROUPING', component: 'count', advice: /name at least one of: key, n/ });
  });

  it('rejects a grouping of unknown type (E_BAD_GROUPING)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', bolt).grouping('numbers', { type: 'roundRobin' } as unknown as GroupingSpec);
    expectError(thrownBy(() => b.build()), { code: 'E_BAD_GROUPING', component: 'count', advice: /use one of shuffle, fields/ });
  });

  it('rejects a topology with no spout (E_TOPOLOGY_EMPTY)', () => {
    const b = new TopologyBuilder('lonely');
    b.setBolt('count', bolt);
    expectError(thrownBy(() => b.build()), { code: 'E_TOPOLOGY_EMPTY', names: ["'lonely'"], advice: /add one with setSpout\(\)/ });
  });

  it('rejects a topology with no components at all (E_TOPOLOGY_EMPTY)', () => {
    expectError(thrownBy(() => new TopologyBuilder('nothing').build()), { code: 'E_TOPOLOGY_EMPTY' });
  });

  it('rejects a factory that is not a function (E_BAD_FACTORY)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', new SilentSpout() as unknown as SpoutFactory);
    expectError(thrownBy(() => b.build()), {
      code: 'E_BAD_FACTORY',
      component: 'numbers',
      names: ["'numbers'", 'object'],
      advice: /\(\) => new MySpout\(\)/,
    });
  });

  it('rejects a factory that throws, keeping the cause (E_BAD_FACTORY)', () => {
    const b = new TopologyBuilder('t');
    const boom = new Error('no database');
    b.setSpout('numbers', () => {
      throw boom;
    });
    const err = thrownBy(() => b.build());
    expectError(err, {
      code: 'E_BAD_FACTORY',
      component: 'numbers',
      names: ["'numbers'", 'no database'],
      advice: /open resources in open\(\)/,
    });
    expect(err.cause).toBe(boom);
  });

  it('tells a bolt whose factory throws to open resources in prepare() (E_BAD_FACTORY)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', () => {
      throw new Error('no database');
    });
    expectError(thrownBy(() => b.build()), { code: 'E_BAD_FACTORY', component: 'count', advice: /prepare\(\)/ });
  });

  it('rejects a spout factory whose object has no nextTuple (E_BAD_FACTORY)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => ({ declareOutputFields() {} }) as unknown as SilentSpout);
    expectError(thrownBy(() => b.build()), {
      code: 'E_BAD_FACTORY',
      component: 'numbers',
      names: ["'numbers'"],
      advice: /declareOutputFields\(\) and nextTuple\(\)/,
    });
  });

  it('rejects a bolt factory whose object has no execute (E_BAD_FACTORY)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', () => ({ declareOutputFields() {}, prepare() {} }) as unknown as SilentBolt);
    expectError(thrownBy(() => b.build()), {
      code: 'E_BAD_FACTORY',
      component: 'count',
      advice: /declareOutputFields\(\) and execute\(\)/,
    });
  });

  it('rejects a factory that returns nothing (E_BAD_FACTORY)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', (() => undefined) as unknown as SpoutFactory);
    expectError(thrownBy(() => b.build()), { code: 'E_BAD_FACTORY', component: 'numbers' });
  });

  it('rejects a plain bolt without prepare (E_BAD_FACTORY)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', () => ({ declareOutputFields() {}, execute() {} }) as unknown as SilentBolt);
    expectError(thrownBy(() => b.build()), { code: 'E_BAD_FACTORY', component: 'count', advice: /extend BasicBolt/ });
  });

  it('rejects a stream declared twice (E_DUPLICATE_STREAM)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => ({
      declareOutputFields(d) {
        d.declareStream('odd', ['n']);
        d.declareStream('odd', ['n', 'm']);
      },
      open() {},
      nextTuple() {},
    }));
    expectError(thrownBy(() => b.build()), {
      code: 'E_DUPLICATE_STREAM',
      component: 'numbers',
      stream: 'odd',
      names: ["'numbers'", "'odd'"],
      advice: /declare each stream once/,
    });
  });

  it('rejects declare() together with declareStream("default") (E_DUPLICATE_STREAM)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => ({
      declareOutputFields(d) {
        d.declare(['n']);
        d.declareStream('default', ['n']);
      },
      open() {},
      nextTuple() {},
    }));
    expectError(thrownBy(() => b.build()), { code: 'E_DUPLICATE_STREAM', component: 'numbers', stream: 'default' });
  });

  it('rejects a stream that declares a field twice (E_DUPLICATE_FIELD)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', () => new SilentBolt({ counts: { fields: ['word', 'n', 'word'] } })).shuffleGrouping('numbers');
    expectError(thrownBy(() => b.build()), {
      code: 'E_DUPLICATE_FIELD',
      component: 'count',
      stream: 'counts',
      names: ["'count'", "'counts'"],
      advice: /field names must be unique/,
    });
  });

  it.each([
    ['messageTimeoutMs', 0],
    ['ackers', -1],
    ['maxSpoutPending', 0],
    ['mailboxCapacity', 2.5],
    ['killWaitMs', -1],
    ['spoutIdleMaxMs', 0],
  ])('rejects config %s = %s when built (E_BAD_CONFIG)', (key, value) => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    const err = thrownBy(() => b.build({ [key]: value }));
    expectError(err, { code: 'E_BAD_CONFIG', names: [key], advice: /it must be a whole number, at least/ });
    expect(err.details).toEqual({ key, value });
  });

  it('rejects a config value of the wrong type (E_BAD_CONFIG)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    expectError(thrownBy(() => b.build({ ackers: '2' as unknown as number })), { code: 'E_BAD_CONFIG', names: ['ackers', '"2"'] });
  });

  it('rejects a negative tick frequency, naming the bolt (E_BAD_CONFIG)', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    b.setBolt('count', bolt, { tickFrequencyMs: -5 }).shuffleGrouping('numbers');
    expectError(thrownBy(() => b.build()), { code: 'E_BAD_CONFIG', component: 'count', advice: /or 0 for no ticks/ });
  });

  it("rejects a bad config given as submit's override (E_BAD_CONFIG)", async () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', spout);
    const topology = b.build();
    const rejection = submit(topology, { config: { messageTimeoutMs: 0 } });
    await expect(rejection).rejects.toMatchObject({ code: 'E_BAD_CONFIG', details: { key: 'messageTimeoutMs', value: 0 } });
    await expect(submit(topology, { config: { ackers: -1 } })).rejects.toMatchObject({ code: 'E_BAD_CONFIG' });
  });

  it('accepts a valid topology using every grouping', () => {
    const b = new TopologyBuilder('t');
    b.setSpout('numbers', () => new SilentSpout({ default: { fields: ['key', 'n'] }, routed: { fields: ['n'], direct: true } }));
    b.setBolt('count', bolt, { parallelism: 2 })
      .shuffleGrouping('numbers')
      .fieldsGrouping('numbers', ['key'])
      .allGrouping('numbers')
      .globalGrouping('numbers')
      .noneGrouping('numbers')
      .localOrShuffleGrouping('numbers')
      .partialKeyGrouping('numbers', ['key', 'n'])
      .customGrouping('numbers', { chooseTasks: () => [] })
      .directGrouping('numbers', 'routed');
    const topology = b.build({ ackers: 0 });
    expect([...topology.components.keys()]).toEqual(['numbers', 'count']);
    expect(topology.config.ackers).toBe(0);
  });
});

// --- run time ---------------------------------------------------------------

const N = 20;
const numbers = Array.from({ length: N }, (_, i) => [`k${i % 3}`, i]);

/** A run's real-time budget: a threaded run spends about a second starting its workers. */
const TIMEOUT_MS = 15_000;

function metricsOf(result: CompleteResult, id: string) {
  const m = result.metrics.components.find((c) => c.id === id);
  if (m === undefined) throw new Error(`no metrics for '${id}'`);
  return m;
}

/** The one distinct error `component` reported. */
function reportedBy(result: CompleteResult, component: string): ReportedError {
  const reported = result.errors.filter((e) => e.component === component);
  expect(reported.map((e) => e.code)).toHaveLength(1);
  return reported[0]!;
}

/**
 * The bolt 'bad' reported its error once per input, with its code, and every
 * input failed back to the spout; returns the report.
 */
function expectEveryInputFailed(result: CompleteResult, code: string): ReportedError {
  const reported = reportedBy(result, 'bad');
  expect(reported.code).toBe(code);
  expect(reported.count).toBe(N);
  expect(metricsOf(result, 'bad').failed).toBe(N);
  const spout = metricsOf(result, 'numbers');
  expect(spout.failed).toBe(N);
  expect(spout.acked).toBe(0);
  expect(metricsOf(result, 'sink').executed).toBe(0);
  return reported;
}

/**
 * The errors reach the test as reports (code, stream, details and message as
 * plain data), the same from this thread and from a worker thread; the
 * components are in test/fixtures/topologies/emit-errors.ts.
 */
describe.each(MODES)('emit checks at run time ($mode)', (mode) => {
  const boltErrors = () => loadFixture('emit-errors.ts', 'boltErrorsTopology');

  /** Task ids by component, as the run will assign them. */
  async function tasksOf(component: string): Promise<readonly number[]> {
    return planFor(await boltErrors(), mode).componentTasks.get(component)!;
  }

  /** numbers (N fixed tuples) → bad, running `script` with `config` → sink. */
  async function runScripted(script: BoltScriptName, config: Record<string, unknown> = {}): Promise<CompleteResult> {
    return completeTopology(await boltErrors(), { threads: mode.threads, mockedSources: { numbers }, config: { script, ...config }, timeoutMs: TIMEOUT_MS });
  }

  it('reports an emit on an undeclared stream and fails the input (E_EMIT_UNDECLARED_STREAM)', async () => {
    const result = await runScripted('undeclaredStream');
    expectError(expectEveryInputFailed(result, 'E_EMIT_UNDECLARED_STREAM'), {
      code: 'E_EMIT_UNDECLARED_STREAM',
      component: 'bad',
      stream: 'odd',
      names: ["'bad'", "'odd'"],
      advice: /declare it in declareOutputFields \(declared: default, pair, routed\)/,
    });
  });

  it('reports emit() from a bolt that declares no default stream (E_EMIT_UNDECLARED_STREAM)', async () => {
    const topology = await loadFixture('emit-errors.ts', 'noDefaultTopology');
    const script: BoltScriptName = 'emitOne';
    const result = await completeTopology(topology, { threads: mode.threads, mockedSources: { numbers }, config: { script }, timeoutMs: TIMEOUT_MS });
    expect(result.errors.map((e) => e.code)).toEqual(['E_EMIT_UNDECLARED_STREAM']);
    expectError(result.errors[0]!, { code: 'E_EMIT_UNDECLARED_STREAM', component: 'bad', stream: 'default', advice: /declared: pair/ });
    expect(metricsOf(result, 'numbers').failed).toBe(N);
  });

  it('reports an emit with the wrong number of values and fails the input (E_EMIT_ARITY)', async () => {
    const result = await runScripted('tooFewValues');
    expectError(expectEveryInputFailed(result, 'E_EMIT_ARITY'), {
      code: 'E_EMIT_ARITY',
      component: 'bad',
      stream: 'pair',
      names: ["'bad'", "'pair'", '1 values', '2 fields (a, b)'],
      advice: /emit an array with one value per field/,
    });
  });

  it('reports an emit of a function, naming the field (E_EMIT_NOT_CLONEABLE)', async () => {
    const result = await runScripted('emitFunction');
    const reported = expectEveryInputFailed(result, 'E_EMIT_NOT_CLONEABLE');
    expectError(reported, {
      code: 'E_EMIT_NOT_CLONEABLE',
      component: 'bad',
      stream: 'pair',
      names: ["'bad'", "'pair'", "field 'b'"],
      advice: /create them in open\(\)\/prepare\(\)/,
    });
    expect(reported.details).toEqual({ field: 'b' });
  });

  it('reports an emit of a symbol, naming the field (E_EMIT_NOT_CLONEABLE)', async () => {
    const result = await runScripted('emitSymbol');
    expect(expectEveryInputFailed(result, 'E_EMIT_NOT_CLONEABLE').details).toEqual({ field: 'a' });
  });

  it('reports a value holding a function deep inside (E_EMIT_NOT_CLONEABLE)', async () => {
    const result = await runScripted('emitDeepFunction');
    const reported = expectEveryInputFailed(result, 'E_EMIT_NOT_CLONEABLE');
    expectError(reported, { code: 'E_EMIT_NOT_CLONEABLE', component: 'bad', stream: 'default' });
    expect(reported.details).toEqual({ field: 'n' });
  });

  it('reports emitDirect on a stream that is not direct (E_EMIT_DIRECT)', async () => {
    const sink = (await tasksOf('sink'))[0]!;
    const result = await runScripted('directOnDefault', { task: sink });
    expectError(expectEveryInputFailed(result, 'E_EMIT_DIRECT'), {
      code: 'E_EMIT_DIRECT',
      component: 'bad',
      stream: 'default',
      names: ["'bad'", "'default'"],
      advice: /declare it with \{ direct: true \} or use emit\(\)/,
    });
  });

  it('reports emit() on a direct stream (E_EMIT_DIRECT)', async () => {
    const result = await runScripted('emitOnDirect');
    expectError(expectEveryInputFailed(result, 'E_EMIT_DIRECT'), {
      code: 'E_EMIT_DIRECT',
      component: 'bad',
      stream: 'routed',
      names: ["'routed'"],
      advice: /emitDirect\(taskId, \.\.\.\)/,
    });
  });

  it('reports emitDirect to a task that does not subscribe (E_EMIT_BAD_TASK)', async () => {
    const spoutTask = (await tasksOf('numbers'))[0]!;
    const result = await runScripted('directToTask', { task: spoutTask });
    const reported = expectEveryInputFailed(result, 'E_EMIT_BAD_TASK');
    expectError(reported, {
      code: 'E_EMIT_BAD_TASK',
      component: 'bad',
      stream: 'routed',
      names: ["'bad'", `task ${spoutTask}`, "'routed'"],
      advice: /use context task ids of the subscribing bolt/,
    });
    expect(reported.details).toEqual({ task: spoutTask });
  });

  it.each([0, -1, 1.5, 9_999])('reports emitDirect to task id %s (E_EMIT_BAD_TASK)', async (task) => {
    const result = await runScripted('directToTask', { task });
    expectEveryInputFailed(result, 'E_EMIT_BAD_TASK');
  });

  it('delivers emitDirect to a subscribing task (the passing case of the checks above)', async () => {
    const sink = (await tasksOf('sink'))[0]!;
    const result = await runScripted('directToTask', { task: sink });
    expect(result.errors).toEqual([]);
    expect(metricsOf(result, 'sink').executed).toBe(N);
    expect(metricsOf(result, 'numbers').acked).toBe(N);
  });

  it('reports an emit anchored to an input acked earlier, failing the current input (E_EMIT_BAD_ANCHOR)', async () => {
    const result = await runScripted('anchorToFirst');
    const reported = reportedBy(result, 'bad');
    expect(reported.code).toBe('E_EMIT_BAD_ANCHOR');
    expect(reported.count).toBe(N - 1);
    const spout = metricsOf(result, 'numbers');
    expect(spout.acked).toBe(1);
    expect(spout.failed).toBe(N - 1);
    expectError(reported, {
      code: 'E_EMIT_BAD_ANCHOR',
      component: 'bad',
      stream: 'default',
      names: ["'bad'", 'already acked'],
      advice: /emit anchored tuples before acking the input/,
    });
  });

  it('reports an emit anchored to the input after acking it (E_EMIT_BAD_ANCHOR)', async () => {
    const result = await runScripted('ackThenEmit');
    expect(result.errors.map((e) => [e.code, e.count])).toEqual([['E_EMIT_BAD_ANCHOR', N]]);
    // The input was settled before the emit threw: its tree completes.
    expect(metricsOf(result, 'numbers').acked).toBe(N);
    expect(metricsOf(result, 'sink').executed).toBe(0);
  });

  it('reports an emit anchored to a failed input, saying it failed (E_EMIT_BAD_ANCHOR)', async () => {
    const result = await runScripted('failThenEmit');
    expect(result.errors.map((e) => e.code)).toEqual(['E_EMIT_BAD_ANCHOR']);
    expectError(result.errors[0]!, { code: 'E_EMIT_BAD_ANCHOR', names: ['already failed'] });
    expect(metricsOf(result, 'numbers').failed).toBe(N);
  });

  it('fails only the inputs whose emits are bad and delivers the rest, without stopping the run', async () => {
    const result = await runScripted('oddTooFewValues');
    expect(result.errors.map((e) => [e.code, e.count])).toEqual([['E_EMIT_ARITY', N / 2]]);
    const spout = metricsOf(result, 'numbers');
    expect(spout.acked).toBe(N / 2);
    expect(spout.failed).toBe(N / 2);
    expect(spout.timedOut).toBe(0);
    expect(result.emitted('bad').map((v) => v[0])).toEqual(numbers.map((v) => v[1]).filter((n) => (n as number) % 2 === 0));
    expect(metricsOf(result, 'sink').executed).toBe(N / 2);
  });
});

describe.each(MODES)('emit checks in a spout ($mode)', (mode) => {
  /** Run the scripted spout of `exportName` for N calls of `script`; returns the message ids it heard settled. */
  async function runSpout(exportName: string, script: SpoutScriptName) {
    const topology = await loadFixture('emit-errors.ts', exportName);
    // A spout whose every emit throws looks idle: keep its backoff short.
    const config = { script, calls: N, spoutIdleMaxMs: 1 };
    const result = await completeTopology(topology, { threads: mode.threads, config, timeoutMs: TIMEOUT_MS });
    const heard = { acked: [] as number[], failed: [] as number[] };
    for (const [kind, msgId] of result.emitted('numbers', HEARD_STREAM) as ['acked' | 'failed', number][]) heard[kind].push(msgId);
    return { result, heard };
  }

  it('reports a bad emit from nextTuple and keeps calling it', async () => {
    const { result, heard } = await runSpout('spoutErrorsTopology', 'oddExtraValue');
    expect(result.errors.map((e) => [e.component, e.code, e.count])).toEqual([['numbers', 'E_EMIT_ARITY', N / 2]]);
    expectError(result.errors[0]!, { code: 'E_EMIT_ARITY', component: 'numbers', stream: 'default' });
    expect([...heard.acked].sort((a, b) => a - b)).toEqual(Array.from({ length: N / 2 }, (_, i) => 2 * i));
    expect(metricsOf(result, 'sink').executed).toBe(N / 2);
  });

  // Regression: the message id of an emit that threw was never acked or
  // failed, so a ReplayingSpout kept it in flight forever.
  it('fails the message id of a spout emit that threw, so the spout can replay it', async () => {
    const { heard } = await runSpout('spoutErrorsTopology', 'oddExtraValue');
    expect(heard.failed).toEqual(Array.from({ length: N / 2 }, (_, i) => 2 * i + 1));
  });

  it('reports emitDirect from a spout on a stream that is not direct (E_EMIT_DIRECT)', async () => {
    const { result } = await runSpout('spoutErrorsTopology', 'directOnDefault');
    expect(result.errors.map((e) => e.code)).toEqual(['E_EMIT_DIRECT']);
    expectError(result.errors[0]!, { code: 'E_EMIT_DIRECT', component: 'numbers', stream: 'default' });
    expect(metricsOf(result, 'sink').executed).toBe(0);
  });

  it('reports an uncloneable value from a spout, naming the field (E_EMIT_NOT_CLONEABLE)', async () => {
    const { result } = await runSpout('spoutHandleTopology', 'emitFunction');
    expect(result.errors.map((e) => [e.code, e.count])).toEqual([['E_EMIT_NOT_CLONEABLE', N]]);
    expectError(result.errors[0]!, { code: 'E_EMIT_NOT_CLONEABLE', component: 'numbers', stream: 'default', names: ["field 'handle'"] });
    expect(result.errors[0]!.details).toEqual({ field: 'handle' });
  });
});

describe('component config', () => {
  it('rejects a bad limit in a component config, naming the component (E_BAD_CONFIG)', async () => {
    const { TopologyBuilder } = await import('../../src/index.ts');
    const b = new TopologyBuilder('component-config');
    b.setSpout('s', () => ({ declareOutputFields: (d) => d.declare(['n']), open() {}, nextTuple() {} }), { config: { maxSpoutPending: 0 } });
    expect(() => b.build()).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', component: 's' }));
  });
});
