/** What the page is told of a sample: rates between samples, each component's last error, edge rates, load and back pressure. */
import { describe, expect, it } from 'vitest';
import type { ComponentMetrics, MetricsSnapshot, ReportedError, TopologyRun } from '../../src/runtime/index.ts';
import { loadTopologyModule } from '../../src/topology/index.ts';
import { UiView } from '../../src/ui/index.ts';
import type { Sample } from '../../src/ui/index.ts';

function component(id: string, kind: 'spout' | 'bolt' | 'acker', figures: Partial<ComponentMetrics>): ComponentMetrics {
  return { id, kind, tasks: 1, emitted: 0, transferred: 0, executed: 0, acked: 0, failed: 0, queued: 0, errors: 0, ...figures };
}

function error(component: string, message: string, count: number): ReportedError {
  return { component, task: 3, code: 'E_COMPONENT_THREW', stream: undefined, details: { secret: 'never shown' }, message, stack: 'Error: at somewhere', count };
}

function snapshot(uptimeMs: number, components: ComponentMetrics[], errors: ReportedError[] = []): MetricsSnapshot {
  return { uptimeMs, components, hosts: [{ host: 0, tasks: 6, emitted: 0, executed: 0, acked: 0, failed: 0, queued: 0 }], totals: { emitted: components.reduce((a, c) => a + c.emitted, 0), acked: 0, failed: 0, timedOut: 0, pending: 0 }, errors, errorsDropped: 0 };
}

async function view(): Promise<UiView> {
  const topology = await loadTopologyModule('test/ui/fixtures/ui-demo.ts');
  const run = { id: 'r1', topology, mode: 'local', plan: { hosts: [{}], strategy: 'even' } } as unknown as TopologyRun;
  return new UiView(run, false);
}

let seq = 0;
function sample(metrics: MetricsSnapshot): Sample {
  return { seq: ++seq, time: 1_000_000 + metrics.uptimeMs, status: 'active', metrics, hosts: [{ host: 0, state: 'running', restarts: 0, lastError: null, tasks: 6 }] };
}

describe('UiView', () => {
  it('gives per-second rates between two samples, edge rates (exact where the snapshot tells them apart), load and back pressure', async () => {
    const v = await view();
    v.update(sample(snapshot(1000, [
      component('numbers', 'spout', { emitted: 1000, transferred: 1000, pending: 100, timedOut: 0 }),
      component('square', 'bolt', { tasks: 2, emitted: 1000, transferred: 2000, executed: 1000, capacity: 0.2 }),
      component('flaky', 'bolt', { executed: 1000, emitted: 980, transferred: 980 }),
      component('tally', 'bolt', { executed: 1980 }),
    ])));
    const s = v.update(sample(snapshot(3000, [
      component('numbers', 'spout', { emitted: 5000, transferred: 5000, pending: 500, timedOut: 0 }),
      component('square', 'bolt', { tasks: 2, emitted: 5000, transferred: 10000, executed: 5000, capacity: 0.5, queued: 1024 }),
      component('flaky', 'bolt', { executed: 5000, emitted: 4900, transferred: 4900 }),
      component('tally', 'bolt', { executed: 9900, capacity: 2 }),
      component('__acker', 'acker', { executed: 7 }),
    ])));
    const c = Object.fromEntries(s.components.map((x) => [x.id, x]));
    // In the graph's order, the acker last.
    expect(s.components.map((x) => x.id)).toEqual(['numbers', 'square', 'flaky', 'tally', '__acker']);
    expect(c['numbers']!.rates).toEqual({ emitted: 2000, transferred: 2000, executed: 0, acked: 0 });
    expect(c['square']!.rates.executed).toBe(2000);
    // numbers has one way out: its deliveries are the edge's; flaky has one way out too. square has two, and tally two ways in: an upper bound.
    expect(Object.fromEntries(s.edges.map((e) => [e.id, [e.rate, e.exact]]))).toEqual({
      'numbers->square:default': [2000, true],
      'square->flaky:default': [2000, true],
      'square->tally:default': [4000, false],
      'flaky->tally:default': [1960, true],
    });
    expect(c['numbers']!.load).toBe(0.5); // 500 in flight of maxSpoutPending 1000
    expect(c['square']!.load).toBe(0.5); // capacity
    expect(c['tally']!.load).toBe(1); // clamped
    expect(c['square']!.backPressure).toBe(0.5); // 1024 queued in 2 mailboxes of 1024
    expect(s.point.emitted).toBe((5000 + 5000 + 4900 - 1000 - 1000 - 980) / 2);
    expect(v.points()).toHaveLength(2);
  });

  it("shows as a component's last error the one whose count grew last, with its count, without details or stack", async () => {
    const v = await view();
    const comps = [component('flaky', 'bolt', { errors: 3 })];
    let s = v.update(sample(snapshot(1000, comps, [error('flaky', 'first', 1), error('flaky', 'second', 2)])));
    expect(s.components[0]!.lastError).toEqual({ message: 'second', code: 'E_COMPONENT_THREW', task: 3, count: 2 });
    s = v.update(sample(snapshot(2000, comps, [error('flaky', 'first', 5), error('flaky', 'second', 2)])));
    expect(s.components[0]!.lastError).toEqual({ message: 'first', code: 'E_COMPONENT_THREW', task: 3, count: 5 });
    expect(JSON.stringify(s)).not.toMatch(/never shown|at somewhere/);
    const long = 'x'.repeat(2000);
    s = v.update(sample(snapshot(3000, comps, [error('flaky', long, 1)])));
    expect(s.components[0]!.lastError!.message).toHaveLength(500);
  });

  it("passes a checkpointing run's checkpoints on, and null for the others; a local run's host has stopped once it is killed", async () => {
    const v = await view();
    expect(v.update(sample(snapshot(1000, []))).checkpoints).toBeNull();
    const checkpoints = { completed: 4, aborted: 1, lastCompletedId: 5, inFlight: 6, lastDurationMs: 12.500000001, lastEntries: 100, durationsMs: [10, 12.5], lastAbortReason: 'timed out after 60000 ms', restoredFrom: 1 };
    const s = v.update({ ...sample({ ...snapshot(2000, []), checkpoints }), status: 'killed' });
    expect(s.checkpoints).toEqual({ completed: 4, aborted: 1, lastCompletedId: 5, inFlight: 6, lastDurationMs: 12.5, restoredFrom: 1, rollbacks: 0, lastAbortReason: 'timed out after 60000 ms' });
    expect(s.hosts.map((h) => h.state)).toEqual(['stopped']);
  });

  it('keeps at most historySize chart points, oldest dropped first', async () => {
    const topology = await loadTopologyModule('test/ui/fixtures/ui-demo.ts');
    const v = new UiView({ id: 'r', topology, mode: 'local', plan: { hosts: [], strategy: 'even' } } as unknown as TopologyRun, true, 3);
    for (let i = 1; i <= 5; i++) v.update(sample(snapshot(i * 1000, [])));
    expect(v.points().map((p) => p.time - 1_000_000)).toEqual([3000, 4000, 5000]);
    expect(v.layout.readOnly).toBe(true);
  });
});
