import { describe, expect, it } from 'vitest';
import { parseDuration, parseSets } from '../../src/cli/args.ts';
import { describeTopology } from '../../src/cli/describe.ts';
import { formatStatusLine } from '../../src/cli/status-line.ts';
import type { StatusSample } from '../../src/cli/status-line.ts';
import { buildReport } from '../../src/cli/summary.ts';
import type { MetricsSnapshot } from '../../src/runtime/metrics.ts';
import { planTopology } from '../../src/scheduler/index.ts';
import { isSquallError } from '../../src/errors/index.ts';
import { loadTopologyModule } from '../../src/topology/module.ts';
import { ROOT } from './cli.ts';

function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (isSquallError(e) ? e.code : `not a SquallError: ${String(e)}`),
  );
}

describe('CLI arguments', () => {
  it('parses --set values as JSON when they parse, else as strings', () => {
    expect(parseSets(['a=1', 'b=true', 'c={"x":[1]}', 'd=words', 'e=', 'f=x=y', 'a=2'])).toEqual({
      a: 2,
      b: true,
      c: { x: [1] },
      d: 'words',
      e: '',
      f: 'x=y',
    });
  });

  it('rejects --set without a key', () => {
    expect(() => parseSets(['=1'])).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
  });

  it('takes --duration as positive seconds, fractions allowed', () => {
    expect(parseDuration(undefined)).toBeUndefined();
    expect(parseDuration('0.5')).toBe(0.5);
    for (const bad of ['', ' ', '0', '-1', 'NaN', '1s']) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
    }
  });
});

describe('loadTopologyModule', () => {
  it('resolves a relative path from cwd and returns the default export', async () => {
    const t = await loadTopologyModule('topologies/word-count.ts', ROOT);
    expect(t.name).toBe('word-count');
    expect([...t.components.keys()].sort()).toEqual(['count', 'sentences', 'split']);
  });

  it('accepts a file: URL', async () => {
    const t = await loadTopologyModule(new URL('fixtures/async-factory.ts', import.meta.url).href);
    expect(t.name).toBe('async-word-split');
  });

  it('gives each failure its code', async () => {
    expect(await codeOf(loadTopologyModule('test/cli/fixtures/missing.ts', ROOT))).toBe('E_MODULE_NOT_FOUND');
    expect(await codeOf(loadTopologyModule('test/cli/fixtures', ROOT))).toBe('E_MODULE_NOT_FOUND');
    expect(await codeOf(loadTopologyModule('test/cli/fixtures/no-default.ts', ROOT))).toBe('E_NO_TOPOLOGY_EXPORT');
    expect(await codeOf(loadTopologyModule('test/cli/fixtures/not-a-topology.ts', ROOT))).toBe('E_NO_TOPOLOGY_EXPORT');
    expect(await codeOf(loadTopologyModule('test/cli/fixtures/duplicate-ids.ts', ROOT))).toBe('E_DUPLICATE_ID');
    expect(await codeOf(loadTopologyModule('test/cli/fixtures/throws-on-import.ts', ROOT))).toBe('E_MODULE_LOAD');
  });
});

describe('describeTopology', () => {
  it('reads the host of each task from the plan, so several hosts show as such', async () => {
    const t = await loadTopologyModule('topologies/word-count.ts', ROOT);
    const d = describeTopology(t, planTopology(t, { hosts: 2 }));
    expect(d.plan.hosts.map((h) => h.hostId)).toEqual([0, 1]);
    expect(new Set(d.plan.tasks.map((t) => t.host))).toEqual(new Set([0, 1]));
  });
});

function metrics(uptimeMs: number, emitted: number, acked: number): MetricsSnapshot {
  return {
    uptimeMs,
    components: [
      { id: 's', kind: 'spout', tasks: 1, emitted, transferred: emitted, executed: 0, queued: 0, acked, failed: 1, timedOut: 2, pending: 3, completeLatencyMs: { p50: 1, p99: 7.25, max: 9 }, errors: 0 },
      { id: '__acker', kind: 'acker', tasks: 1, emitted: 0, transferred: 0, executed: emitted, queued: 0, acked: 0, failed: 0, errors: 0 },
    ],
    totals: { emitted, acked, failed: 1, timedOut: 2, pending: 3 },
    errors: [{ component: 's', task: 1, code: undefined, stream: undefined, details: undefined, message: 'boom', stack: 'Error: boom\n    at x', count: 4 }],
    errorsDropped: 0,
    hosts: [],
  };
}

describe('status line and report', () => {
  it('shows rates from the deltas between two samples', () => {
    const prev: StatusSample = { atMs: 1000, metrics: metrics(1000, 100, 50), status: 'active' };
    const cur: StatusSample = { atMs: 3000, metrics: metrics(3000, 20_100, 2050), status: 'active' };
    expect(formatStatusLine('wc', prev, cur)).toBe(
      'wc active 3s  tuples emitted 10.0k/s  trees acked 1000/s  failed 1  timed out 2  pending 3  p99 7.3 ms  errors 4',
    );
    expect(formatStatusLine('wc', null, cur)).toContain('tuples emitted -/s  trees acked -/s');
  });

  it('keeps stacks out of the report unless asked', () => {
    const base = { topology: 't', runId: 'r', status: 'killed' as const, stoppedBy: 'signal' as const, threads: 0, hosts: [], metrics: metrics(1500.4, 10, 5) };
    const r = buildReport({ ...base, withStacks: false });
    expect(r.durationMs).toBe(1500);
    expect(r.errors).toEqual([{ component: 's', task: 1, code: null, message: 'boom', count: 4 }]);
    expect(r.spouts['s']).toEqual({ acked: 5, failed: 1, timedOut: 2, pending: 3, completeLatencyMs: { p50: 1, p99: 7.25, max: 9 } });
    expect(r.components['__acker']!.kind).toBe('acker');
    expect(buildReport({ ...base, withStacks: true }).errors[0]!.stack).toContain('at x');
  });
});
