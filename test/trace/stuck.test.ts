/**
 * Where did my tuple get stuck? A bolt holds inputs and never acks them:
 * the timeout of a traced tree names its component and task, how long it
 * held the tuple and its queue depth; a task that acks nothing for a whole
 * timeout while it has input is flagged stuck. Local mode on a
 * SimulatedClock with manual stepping (nothing waits on real time), and
 * once on worker threads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock, submit } from '../../src/runtime/index.ts';
import type { MetricsSnapshot, TopologyRun } from '../../src/runtime/index.ts';
import { isSquallError } from '../../src/errors/index.ts';
import { HoldBolt } from '../fixtures/topologies/stuck.ts';
import { loadFixture } from '../support/modes.ts';

const TIMEOUT = 1000;

let run: TopologyRun | null = null;
afterEach(async () => {
  if (run && (run.status === 'active' || run.status === 'inactive')) await run.kill({ waitMs: 0 });
  run = null;
  HoldBolt.held = [];
  HoldBolt.instances = [];
});

async function manual(config: Record<string, unknown>, exportName = 'default'): Promise<{ run: TopologyRun; clock: SimulatedClock }> {
  const topology = await loadFixture('stuck.ts', exportName);
  const clock = new SimulatedClock();
  run = await submit(topology, { clock, seed: 7, stepping: 'manual', config: { messageTimeoutMs: TIMEOUT, ...config } });
  return { run, clock };
}

/** Move the simulated clock in steps of 100 ms, settling after each, up to `ms`. */
function step(r: TopologyRun, clock: SimulatedClock, ms: number): void {
  for (let t = 0; t < ms; t += 100) {
    clock.advance(100);
    r.settle();
  }
}

function spoutOf(m: MetricsSnapshot) {
  return m.components.find((c) => c.id === 'numbers')!;
}

describe('a traced tree that times out names the task holding its tuple (local, simulated clock)', () => {
  it('the first trees of a run are traced with no sample rate: the report names the hold task, how long, its queue', async () => {
    const { run: r, clock } = await manual({ count: 40, hold: [3] });
    r.settle();
    expect(HoldBolt.held).toHaveLength(1);
    const [holder, n] = HoldBolt.held[0]!;
    expect(n).toBe(3);
    let m = r.metrics();
    expect(spoutOf(m).acked).toBe(39);
    expect(m.traces).toEqual([]);
    step(r, clock, 1500);
    m = r.metrics();
    expect(spoutOf(m).timedOut).toBe(1);
    expect(m.tracedTimeouts).toBe(1);
    const [report] = m.traces!;
    expect(report).toMatchObject({ spout: 'numbers', spoutTask: r.plan.componentTasks.get('numbers')![0], truncated: false });
    // Exactly one holder: relay passed it on and acked; hold never did.
    expect(report!.holders).toEqual([{ component: 'hold', task: holder, heldMs: report!.ageMs, exact: true, queued: 0 }]);
    // A tree expires between one and one and a half timeouts after it started.
    expect(report!.ageMs).toBeGreaterThanOrEqual(TIMEOUT);
    expect(report!.ageMs).toBeLessThanOrEqual(1.5 * TIMEOUT);
    // Only the first 16 trees were traced: no sample rate.
    expect(spoutOf(m).traced).toBe(16);
  });

  it('a tree past the first ones is not traced without a sample rate, and its timeout makes the next trees traced', async () => {
    // 20 numbers a second: 18 (untraced) times out at 1.5 s, so 40..55 (emitted at 2 s) are traced, and 50's timeout is reported.
    const { run: r, clock } = await manual({ count: 100, perSecond: 20, hold: [18, 50] });
    r.settle();
    step(r, clock, 6000);
    const m = r.metrics();
    expect(spoutOf(m).timedOut).toBe(2);
    expect(spoutOf(m).acked).toBe(98);
    expect(m.tracedTimeouts).toBe(1);
    const holderOf50 = HoldBolt.held.find(([, n]) => n === 50)![0];
    expect(m.traces!.map((t) => t.holders.map((h) => [h.component, h.task]))).toEqual([[['hold', holderOf50]]]);
    // 0..15 at the start, 40..55 after 18's timeout, 60..75 after 50's.
    expect(spoutOf(m).traced).toBe(48);
  });

  it('with traceSample 1 every tree is traced, and each timeout names its own holder', async () => {
    const { run: r, clock } = await manual({ count: 60, hold: [20, 30, 40], traceSample: 1 });
    r.settle();
    step(r, clock, 2000);
    const m = r.metrics();
    expect(m.tracedTimeouts).toBe(3);
    const expected = HoldBolt.held.map(([task]) => task).sort();
    expect(m.traces!.map((t) => t.holders[0]!.task).sort()).toEqual(expected);
    for (const t of m.traces!) expect(t.holders).toHaveLength(1);
    expect(spoutOf(m).traced).toBe(60);
  });

  it('a task that acks nothing for a whole timeout while it holds input is flagged stuck; the others are not', async () => {
    const { run: r, clock } = await manual({ count: 10, holdAll: true });
    r.settle();
    step(r, clock, 400);
    expect(r.metrics().stuck).toEqual([]);
    step(r, clock, 1600);
    const m = r.metrics();
    const holdTasks = r.plan.componentTasks.get('hold')!;
    const busy = [...new Set(HoldBolt.held.map(([t]) => t))].sort();
    expect(busy.length).toBeGreaterThan(0);
    expect(m.stuck!.map((s) => s.task)).toEqual(busy);
    for (const s of m.stuck!) {
      expect(s.component).toBe('hold');
      expect(holdTasks).toContain(s.task);
      expect(s.forMs).toBeGreaterThanOrEqual(TIMEOUT);
    }
    expect(m.components.find((c) => c.id === 'hold')!.stuckTasks).toBe(busy.length);
    expect(m.components.find((c) => c.id === 'relay')!.stuckTasks).toBe(0);
    const tasks = m.tasks!.filter((t) => t.component === 'relay');
    for (const t of tasks) expect(t.stuckMs).toBe(-1);
  });

  it('a stuck task that acks again is no longer flagged', async () => {
    const { run: r, clock } = await manual({ count: 4, holdAll: true }, 'oneHolder');
    r.settle();
    step(r, clock, 2000);
    const holdTask = r.plan.componentTasks.get('hold')![0]!;
    expect(r.metrics().stuck!.map((s) => [s.component, s.task])).toEqual([['hold', holdTask]]);
    expect(HoldBolt.instances).toHaveLength(1);
    HoldBolt.instances[0]!.release();
    r.settle();
    expect(r.metrics().stuck).toEqual([]);
    step(r, clock, 2000);
    expect(r.metrics().stuck).toEqual([]);
  });

  it('traceSample outside 0..1 is E_BAD_CONFIG', async () => {
    const topology = await loadFixture('stuck.ts', 'default');
    for (const bad of [-0.1, 1.5, '0.5', Number.NaN]) {
      const err = await submit(topology, { stepping: 'manual', clock: new SimulatedClock(), config: { traceSample: bad as number } }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isSquallError(err) && err.code).toBe('E_BAD_CONFIG');
    }
  });
});

describe('the sample rate is respected', () => {
  it('a seeded run traces about traceSample of its trees (plus the first 16)', async () => {
    const n = 20_000;
    const { run: r } = await manual({ count: n, traceSample: 0.05 });
    r.settle();
    const traced = spoutOf(r.metrics()).traced!;
    const expected = 16 + 0.05 * (n - 16);
    expect(traced).toBeGreaterThan(expected * 0.85);
    expect(traced).toBeLessThan(expected * 1.15);
    expect(spoutOf(r.metrics()).acked).toBe(n);
  });

  it('the same seed traces the same trees', async () => {
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { run: r } = await manual({ count: 5000, traceSample: 0.01 });
      r.settle();
      counts.push(spoutOf(r.metrics()).traced!);
      await r.kill({ waitMs: 0 });
    }
    expect(counts[0]).toBe(counts[1]);
  });
});

describe('worker threads', () => {
  it('the timeout report names the hold task on another thread', async () => {
    const topology = await loadFixture('stuck.ts', 'oneHolder');
    run = await submit(topology, { threads: 2, config: { messageTimeoutMs: TIMEOUT, count: 30, hold: [5] } });
    const deadline = performance.now() + 20_000;
    let m = run.metrics();
    while ((m.traces ?? []).length === 0) {
      if (performance.now() > deadline) throw new Error(`no trace report after 20 s: ${JSON.stringify(m.totals)}`);
      await new Promise((res) => setTimeout(res, 50));
      await run.refresh();
      m = run.metrics();
    }
    const holdTask = run.plan.componentTasks.get('hold')![0]!;
    const [report] = m.traces!;
    expect(report!.spout).toBe('numbers');
    expect(report!.holders.map((h) => [h.component, h.task, h.exact])).toEqual([['hold', holdTask, true]]);
    expect(report!.holders[0]!.heldMs).toBeGreaterThanOrEqual(TIMEOUT);
    expect(report!.holders[0]!.queued).toBe(0);
  }, 30_000);
});
