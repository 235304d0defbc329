import { describe, expect, it } from 'vitest';
import { parseStrategy, parseThreadHeapMb } from '../../src/cli/args.ts';
import { describeTopology, formatDescription } from '../../src/cli/describe.ts';
import { StatusLine, fitWidth, formatStatusLine, latestCrash } from '../../src/cli/status-line.ts';
import type { StatusSample } from '../../src/cli/status-line.ts';
import { buildReport, formatSummary } from '../../src/cli/summary.ts';
import type { ReportInput } from '../../src/cli/summary.ts';
import type { MetricsSnapshot, ReportedError } from '../../src/runtime/metrics.ts';
import type { HostStatus } from '../../src/runtime/run.ts';
import { planTopology } from '../../src/scheduler/index.ts';
import { loadTopologyModule } from '../../src/topology/module.ts';
import { ROOT } from './cli.ts';

const CRASH: ReportedError = {
  component: '__host1',
  task: 1,
  code: 'E_HOST_CRASHED',
  stream: undefined,
  details: undefined,
  message: 'host 1 crashed: boom\nsecond line',
  stack: 'Error: host 1 crashed: boom\n    caused by: Error: boom\n    at Timeout._onTimeout (/x/crasher.ts:42:13)',
  count: 1,
};

function metrics(uptimeMs: number, errors: ReportedError[] = []): MetricsSnapshot {
  return {
    uptimeMs,
    components: [
      { id: 'b', kind: 'bolt', tasks: 2, emitted: 40, transferred: 40, executed: 20, queued: 3, acked: 20, failed: 0, executeLatencyMs: 0.0125, capacity: 0.5, errors: 0 },
      { id: 's', kind: 'spout', tasks: 1, emitted: 20, transferred: 20, executed: 0, queued: 0, acked: 20, failed: 0, timedOut: 0, pending: 0, completeLatencyMs: { p50: 1, p99: 2, max: 3 }, errors: 0 },
      { id: '__acker', kind: 'acker', tasks: 1, emitted: 0, transferred: 0, executed: 60, queued: 0, acked: 0, failed: 0, errors: 0 },
    ],
    hosts: [
      { host: 0, tasks: 2, emitted: 30, executed: 40, acked: 30, failed: 0, queued: 1 },
      // A restarted host's counters span both of its threads; its task count is the plan's, from hosts().
      { host: 1, tasks: 4, emitted: 30, executed: 40, acked: 10, failed: 0, queued: 2 },
    ],
    totals: { emitted: 60, acked: 20, failed: 0, timedOut: 0, pending: 0 },
    errors,
    errorsDropped: 0,
  };
}

const up = (host: number, restarts = 0, lastError: string | null = null): HostStatus => ({ host, state: 'running', restarts, lastError, tasks: 2 });

function sample(atMs: number, hosts: HostStatus[], errors: ReportedError[] = []): StatusSample {
  return { atMs, metrics: metrics(atMs, errors), status: 'active', hosts };
}

describe('status line with hosts', () => {
  it('adds nothing for one host that is up (local mode)', () => {
    expect(formatStatusLine('wc', null, sample(1000, [up(0)]))).not.toContain('host');
  });

  it('counts hosts up and restarts when there are several', () => {
    expect(formatStatusLine('wc', null, sample(1000, [up(0), up(1)]))).toMatch(/ms {2}hosts 2\/2 up$/);
    expect(formatStatusLine('wc', null, sample(1000, [up(0), up(1, 1, 'boom')], [CRASH]))).toMatch(/hosts 2\/2 up, 1 restart {2}errors 1 {2}host 1 crashed: boom$/);
    expect(formatStatusLine('wc', null, sample(1000, [up(0, 2), up(1, 1)]))).toContain('hosts 2/2 up, 3 restarts');
  });

  it('names a host that is not running, and ends with the first line of its crash', () => {
    const hosts: HostStatus[] = [up(0), { host: 1, state: 'restarting', restarts: 1, lastError: 'boom', tasks: 2 }];
    const line = formatStatusLine('wc', null, sample(1000, hosts, [CRASH]));
    expect(line).toContain('  hosts 1/2 up, 1 restart  host 1 restarting  errors 1  host 1 crashed: boom');
    expect(line.endsWith('host 1 crashed: boom')).toBe(true);
    expect(line).not.toContain('second line');
  });

  it('shows the state of a single worker thread that is down', () => {
    const line = formatStatusLine('wc', null, sample(1000, [{ host: 0, state: 'failed', restarts: 10, lastError: 'E_X: oom', tasks: 4 }]));
    expect(line).toContain('host 0 failed');
    expect(line).toMatch(/host 0: E_X: oom$/);
    expect(line).not.toContain('hosts ');
  });

  it('picks the crash of a host that is down, then of one that restarted since the last sample', () => {
    const other: ReportedError = { ...CRASH, component: '__host0', task: 0, message: 'host 0 crashed: older' };
    const prev = sample(1000, [up(0, 1, 'older'), up(1, 0)]);
    expect(latestCrash(prev, sample(2000, [up(0, 1, 'older'), up(1, 1, 'boom')], [CRASH, other]))).toBe('host 1 crashed: boom');
    expect(latestCrash(null, sample(2000, [{ ...up(0, 1, 'older'), state: 'crashed' }, up(1, 1, 'boom')], [CRASH, other]))).toBe('host 0 crashed: older');
    // Nothing new: the last host error reported.
    expect(latestCrash(null, sample(2000, [up(0, 1, 'older'), up(1, 1, 'boom')], [CRASH, other]))).toBe('host 0 crashed: older');
    expect(latestCrash(null, sample(2000, [up(0), up(1)]))).toBeNull();
  });

  it('fits the line to the terminal width', () => {
    expect(fitWidth('abcdef', 4)).toBe('abc');
    expect(fitWidth('abc', 4)).toBe('abc');
    expect(fitWidth('abcdef', undefined)).toBe('abcdef');
  });

  it('awaits an asynchronous sample (a refresh) before each redraw, and draws nothing after stop', async () => {
    const written: string[] = [];
    const out = { columns: 60, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream;
    let refreshes = 0;
    let release: () => void = () => {};
    const line = new StatusLine(out, 'wc', async () => {
      refreshes++;
      if (refreshes === 3) await new Promise<void>((r) => (release = r));
      return sample(refreshes * 1000, [up(0), up(1)]);
    }, 5);
    line.start();
    while (refreshes < 3) await new Promise((r) => setTimeout(r, 5));
    expect(written).toHaveLength(1);
    expect(written[0]!.length).toBeLessThanOrEqual(60 + 5);
    expect(written[0]).toContain('wc active 2s');
    const stopped = line.stop();
    release();
    await stopped;
    // The line is cleared; the sample that was being taken is not drawn.
    expect(written).toHaveLength(2);
    expect(written[1]).toBe('\r\x1b[2K');
    expect(refreshes).toBe(3);
  });
});

function input(over: Partial<ReportInput> = {}): ReportInput {
  return {
    topology: 't',
    runId: 'r',
    status: 'killed',
    stoppedBy: 'duration',
    threads: 2,
    hosts: [
      { host: 1, state: 'stopped', restarts: 1, lastError: 'boom\nmore', tasks: 2 },
      { host: 0, state: 'stopped', restarts: 0, lastError: null, tasks: 2 },
    ],
    metrics: metrics(2000, [CRASH]),
    withStacks: false,
    ...over,
  };
}

describe('report and summary with hosts', () => {
  it('joins host states with their counters, and gives bolts execute latency and capacity', () => {
    const r = buildReport(input());
    expect(r.threads).toBe(2);
    expect(r.hosts).toEqual([
      { host: 0, state: 'stopped', restarts: 0, tasks: 2, emitted: 30, executed: 40, acked: 30, failed: 0, queued: 1, lastError: null },
      { host: 1, state: 'stopped', restarts: 1, tasks: 2, emitted: 30, executed: 40, acked: 10, failed: 0, queued: 2, lastError: 'boom\nmore' },
    ]);
    expect(r.components['b']).toMatchObject({ executeLatencyMs: 0.0125, capacity: 0.5 });
    expect(r.components['s']).not.toHaveProperty('executeLatencyMs');
    expect(r.components['__acker']).not.toHaveProperty('capacity');
    expect(r.errors).toEqual([{ component: '__host1', task: 1, code: 'E_HOST_CRASHED', message: 'host 1 crashed: boom\nsecond line', count: 1 }]);
    expect(buildReport(input({ withStacks: true })).errors[0]!.stack).toContain('crasher.ts:42');
  });

  it('prints a host table with threads, exec ms and capacity for bolts, and host errors with their stacks', () => {
    const text = formatSummary(buildReport(input({ withStacks: true })));
    expect(text).toMatch(/^component\s+kind\s+tasks\s+emitted\s+transferred\s+executed\s+acked\s+failed\s+errors\s+exec ms\s+capacity$/m);
    expect(text).toMatch(/^b\s+bolt\s+2\s+40\s+40\s+20\s+20\s+0\s+0\s+0\.013\s+0\.500$/m);
    expect(text).toMatch(/^s\s+spout\s+1\s.*\s+-\s+-$/m);
    expect(text).toMatch(/^host\s+state\s+restarts\s+tasks\s+emitted\s+executed\s+acked\s+queued\s+last error$/m);
    expect(text).toMatch(/^\s+0\s+stopped\s+0\s+2\s+30\s+40\s+30\s+1\s+-$/m);
    expect(text).toMatch(/^\s+1\s+stopped\s+1\s+2\s+30\s+40\s+10\s+2\s+boom$/m);
    expect(text).toContain('errors reported by components and worker hosts');
    expect(text).toMatch(/^__host1\s+-\s+E_HOST_CRASHED\s+1\s+host 1 crashed: boom second line$/m);
    expect(text).toContain('__host1 (host 1):\nError: host 1 crashed: boom\n    caused by: Error: boom\n    at Timeout._onTimeout (/x/crasher.ts:42:13)\n');
  });

  it('leaves the host table out in local mode', () => {
    const text = formatSummary(buildReport(input({ threads: 0, hosts: [{ host: 0, state: 'stopped', restarts: 0, lastError: null, tasks: 4 }] })));
    expect(text).not.toMatch(/^host\s+state/m);
    expect(formatSummary(buildReport(input({ withStacks: false })))).not.toContain('(host 1):');
  });
});

describe('--strategy and --thread-heap-mb', () => {
  it('takes a strategy by name, resource-aware with the thread heap as its memory budget', () => {
    expect(parseStrategy(undefined).name).toBe('even');
    expect(parseStrategy('even').name).toBe('even');
    expect(parseStrategy('resource-aware', 512)).toMatchObject({ name: 'resource-aware', budget: { cpuPerHost: 100, memoryMbPerHost: 512 } });
    expect(parseStrategy('resource-aware')).toMatchObject({ budget: { memoryMbPerHost: 1024 } });
    expect(() => parseStrategy('bogus')).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
  });

  it('takes the thread heap as whole MB, at least 16', () => {
    expect(parseThreadHeapMb(undefined)).toBe(1024);
    expect(parseThreadHeapMb('256')).toBe(256);
    for (const bad of ['', '0', '15', '1.5', '-1', 'lots']) {
      expect(() => parseThreadHeapMb(bad)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
    }
  });

  it('describes the plan a strategy makes: its name, budget and what each host holds', async () => {
    const t = await loadTopologyModule('topologies/word-count.ts', ROOT);
    const strategy = parseStrategy('resource-aware', 512);
    const d = describeTopology(t, planTopology(t, { hosts: 2, strategy }), strategy);
    expect(d.plan.strategy).toBe('resource-aware');
    expect(d.plan.budget).toEqual({ cpuPerHost: 100, memoryMbPerHost: 512 });
    expect(d.components['split']!.resources).toEqual({ cpu: 10, memoryMb: 64 });
    // Three tasks of 10 cpu / 64 MB and an acker of 5 / 32 over two hosts.
    expect(d.plan.hostResources.map((h) => h.cpu).sort()).toEqual([25, 30]);
    expect(d.plan.hostResources.reduce((n, h) => n + h.memoryMb, 0)).toBe(5 * 64 + 32);
    const text = formatDescription(d);
    expect(text).toContain('plan: 6 tasks on 2 hosts, strategy resource-aware (per host: cpu 100, memory 512 MB)');
    expect(text).toMatch(/^host\s+tasks\s+cpu\s+memory MB\s+components$/m);

    const even = describeTopology(t, planTopology(t, { hosts: 2 }));
    expect(even.plan.strategy).toBe('even');
    expect(even.plan).not.toHaveProperty('budget');
  });
});
