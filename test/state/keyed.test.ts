/**
 * Keyed state as a bolt uses it: every kind of state scoped to the key of
 * the input, time to live and processing-time timers on the simulated
 * clock, the errors for misuse, and what a snapshot holds (only what
 * changed) and a restore gives back.
 */
import { describe, expect, it } from 'vitest';
import { BasicBolt, SimulatedClock, submit, TopologyBuilder } from '../../src/index.ts';
import type { BasicOutputCollector, MapState, OutputDeclarer, ReducingState, TopologyContext, Tuple, ValueState, ListState, AggregatingState, TimeDomain } from '../../src/index.ts';
import { decodeValue, KeyedStateBackend } from '../../src/state/index.ts';
import { FixedTupleSpout } from '../../src/spout/index.ts';

function backend(clock = new SimulatedClock()) {
  const b = new KeyedStateBackend({ component: 'c', maxParallelism: 128, now: () => clock.now(), schedule: (t, fn) => clock.after(Math.max(0, t - clock.now()), fn) });
  const selector = { fieldIndexes: [0], hash: (v: readonly unknown[]) => String(v[0]).length * 31 };
  const on = (key: unknown) => b.setInput({ values: [key] }, selector);
  return { b, on, clock };
}

describe('keyed state backend', () => {
  it('scopes every kind of state to the current key', () => {
    const { b, on } = backend();
    const v = b.value<number>('v');
    const m = b.map<number>('m');
    const l = b.list<string>('l');
    const r = b.reducing<number>('r', (x, y) => Math.max(x, y));
    const a = b.aggregating<number, { s: number; n: number }, number>('a', { create: () => ({ s: 0, n: 0 }), add: (acc, x) => ({ s: acc.s + x, n: acc.n + 1 }), result: (acc) => acc.s / acc.n });
    on('alice');
    v.set(1);
    m.set('x', 10);
    l.add('p');
    l.add('q');
    r.add(3);
    r.add(7);
    r.add(5);
    a.add(2);
    a.add(4);
    on('bob');
    expect([v.get(), m.get('x'), l.get(), r.get(), a.get()]).toEqual([undefined, undefined, [], undefined, undefined]);
    v.set(2);
    on('alice');
    expect([v.get(), m.get('x'), m.size, l.get(), r.get(), a.get()]).toEqual([1, 10, 1, ['p', 'q'], 7, 3]);
    expect(b.currentKey).toBe('alice');
    expect(b.keys('v').sort()).toEqual(['alice', 'bob']);
    m.delete('x');
    expect(m.entries()).toEqual([]);
    v.clear();
    expect(v.get()).toBeUndefined();
    expect(b.withKey('bob', () => v.get())).toBe(2);
  });

  it('keys that are not one string are JSON behind U+0001, so the string "[1]" and the number 1 never meet', () => {
    const { b } = backend();
    const v = b.value<string>('v');
    const sel = { fieldIndexes: [0], hash: () => 7 };
    b.setInput({ values: ['\u0001[1]'] }, sel);
    v.set('string');
    b.setInput({ values: [1] }, sel);
    expect(v.get()).toBeUndefined();
    v.set('number');
    expect(b.keys('v').sort()).toEqual(['\u0001[1]', '\u0001["\\u0001[1]"]'].sort());
  });

  it('snapshots only what changed since the last snapshot, deletes included, and restores into states declared later', () => {
    const { b, on } = backend();
    const v = b.value<number>('v');
    for (const k of ['a', 'b', 'c']) {
      on(k);
      v.set(k.charCodeAt(0));
    }
    const first = b.snapshot(false);
    expect(first.keys.sort()).toEqual(['v\u001fa', 'v\u001fb', 'v\u001fc']);
    on('b');
    v.set(1);
    on('c');
    v.clear();
    const second = b.snapshot(false);
    const changes = new Map(second.keys.map((k, i) => [k, second.values[i] === null ? null : decodeValue(second.values[i]!)]));
    expect(changes).toEqual(new Map([['v\u001fb', 1], ['v\u001fc', null]]));
    // Restore the full state into a fresh backend: entries wait for their state's declaration.
    const full = b.snapshot(true);
    const { b: b2, on: on2 } = backend();
    for (let i = 0; i < full.keys.length; i++) b2.restore(full.keyGroups[i]!, [full.keys[i]!], [full.values[i]!]);
    const v2 = b2.value<number>('v');
    on2('a');
    expect(v2.get()).toBe(97);
    on2('b');
    expect(v2.get()).toBe(1);
    on2('c');
    expect(v2.get()).toBeUndefined();
  });

  it('time to live: an entry not written for ttlMs reads as absent and is written as a delete', () => {
    const { b, on, clock } = backend();
    const v = b.value<number>('session', { ttlMs: 1_000 });
    on('u1');
    v.set(1);
    b.snapshot(false);
    clock.advance(999);
    expect(v.get()).toBe(1);
    clock.advance(1);
    expect(v.get()).toBeUndefined();
    const s = b.snapshot(false);
    expect(s.keys).toEqual(['session\u001fu1']);
    expect(s.values).toEqual([null]);
  });

  it('misuse gets coded errors: no key, bad or repeated names, bad ttl', () => {
    const { b } = backend();
    const v = b.value<number>('v');
    expect(() => v.get()).toThrow(expect.objectContaining({ code: 'E_STATE_NO_KEY' }));
    expect(() => b.value('v')).toThrow(expect.objectContaining({ code: 'E_STATE_BAD_NAME' }));
    expect(() => b.value('__x')).toThrow(expect.objectContaining({ code: 'E_STATE_BAD_NAME' }));
    expect(() => b.value('')).toThrow(expect.objectContaining({ code: 'E_STATE_BAD_NAME' }));
    expect(() => b.value('t', { ttlMs: -1 })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => b.withKey('nobody', () => 0)).toThrow(expect.objectContaining({ code: 'E_STATE_NO_KEY' }));
  });
});

/** Sums per user and fires a processing-time timer 100 ms after a user's first event: emits [user, sum]. */
class SessionSum extends BasicBolt {
  private sum!: ValueState<number>;
  private context!: TopologyContext;
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['user', 'sum']);
  }
  override prepare(context: TopologyContext): void {
    this.context = context;
    this.sum = context.state.value<number>('sum');
  }
  execute(input: Tuple): void {
    const s = this.sum.get();
    if (s === undefined) this.context.state.timers.registerProcessingTimeTimer(this.context.clock.now() + 100);
    this.sum.set((s ?? 0) + (input.values[1] as number));
  }
  override onTimer(_time: number, domain: TimeDomain, out: BasicOutputCollector): void {
    expect(domain).toBe('processing');
    out.emit([this.context.state.currentKey, this.sum.get()]);
    this.sum.clear();
  }
}

describe('keyed state in a running bolt', () => {
  it('processing-time timers fire on the simulated clock with their key current', async () => {
    const emitted: unknown[][] = [];
    class Sink extends BasicBolt {
      declareOutputFields(): void {}
      execute(input: Tuple): void {
        emitted.push([...input.values]);
      }
    }
    const b = new TopologyBuilder('sessions');
    b.setSpout('events', () => new FixedTupleSpout([['u1', 1], ['u2', 10], ['u1', 2], ['u3', 100], ['u2', 20]], { default: ['user', 'amount'] }));
    b.setBolt('sum', () => new SessionSum(), { parallelism: 2 }).fieldsGrouping('events', ['user']);
    b.setBolt('sink', () => new Sink()).shuffleGrouping('sum');
    const clock = new SimulatedClock();
    const run = await submit(b.build(), { clock, stepping: 'manual', seed: 1 });
    run.settle();
    expect(emitted).toEqual([]);
    clock.advance(99);
    run.settle();
    expect(emitted).toEqual([]);
    clock.advance(1);
    run.settle();
    expect(emitted.sort()).toEqual([['u1', 3], ['u2', 30], ['u3', 100]]);
    await run.kill({ waitMs: 0 });
  });

  it('keyed state read from a shuffle-grouped input is E_STATE_NO_KEY, reported, and the task goes on', async () => {
    class NoKey extends BasicBolt {
      private v!: ValueState<number>;
      declareOutputFields(): void {}
      override prepare(context: TopologyContext): void {
        this.v = context.state.value<number>('v');
      }
      execute(): void {
        this.v.set(1);
      }
    }
    const b = new TopologyBuilder('nokey');
    b.setSpout('events', () => new FixedTupleSpout([['a'], ['b']], { default: ['k'] }));
    b.setBolt('nokey', () => new NoKey()).shuffleGrouping('events');
    const run = await submit(b.build(), { clock: new SimulatedClock(), stepping: 'manual' });
    run.settle();
    const errors = run.metrics().errors;
    expect(errors.map((e) => e.code)).toEqual(['E_STATE_NO_KEY']);
    expect(errors[0]!.count).toBe(2);
    await run.kill({ waitMs: 0 });
  });
});

// Type-level use of the remaining state kinds, so the exports stay usable.
export type Kinds = [MapState<number>, ListState<string>, ReducingState<number>, AggregatingState<number, number>];
