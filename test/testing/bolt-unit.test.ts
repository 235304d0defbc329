import { describe, expect, it } from 'vitest';
import { BasicBolt, FailedError, SimulatedClock, SquallError, TopologyBuilder } from '../../src/index.ts';
import type { BasicOutputCollector, Bolt, OutputCollector, OutputDeclarer, TopologyContext, Tuple } from '../../src/index.ts';
import {
  completeTopology,
  executeBasic,
  executeBolt,
  FixedTupleSpout,
  prepareBolt,
  RecordingCollector,
  testContext,
  testTuple,
  tickTuple,
} from '../../src/testing/index.ts';
import { CountBolt, SplitBolt } from '../../topologies/word-count.ts';

/** A plain Bolt: passes words counted at least `min` times (config), anchored; fails inputs without a numeric count. */
class Threshold implements Bolt {
  private collector!: OutputCollector;
  private min = 0;
  declareOutputFields(d: OutputDeclarer) {
    d.declare(['word']);
  }
  prepare(context: TopologyContext, collector: OutputCollector) {
    this.min = Number(context.config['min'] ?? 2);
    this.collector = collector;
  }
  execute(input: Tuple) {
    if (typeof input.get('count') !== 'number') return this.collector.fail(input);
    if (input.getNumber('count') >= this.min) this.collector.emit([input.getString('word')], input);
    this.collector.ack(input);
  }
}

/** Expect `fn` to throw a SquallError with `code`, and return it. */
function thrown(fn: () => unknown, code: string): SquallError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SquallError);
    expect((err as SquallError).code).toBe(code);
    return err as SquallError;
  }
  throw new Error(`expected a SquallError ${code}, nothing was thrown`);
}

describe('unit-testing a bolt: docs/testing.md examples', () => {
  it('a BasicBolt with executeBasic', () => {
    const split = new SplitBolt();
    const out = RecordingCollector.for(split);
    const input = testTuple(['the cow'], { fields: ['sentence'] });

    expect(executeBasic(split, input, out)).toBe('acked');
    expect(out.emitted()).toEqual([['the'], ['cow']]);
    expect(out.emits[0]!.anchors).toEqual([input]); // anchored to the input
    expect(out.acked).toEqual([input]);
  });

  it('a plain Bolt with prepareBolt', async () => {
    const bolt = new Threshold();
    const { collector } = await prepareBolt(bolt, { config: { min: 2 } });
    const once = testTuple(['moon', 1], { fields: ['word', 'count'] });
    const twice = testTuple(['cow', 2], { fields: ['word', 'count'] });

    bolt.execute(once);
    bolt.execute(twice);
    expect(collector.emitted()).toEqual([['cow']]);
    expect(collector.emits[0]!.anchors[0]).toBe(twice);
    expect(collector.acked).toEqual([once, twice]);

    expect(() => collector.emitTo('words', ['x'])).toThrow(expect.objectContaining({ code: 'E_EMIT_UNDECLARED_STREAM' }));
    expect(() => collector.emit(['x', 1])).toThrow(expect.objectContaining({ code: 'E_EMIT_ARITY' }));
  });
});

describe('word-count bolts', () => {
  it('SplitBolt emits each word in order, anchored to the sentence, then acks it once', () => {
    const split = new SplitBolt();
    const out = RecordingCollector.for(split);
    const a = testTuple(['the cow jumped'], { fields: ['sentence'], component: 'sentences' });
    const b = testTuple(['over the moon'], { fields: ['sentence'], component: 'sentences' });

    expect(executeBasic(split, a, out)).toBe('acked');
    expect(executeBasic(split, b, out)).toBe('acked');

    expect(out.emitted()).toEqual([['the'], ['cow'], ['jumped'], ['over'], ['the'], ['moon']]);
    for (const e of out.emits.slice(0, 3)) expect(e.anchors).toEqual([a]);
    for (const e of out.emits.slice(3)) expect(e.anchors).toEqual([b]);
    expect(out.emits.every((e) => e.stream === 'default' && e.directTask === null)).toBe(true);
    expect(out.acked).toEqual([a, b]);
    expect(out.failed).toEqual([]);
    expect(out.errors).toEqual([]);
    // The ack comes after the input's emits.
    expect(out.events.map((e) => e.type)).toEqual(['emit', 'emit', 'emit', 'ack', 'emit', 'emit', 'emit', 'ack']);
    expect(out.events[3]).toEqual({ type: 'ack', tuple: a });
  });

  it('CountBolt counts per word across inputs, after prepareBolt', async () => {
    const count = new CountBolt();
    const { collector, context } = await prepareBolt(count, { componentId: 'count', taskId: 3, componentTasks: [2, 3] });
    expect(context).toMatchObject({ componentId: 'count', taskId: 3, taskIndex: 1 });
    expect(context.outputFields()).toEqual(['word', 'count']);

    for (const w of ['the', 'cow', 'the', 'moon', 'the']) executeBasic(count, testTuple([w], { fields: ['word'] }), collector);

    expect(collector.emitted()).toEqual([
      ['the', 1],
      ['cow', 1],
      ['the', 2],
      ['moon', 1],
      ['the', 3],
    ]);
    expect(collector.acked).toHaveLength(5);
    expect(count.counts.get('the')).toBe(3);
  });

  it('clear() starts a new recording; the declared streams stay', () => {
    const split = new SplitBolt();
    const out = RecordingCollector.for(split);
    executeBasic(split, testTuple(['a b'], { fields: ['sentence'] }), out);
    out.clear();
    expect(out.events).toEqual([]);
    expect(() => out.emitTo('nope', ['x'])).toThrow(expect.objectContaining({ code: 'E_EMIT_UNDECLARED_STREAM' }));
  });
});

describe('BasicBolt auto-ack, as the runtime does it', () => {
  class Picky extends BasicBolt {
    declareOutputFields(d: OutputDeclarer) {
      d.declare(['n']);
    }
    execute(input: Tuple, out: BasicOutputCollector) {
      const n = input.getNumber('n');
      out.emit([n]);
      if (n === 1) throw new FailedError('quietly');
      if (n === 2) throw new Error('boom');
      if (n === 3) out.emit([n, 'extra']);
      if (n === 4) out.emitTo('other', [n]);
      out.resetTimeout();
    }
  }

  it('acks when execute returns; fails on a throw, and reports it unless it is a FailedError', () => {
    const bolt = new Picky();
    const out = RecordingCollector.for(bolt, { component: 'picky' });
    const [t0, t1, t2] = [0, 1, 2].map((n) => testTuple([n], { fields: ['n'] }));

    expect(executeBasic(bolt, t0!, out)).toBe('acked');
    expect(executeBasic(bolt, t1!, out)).toBe('failed');
    expect(executeBasic(bolt, t2!, out)).toBe('failed');

    expect(out.acked).toEqual([t0]);
    expect(out.failed).toEqual([t1, t2]);
    expect(out.resetTimeouts).toEqual([t0]);
    expect(out.errors).toHaveLength(1);
    expect((out.errors[0] as Error).message).toBe('boom');
    // Emits made before the throw stay recorded, as they were sent in the runtime.
    expect(out.emitted()).toEqual([[0], [1], [2]]);
  });

  it('a wrong-arity or undeclared emit fails the input with the error the runtime reports', () => {
    const bolt = new Picky();
    const out = RecordingCollector.for(bolt, { component: 'picky' });
    const t3 = testTuple([3], { fields: ['n'] });
    const t4 = testTuple([4], { fields: ['n'] });

    expect(executeBasic(bolt, t3, out)).toBe('failed');
    expect(executeBasic(bolt, t4, out)).toBe('failed');
    expect(out.failed).toEqual([t3, t4]);
    expect(out.errors).toEqual([
      expect.objectContaining({ code: 'E_EMIT_ARITY', component: 'picky', stream: 'default' }),
      expect.objectContaining({ code: 'E_EMIT_UNDECLARED_STREAM', component: 'picky', stream: 'other' }),
    ]);
  });

  it('reports the same codes as a running topology', async () => {
    const b = new TopologyBuilder('picky');
    b.setSpout('numbers', () => new FixedTupleSpout([[3], [4]], { default: ['n'] }));
    b.setBolt('picky', () => new Picky()).shuffleGrouping('numbers');
    const result = await completeTopology(b.build());
    expect(result.errors).toHaveLength(2);
    const codes = result.errors.map((e) => e.code).sort();
    const out = RecordingCollector.for(new Picky(), { component: 'picky' });
    for (const n of [3, 4]) executeBasic(new Picky(), testTuple([n], { fields: ['n'] }), out);
    expect(out.errors.map((e) => (e as SquallError).code).sort()).toEqual(codes);
  });
});

describe('a plain Bolt that anchors, acks and fails explicitly', () => {
  it('records anchors, acks and fails in order; config reaches prepare', async () => {
    const bolt = new Threshold();
    const { collector } = await prepareBolt(bolt, { config: { min: 3 } });
    const low = testTuple(['cow', 2], { fields: ['word', 'count'] });
    const high = testTuple(['the', 3], { fields: ['word', 'count'] });
    const bad = testTuple(['moon', 'many'], { fields: ['word', 'count'] });

    bolt.execute(low);
    bolt.execute(high);
    bolt.execute(bad);

    expect(collector.emitted()).toEqual([['the']]);
    expect(collector.emits[0]!.anchors).toEqual([high]);
    expect(collector.acked).toEqual([low, high]);
    expect(collector.failed).toEqual([bad]);
    expect(collector.events.map((e) => e.type)).toEqual(['ack', 'emit', 'ack', 'fail']);
  });

  it('executeBolt fails a throwing input once, and reports the error', async () => {
    class Thrower implements Bolt {
      private c!: OutputCollector;
      declareOutputFields() {}
      prepare(_ctx: TopologyContext, c: OutputCollector) {
        this.c = c;
      }
      execute(input: Tuple) {
        if (input.getValue(0) === 'ack-first') this.c.ack(input);
        throw new TypeError('bad input');
      }
    }
    const bolt = new Thrower();
    const { collector } = await prepareBolt(bolt);
    const plain = testTuple(['x']);
    const acked = testTuple(['ack-first']);
    executeBolt(bolt, plain, collector);
    executeBolt(bolt, acked, collector);
    expect(collector.failed).toEqual([plain]); // acked already: not failed too
    expect(collector.acked).toEqual([acked]);
    expect(collector.errors.map((e) => (e as Error).name)).toEqual(['TypeError', 'TypeError']);
  });

  it('an emit anchored to an input already acked throws E_EMIT_BAD_ANCHOR', async () => {
    const bolt = new Threshold();
    const { collector } = await prepareBolt(bolt);
    const t = testTuple(['cow', 1], { fields: ['word', 'count'] });
    bolt.execute(t);
    const err = thrown(() => collector.emit(['cow'], t), 'E_EMIT_BAD_ANCHOR');
    expect(err.component).toBe('Threshold');
    collector.emit(['cow']); // unanchored is fine
    collector.emit(['cow'], [testTuple(['x'])]);
    expect(collector.emits.map((e) => e.anchors.length)).toEqual([0, 1]);
  });
});

describe('emit checks against the declared streams', () => {
  class Router implements Bolt {
    declareOutputFields(d: OutputDeclarer) {
      d.declare(['word']);
      d.declareStream('counts', ['word', 'count']);
      d.declareStream('direct', ['word'], { direct: true });
    }
    prepare() {}
    execute() {}
  }

  it('throws the runtime codes, with the component and stream, and records nothing', () => {
    const c = RecordingCollector.for(new Router(), { component: 'router' });
    const undeclared = thrown(() => c.emitTo('missing', ['x']), 'E_EMIT_UNDECLARED_STREAM');
    expect(undeclared).toMatchObject({ component: 'router', stream: 'missing' });
    expect(undeclared.message).toContain('declared: default, counts, direct');
    const arity = thrown(() => c.emitTo('counts', ['x']), 'E_EMIT_ARITY');
    expect(arity).toMatchObject({ component: 'router', stream: 'counts' });
    expect(arity.message).toContain('declares 2 fields (word, count)');
    thrown(() => c.emit('x' as never), 'E_EMIT_ARITY');
    thrown(() => c.emitTo('direct', ['x']), 'E_EMIT_DIRECT');
    thrown(() => c.emitDirect(2, 'counts', ['x', 1]), 'E_EMIT_DIRECT');
    thrown(() => c.emitDirect(0, 'direct', ['x']), 'E_EMIT_BAD_TASK');
    expect(thrown(() => c.emitTo('counts', ['x', () => 1]), 'E_EMIT_NOT_CLONEABLE').details).toEqual({ field: 'count' });
    expect(c.events).toEqual([]);
  });

  it('records emitDirect with its task, and emits per stream', () => {
    const c = RecordingCollector.for(new Router());
    c.emitDirect(4, 'direct', ['a']);
    c.emitTo('counts', ['a', 1]);
    c.emit(['b']);
    expect(c.emits.map((e) => [e.stream, e.directTask])).toEqual([
      ['direct', 4],
      ['counts', null],
      ['default', null],
    ]);
    expect(c.emitted('counts')).toEqual([['a', 1]]);
    expect(c.emitted('direct')).toEqual([['a']]);
    expect(c.emitted()).toEqual([['b']]);
  });

  it('without declared streams, records any stream and arity', () => {
    const c = new RecordingCollector();
    c.emitTo('anything', [1, 2, 3]);
    expect(c.emitted('anything')).toEqual([[1, 2, 3]]);
  });

  it('records a copy of the values', () => {
    const c = new RecordingCollector();
    const values = ['a'];
    c.emit(values);
    values[0] = 'changed';
    expect(c.emitted()).toEqual([['a']]);
  });
});

describe('testTuple and tickTuple', () => {
  it('builds a Tuple whose fields are read by name', () => {
    const t = testTuple(['cow', 2], { fields: ['word', 'count'], component: 'split', stream: 'words', task: 7 });
    expect(t.getString('word')).toBe('cow');
    expect(t.getNumber('count')).toBe(2);
    expect(t.get('count')).toBe(2);
    expect(t.contains('word')).toBe(true);
    expect(t.fields).toEqual(['word', 'count']);
    expect(t.values).toEqual(['cow', 2]);
    expect(t).toMatchObject({ sourceComponent: 'split', sourceStream: 'words', sourceTask: 7, isTick: false });
    expect(() => t.get('nope')).toThrow(/has no field 'nope'; its fields are: word, count/);
  });

  it('defaults to fields field1..fieldN, component "component", stream "default", task 1', () => {
    const t = testTuple(['a', 'b', 'c']);
    expect(t.fields).toEqual(['field1', 'field2', 'field3']);
    expect(t.get('field2')).toBe('b');
    expect(t).toMatchObject({ sourceComponent: 'component', sourceStream: 'default', sourceTask: 1 });
    expect(testTuple([]).size).toBe(0);
  });

  it('rejects bad arguments with E_BAD_ARGUMENT and says what to do', () => {
    const mismatch = thrown(() => testTuple(['a'], { fields: ['x', 'y'] }), 'E_BAD_ARGUMENT');
    expect(mismatch.message).toContain('1 values for 2 fields (x, y)');
    thrown(() => testTuple('a' as never), 'E_BAD_ARGUMENT');
    thrown(() => testTuple(['a', 'b'], { fields: ['x', 'x'] }), 'E_BAD_ARGUMENT');
    thrown(() => testTuple(['a'], { fields: [''] }), 'E_BAD_ARGUMENT');
    thrown(() => testTuple(['a'], { task: 0 }), 'E_BAD_ARGUMENT');
    thrown(() => testTuple(['a'], { task: 1.5 }), 'E_BAD_ARGUMENT');
    thrown(() => testTuple(['a'], { component: '' }), 'E_BAD_ARGUMENT');
    expect(thrown(() => testTuple(['a'], { stream: '__tick' }), 'E_BAD_ARGUMENT').message).toContain('tickTuple()');
  });

  it('tickTuple is a tick: isTick, from __system, carrying the time', () => {
    const tick = tickTuple(1_000);
    expect(tick.isTick).toBe(true);
    expect(tick.getNumber('now')).toBe(1_000);
    expect(tick.sourceComponent).toBe('__system');
    expect(tickTuple().getNumber('now')).toBe(0);
    thrown(() => tickTuple(Number.NaN), 'E_BAD_ARGUMENT');
  });

  it('a bolt that flushes on ticks', async () => {
    class Buffer implements Bolt {
      private c!: OutputCollector;
      private held: Tuple[] = [];
      declareOutputFields(d: OutputDeclarer) {
        d.declare(['n']);
      }
      prepare(_ctx: TopologyContext, c: OutputCollector) {
        this.c = c;
      }
      execute(input: Tuple) {
        if (!input.isTick) return void this.held.push(input);
        this.c.emit([this.held.length], this.held);
        for (const t of this.held) this.c.ack(t);
        this.held = [];
        this.c.ack(input);
      }
    }
    const bolt = new Buffer();
    const { collector } = await prepareBolt(bolt);
    const [a, b] = [testTuple([1]), testTuple([2])];
    bolt.execute(a!);
    bolt.execute(b!);
    expect(collector.events).toEqual([]);
    const tick = tickTuple(1_000);
    bolt.execute(tick);
    expect(collector.emitted()).toEqual([[2]]);
    expect(collector.emits[0]!.anchors).toEqual([a, b]);
    expect(collector.acked).toEqual([a, b, tick]);
  });
});

describe('testContext and prepareBolt', () => {
  it('gives a context with defaults, merged config, a simulated clock and seeded randomness', () => {
    const clock = new SimulatedClock(500);
    const ctx = testContext(new Threshold(), { config: { min: 4 }, clock });
    expect(ctx).toMatchObject({ topologyName: 'test', componentId: 'Threshold', taskId: 1, taskIndex: 0, componentTasks: [1] });
    expect(ctx.config['min']).toBe(4);
    expect(ctx.config['messageTimeoutMs']).toBe(30_000);
    expect(ctx.clock.now()).toBe(500);
    expect(ctx.outputFields('default')).toEqual(['word']);
    thrown(() => ctx.outputFields('other'), 'E_UNKNOWN_STREAM');
    const r1 = testContext(new Threshold()).random.float();
    const r2 = testContext(new Threshold()).random.float();
    expect(r1).toBe(r2);
    thrown(() => testContext(new Threshold(), { taskId: 2, componentTasks: [1] }), 'E_BAD_ARGUMENT');
    thrown(() => testContext(new Threshold(), { taskId: 0 }), 'E_BAD_ARGUMENT');
  });

  it('awaits an asynchronous prepare, and uses the collector it is given', async () => {
    class Slow implements Bolt {
      ready = false;
      collector?: OutputCollector;
      declareOutputFields() {}
      async prepare(_ctx: TopologyContext, c: OutputCollector) {
        await new Promise((r) => setTimeout(r, 1));
        this.collector = c;
        this.ready = true;
      }
      execute() {}
    }
    const bolt = new Slow();
    const mine = new RecordingCollector();
    const { collector } = await prepareBolt(bolt, { collector: mine });
    expect(bolt.ready).toBe(true);
    expect(collector).toBe(mine);
    expect(bolt.collector).toBe(mine);
  });
});
