/**
 * Windowed bolts in running topologies, through the real runtime: watermarks
 * from a spout, windows fired by them, ack mode holding inputs until their
 * last window fired, the submit-time refusal of a window longer than the
 * message timeout, and a checkpointed window restored after a crash-like
 * stop with the same results as an unbroken run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BasicBolt, SimulatedClock, submit, TopologyBuilder, sliding, tumbling, WindowedBolt } from '../../src/index.ts';
import type { OutputDeclarer, Spout, SpoutOutputCollector, TopologyContext, Tuple } from '../../src/index.ts';
import type { WindowAssigner } from '../../src/window/index.ts';

const count = { create: () => 0, add: (a: number) => a + 1, merge: (a: number, b: number) => a + b, result: (a: number) => a };

/** Event i: key k<i % 7>, event time i * 3 with up to 20 ms of disorder; below gate.allowed. Emitted with message ids. */
class Events implements Spout {
  private collector!: SpoutOutputCollector;
  private i = 0;
  acked = 0;
  constructor(
    private readonly total: number,
    private readonly gate: { allowed: number },
  ) {}
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['key', 'ts']);
  }
  restoreState(s: { own: unknown }): void {
    this.i = (s.own as number | undefined) ?? 0;
  }
  open(_c: TopologyContext, collector: SpoutOutputCollector): void {
    this.collector = collector;
  }
  nextTuple(): void {
    for (let k = 0; k < 8 && this.i < Math.min(this.total, this.gate.allowed); k++, this.i++) this.collector.emit([`k${this.i % 7}`, event(this.i)], this.i);
  }
  snapshotState(): number {
    return this.i;
  }
  ack(): void {
    liveAcks.n++;
  }
  isDone(): boolean {
    return this.i >= this.total;
  }
}
const event = (i: number) => Math.max(0, i * 3 - ((i * 13) % 20));
const liveAcks = { n: 0 };

const rows: unknown[][] = [];
class Rows extends BasicBolt {
  declareOutputFields(): void {}
  execute(t: Tuple): void {
    rows.push([...t.values]);
  }
}

function topology(total: number, gate: { allowed: number }, config: Record<string, unknown>, window: WindowAssigner = tumbling(100)) {
  const b = new TopologyBuilder('live-window');
  b.setSpout('events', () => new Events(total, gate), { watermarks: { timestampField: 'ts', maxOutOfOrdernessMs: 20, intervalMs: 10, idleTimeoutMs: 50 } });
  b.setBolt('window', () => new WindowedBolt({ window, time: { field: 'ts' }, aggregate: count }), { parallelism: 2 }).fieldsGrouping('events', ['key']);
  b.setBolt('rows', () => new Rows()).shuffleGrouping('window');
  return b.build(config);
}

/** The true per-key counts of tumbling windows of `size` over events 0..total-1. */
function truth(total: number, size: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const start = Math.floor(event(i) / size) * size;
    const k = `k${i % 7}|${start}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

const results = () => new Map(rows.filter((r) => r[4] === 'on-time').map((r) => [`${r[0]}|${r[1]}`, r[3] as number]));

/** Run the clock forward in steps until the topology is quiet and done (every window fired, the spout idle). */
function drive(run: { settle(): number }, clock: SimulatedClock, steps: number): void {
  for (let s = 0; s < steps; s++) {
    run.settle();
    clock.advance(10);
  }
  run.settle();
}

const dirs: string[] = [];
afterEach(() => {
  rows.length = 0;
  liveAcks.n = 0;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('windowed bolts in a running topology', () => {
  it('watermarks from the spout fire every window once, with the true counts (idle at the end closes the last ones)', async () => {
    const clock = new SimulatedClock();
    const run = await submit(topology(2_000, { allowed: Infinity }, { ackers: 0 }), { clock, stepping: 'manual', seed: 1 });
    drive(run, clock, 200);
    expect(results()).toEqual(truth(2_000, 100));
    // The windowed bolt's own figures reach the snapshot (and /metrics): every window fired once, nothing left open.
    const custom = run.metrics().components.find((c) => c.id === 'window')!.custom!;
    expect(custom['firingsOnTime']).toBe(truth(2_000, 100).size);
    expect(custom['panes']).toBe(0);
    expect(custom['lateDropped']).toBe(0);
    await run.kill({ waitMs: 0 });
  });

  it('ack mode: every input is acked once its window fired, and none stays pending', async () => {
    const clock = new SimulatedClock();
    const run = await submit(topology(1_000, { allowed: Infinity }, { ackers: 1, messageTimeoutMs: 30_000 }, sliding(100, 50)), { clock, stepping: 'manual', seed: 2 });
    drive(run, clock, 200);
    expect(liveAcks.n).toBe(1_000);
    expect(run.pending()).toBe(0);
    await run.kill({ waitMs: 0 });
  });

  it('ack mode: a window longer than messageTimeoutMs is refused at submit, naming the setting', async () => {
    await expect(submit(topology(10, { allowed: Infinity }, { ackers: 1, messageTimeoutMs: 1_000 }, tumbling(5_000)), { clock: new SimulatedClock(), stepping: 'manual' })).rejects.toMatchObject({
      code: 'E_WINDOW_TIMEOUT',
      message: expect.stringContaining('messageTimeoutMs'),
    });
  });

  it('checkpoint mode: windows restored after a crash-like stop give the same results as an unbroken run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squall-live-window-'));
    dirs.push(dir);
    const total = 3_000;
    const gate = { allowed: 1_200 };
    const config = { ackers: 0, checkpointIntervalMs: 1_000_000 };
    const clock1 = new SimulatedClock();
    const run1 = await submit(topology(total, gate, config), { clock: clock1, stepping: 'manual', seed: 3, state: { dir } });
    drive(run1, clock1, 5);
    const cp = run1.checkpoint();
    gate.allowed = 2_000;
    run1.settle();
    await cp;
    drive(run1, clock1, 5);
    await run1.kill({ waitMs: 0, checkpoint: false });
    // What run 1 emitted before the checkpoint stays; what it emitted after is emitted again by run 2.
    gate.allowed = total;
    const clock2 = new SimulatedClock();
    const run2 = await submit(topology(total, gate, config), { clock: clock2, stepping: 'manual', seed: 4, state: { dir } });
    drive(run2, clock2, 300);
    await run2.kill({ waitMs: 0 });
    // Every window's final on-time count is the truth (a window emitted by both runs has the same count in each).
    const byWindow = new Map<string, Set<number>>();
    for (const r of rows.filter((x) => x[4] === 'on-time')) {
      const k = `${r[0]}|${r[1]}`;
      if (!byWindow.has(k)) byWindow.set(k, new Set());
      byWindow.get(k)!.add(r[3] as number);
    }
    const t = truth(total, 100);
    expect(new Map([...byWindow].map(([k, v]) => [k, [...v]]))).toEqual(new Map([...t].map(([k, n]) => [k, [n]])));
  });
});
