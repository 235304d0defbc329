/**
 * Event-time watermarks through a running topology, on simulated time with
 * manual stepping: generated at spouts from a timestamp field with bounded
 * out-of-orderness, the least over a bolt's input channels, idle inputs
 * that stop holding it back and then move on with the processing clock,
 * event-time timers that fire as it passes them, and the watermark kept in
 * checkpoints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BasicBolt, EmbeddedStore, SimulatedClock, submit, TopologyBuilder } from '../../src/index.ts';
import type { BasicOutputCollector, OutputDeclarer, Spout, SpoutOutputCollector, TimeDomain, TopologyContext, Tuple, ValueState } from '../../src/index.ts';

/** Emits the events it is given, a few per nextTuple, when the test opens its gate. */
class Events implements Spout {
  private collector!: SpoutOutputCollector;
  private i = 0;
  constructor(
    private readonly events: readonly [string, number][],
    private readonly gate: { open: number },
  ) {}
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key', 'ts']);
  }
  open(_c: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
  }
  nextTuple(): void {
    if (this.i < Math.min(this.gate.open, this.events.length)) this.collector.emit([...this.events[this.i++]!]);
  }
}

/** Per key: the sum of events in [0, 100) of event time, emitted when the watermark passes 100 (an event-time timer). */
class FirstWindow extends BasicBolt {
  private count!: ValueState<number>;
  private context!: TopologyContext;
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key', 'count', 'watermark']);
  }
  override prepare(context: TopologyContext): void {
    this.context = context;
    this.count = context.state.value<number>('count');
  }
  execute(input: Tuple): void {
    if ((input.values[1] as number) >= 100) return;
    if (this.count.get() === undefined) this.context.state.timers.registerEventTimeTimer(100);
    this.count.set((this.count.get() ?? 0) + 1);
  }
  override onTimer(time: number, domain: TimeDomain, out: BasicOutputCollector): void {
    out.emit([this.context.state.currentKey, this.count.get(), this.context.state.timers.currentWatermark()]);
    expect([time, domain]).toEqual([100, 'event']);
  }
}

const fired: unknown[][] = [];
class Sink extends BasicBolt {
  declareOutputFields(): void {}
  execute(input: Tuple): void {
    fired.push([...input.values]);
  }
}

function topology(gateA: { open: number }, gateB: { open: number }, watermarks: { maxOutOfOrdernessMs?: number; idleTimeoutMs?: number } = {}) {
  const a: [string, number][] = [['x', 10], ['y', 30], ['x', 20], ['x', 120], ['y', 150], ['x', 300]];
  const b: [string, number][] = [['x', 40], ['y', 90], ['z', 95], ['y', 400]];
  const t = new TopologyBuilder('event-time');
  t.setSpout('a', () => new Events(a, gateA), { watermarks: { timestampField: 'ts', intervalMs: 10, ...watermarks } });
  t.setSpout('b', () => new Events(b, gateB), { watermarks: { timestampField: 'ts', intervalMs: 10, ...watermarks } });
  t.setBolt('window', () => new FirstWindow(), { parallelism: 2 }).fieldsGrouping('a', ['key']).fieldsGrouping('b', ['key']);
  t.setBolt('sink', () => new Sink()).shuffleGrouping('window');
  return t.build({ ackers: 0 });
}

const dirs: string[] = [];
afterEach(() => {
  fired.length = 0;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('event-time watermarks', () => {
  it('a bolt waits for the least watermark of its inputs; event-time timers fire once it passes them', async () => {
    const gateA = { open: 6 };
    const gateB = { open: 2 };
    const clock = new SimulatedClock();
    const run = await submit(topology(gateA, gateB), { clock, stepping: 'manual', seed: 1 });
    run.settle();
    clock.advance(10);
    run.settle();
    // a is at 300, b only at 90: the windows of [0, 100) must wait for b.
    expect(fired).toEqual([]);
    gateB.open = 4;
    run.settle();
    clock.advance(10);
    run.settle();
    const byKey = new Map(fired.map((f) => [f[0], f[1]]));
    expect(byKey).toEqual(new Map([['x', 3], ['y', 2], ['z', 1]]));
    expect(fired.every((f) => (f[2] as number) >= 100)).toBe(true);
    // The snapshot has each component's least watermark: the spouts' own, the bolts' the least of their inputs.
    const wm = new Map(run.metrics().components.map((c) => [c.id, c.watermark]));
    expect(wm.get('a')).toBe(300);
    expect(wm.get('b')).toBe(400);
    expect(wm.get('window')).toBe(300);
    await run.kill({ waitMs: 0 });
  });

  it('bounded out-of-orderness holds the watermark back by that much', async () => {
    const gateA = { open: 6 };
    const gateB = { open: 4 };
    const clock = new SimulatedClock();
    // Largest event times 300 and 400, less 250: the watermark is 50, short of 100.
    const run = await submit(topology(gateA, gateB, { maxOutOfOrdernessMs: 250 }), { clock, stepping: 'manual', seed: 1 });
    run.settle();
    clock.advance(10);
    run.settle();
    expect(fired).toEqual([]);
    await run.kill({ waitMs: 0 });
  });

  it('an idle input stops holding the watermark back; with every input idle it moves on with the processing clock', async () => {
    const gateA = { open: 3 }; // a stops at 20
    const gateB = { open: 0 }; // b never emits
    const clock = new SimulatedClock();
    const run = await submit(topology(gateA, gateB, { idleTimeoutMs: 50 }), { clock, stepping: 'manual', seed: 1 });
    run.settle();
    clock.advance(10);
    run.settle();
    expect(fired).toEqual([]);
    // Both go idle after 50 ms without an emit; from 20 (a's watermark) the watermark then moves with the clock,
    // and 80 ms after that, past 100, the windows fire without any more data.
    for (let t = 0; t < 20; t++) {
      clock.advance(10);
      run.settle();
    }
    expect(new Map(fired.map((f) => [f[0], f[1]]))).toEqual(new Map([['x', 2], ['y', 1]]));
    await run.kill({ waitMs: 0 });
  });

  it('a restored run goes on from the checkpointed watermark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squall-wm-'));
    dirs.push(dir);
    const gateA = { open: 6 };
    const gateB = { open: 4 };
    const t = topology(gateA, gateB);
    const config = { checkpointIntervalMs: 1_000_000 };
    const clock1 = new SimulatedClock();
    const run1 = await submit(t, { clock: clock1, stepping: 'manual', seed: 1, config, state: { dir } });
    run1.settle();
    clock1.advance(10);
    run1.settle();
    await run1.kill({ waitMs: 0 });
    expect(fired.length).toBe(3);
    fired.length = 0;
    const store = new EmbeddedStore({ dir });
    await store.open();
    // Each task's last watermark is in the checkpoint: a's largest event time 300, b's 400, and the bolts' the least of them.
    expect((await store.latest())!.metadata['watermarks']).toEqual({ a: { '0': 300 }, b: { '0': 400 }, window: { '0': 300, '1': 300 }, sink: { '0': 300 } });
    await store.close();
    // The second run restores: timers fired already are gone from the state, and the watermark starts at 300.
    gateA.open = 0;
    gateB.open = 0;
    const run2 = await submit(t, { clock: new SimulatedClock(), stepping: 'manual', seed: 2, config, state: { dir } });
    run2.settle();
    expect(fired).toEqual([]);
    await run2.kill({ waitMs: 0, checkpoint: false });
  });
});

describe('event-time watermarks across worker threads', () => {
  it('watermarks cross threads, and idle spouts let the last windows fire: every key counted once', async () => {
    const { loadTopologyModule } = await import('../../src/topology/index.ts');
    const { eventOf, KEYS, PER_SPOUT } = await import('../fixtures/topologies/event-time.ts');
    const captured: unknown[][] = [];
    const t = await loadTopologyModule('test/fixtures/topologies/event-time.ts');
    const run = await submit(t, { threads: 2, capture: { record: (component, _s, _t, values) => component === 'window' && captured.push([...values]) } });
    const deadline = Date.now() + 30_000;
    while (captured.length < KEYS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      await run.refresh();
    }
    await run.kill({ waitMs: 0 });
    const truth = new Map<string, number>();
    for (let task = 0; task < 2; task++) {
      for (let i = 0; i < PER_SPOUT; i++) {
        const [k, ts] = eventOf(task, i);
        if (ts < 1000) truth.set(k, (truth.get(k) ?? 0) + 1);
      }
    }
    expect(captured.length).toBe(KEYS);
    expect(new Map(captured.map((c) => [c[0], c[1]]))).toEqual(truth);
  }, 60_000);
});
