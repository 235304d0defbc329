/**
 * One snapshot of a run with a stuck bolt, and every place that shows it:
 * the status line, the summary, the JSON report and the web view's state
 * name the same task, tree age and queue depth. And the trace table on its
 * own: the per-task XOR over hold records and (merged) acks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TraceTable } from '../../src/acker/index.ts';
import { buildReport, formatSummary } from '../../src/cli/summary.ts';
import { formatStatusLine } from '../../src/cli/status-line.ts';
import { SimulatedClock, submit } from '../../src/runtime/index.ts';
import type { TopologyRun } from '../../src/runtime/index.ts';
import { UiView } from '../../src/ui/view.ts';
import { HoldBolt } from '../fixtures/topologies/stuck.ts';
import { loadFixture } from '../support/modes.ts';

let run: TopologyRun | null = null;
afterEach(async () => {
  if (run && (run.status === 'active' || run.status === 'inactive')) await run.kill({ waitMs: 0 });
  run = null;
  HoldBolt.held = [];
  HoldBolt.instances = [];
});

describe('the status line, the summary, the JSON and the web view show one snapshot', () => {
  it('name the task that held the timed-out tree, and the stuck task', async () => {
    const topology = await loadFixture('stuck.ts', 'default');
    const clock = new SimulatedClock();
    run = await submit(topology, { clock, seed: 11, stepping: 'manual', config: { messageTimeoutMs: 2000, count: 20, hold: [1] } });
    run.settle();
    for (let t = 0; t < 3000; t += 100) {
      clock.advance(100);
      run.settle();
    }
    const metrics = run.metrics();
    const [trace] = metrics.traces!;
    const holder = trace!.holders[0]!;
    expect(holder.component).toBe('hold');
    expect(metrics.stuck!.map((s) => s.task)).toEqual([holder.task]);
    const name = `hold[${holder.task}]`;

    const line = formatStatusLine('stuck-2', null, { atMs: 0, metrics, status: 'active' });
    expect(line).toContain(`stuck ${name} ${Math.floor(metrics.stuck![0]!.forMs / 1000)}s`);
    expect(line).toContain(`timeout: tree of numbers held by ${name} ${(holder.heldMs / 1000).toFixed(1)}s, queue 0`);

    const report = buildReport({ topology: 'stuck-2', runId: run.id, status: run.status, stoppedBy: 'duration', threads: 0, hosts: run.hosts(), metrics, withStacks: false });
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    expect(json.timeouts.traced).toBe(1);
    expect(json.timeouts.latest).toEqual(metrics.traces);
    expect(json.stuck).toEqual(metrics.stuck);
    expect(json.components['hold']!.executeLatencyP99Ms).toBe(metrics.components.find((c) => c.id === 'hold')!.executeLatencyPercentilesMs!.p99);
    const text = formatSummary(report);
    expect(text).toContain('stuck tasks: input waiting, and nothing acked for a whole messageTimeoutMs');
    expect(text).toContain('traced trees that timed out: 1;');
    expect(text).toMatch(new RegExp(`numbers +${trace!.spoutTask} +${(trace!.ageMs / 1000).toFixed(1)}s +hold +${holder.task} +${(holder.heldMs / 1000).toFixed(1)}s +0`));

    const view = new UiView(run, true);
    const state = view.update({ seq: 1, time: Date.now(), status: run.status, metrics, hosts: run.hosts() });
    expect(state.traces).toEqual({ count: 1, latest: metrics.traces });
    expect(state.stuck).toEqual(metrics.stuck);
    const hold = state.components.find((c) => c.id === 'hold')!;
    expect(hold.stuckTasks).toEqual([holder.task]);
    expect(hold.heldTimedOut).toEqual([holder.task]);
    expect(state.components.find((c) => c.id === 'relay')!.stuckTasks).toEqual([]);
  });

  it('a run with nothing stuck shows none of it', async () => {
    const topology = await loadFixture('stuck.ts', 'default');
    run = await submit(topology, { clock: new SimulatedClock(), stepping: 'manual', config: { count: 20 } });
    run.settle();
    const metrics = run.metrics();
    expect(metrics.traces).toEqual([]);
    expect(metrics.stuck).toEqual([]);
    expect(formatStatusLine('t', null, { atMs: 0, metrics, status: 'active' })).not.toMatch(/stuck|timeout:/);
    const report = buildReport({ topology: 'stuck-2', runId: run.id, status: run.status, stoppedBy: 'done', threads: 0, hosts: run.hosts(), metrics, withStacks: false });
    expect(report.timeouts).toEqual({ traced: 0, latest: [] });
    expect(formatSummary(report)).not.toMatch(/stuck tasks|traced trees/);
  });
});

describe('the trace table', () => {
  const R = [0x1235, 0x300001] as const;

  it('names a task that acked nothing, exactly, and not the ones whose acks cancel their holds and sends', () => {
    const t = new TraceTable();
    // spout 1 -> task 2 (id 0xa); 2 emits 0xb to 3 and 0xc to 4 anchored to it, acks (0xa ^ 0xb ^ 0xc); 3 acks 0xb; 4 never acks.
    t.hold(R[0], R[1], 2, 1, 0xa, 0);
    t.hold(R[0], R[1], 3, 2, 0xb, 5);
    t.hold(R[0], R[1], 4, 2, 0xc, 6);
    t.ack(R[0], R[1], 2, 0xa ^ 0xb ^ 0xc, 7);
    t.ack(R[0], R[1], 3, 0xb, 8);
    expect(t.timedOut(R[0], R[1], 1, 1006)).toEqual({ spoutTask: 1, ageMs: 1006, holders: [{ task: 4, heldMs: 1000, exact: true }], truncated: false });
    expect(t.size).toBe(0);
  });

  it('a task holding an input it emitted from is named, held at most since its first tuple; merged acks count as theirs', () => {
    const t = new TraceTable();
    t.hold(R[0], R[1], 2, 1, 0xa, 0);
    t.hold(R[0], R[1], 2, 1, 0xd, 10);
    // 2 emits 0xb anchored to 0xa and keeps 0xa; acks 0xd; 3 gets 0xb and acks it, merged with nothing.
    t.hold(R[0], R[1], 3, 2, 0xb, 20);
    t.ack(R[0], R[1], 2, 0xd, 30);
    t.ack(R[0], R[1], 3, 0xb, 40);
    const r = t.timedOut(R[0], R[1], 1, 2000)!;
    expect(r.holders).toEqual([{ task: 2, heldMs: 2000, exact: false }]);
  });

  it('forgets trees that end, and drops traces nothing ended after a few rotations', () => {
    const t = new TraceTable();
    t.hold(R[0], R[1], 2, 1, 0xa, 0);
    t.end(R[0], R[1]);
    expect(t.timedOut(R[0], R[1], 1, 10)).toBeNull();
    t.hold(R[0], R[1], 2, 1, 0xa, 0);
    for (let i = 0; i < 4; i++) t.rotate();
    expect(t.size).toBe(1);
    t.rotate();
    expect(t.size).toBe(0);
  });
});
