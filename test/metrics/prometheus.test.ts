/**
 * /metrics, parsed by a strict Prometheus text-format parser: names, types,
 * labels, and values that agree with run.metrics() and the JSON summary of
 * the same moment.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/cli/summary.ts';
import { cumulativeBuckets, EXECUTE_BOUNDS_S, LATENCY_BOUNDS_S, parseMetricsPort, PrometheusMetrics, serveMetrics } from '../../src/metrics/index.ts';
import type { MetricsServer } from '../../src/metrics/index.ts';
import { SimulatedClock, submit } from '../../src/runtime/index.ts';
import type { MetricsSnapshot, TopologyRun } from '../../src/runtime/index.ts';
import { loadTopologyModule } from '../../src/topology/index.ts';
import { SENTENCES } from '../../topologies/word-count.ts';
import { parsePrometheusText } from './prom-text.ts';
import type { Family, Sample } from './prom-text.ts';

const TYPES: Record<string, Family['type']> = {
  squall_run_info: 'gauge',
  squall_uptime_seconds: 'gauge',
  squall_tuples_emitted_total: 'counter',
  squall_tuples_transferred_total: 'counter',
  squall_tuples_executed_total: 'counter',
  squall_tuples_acked_total: 'counter',
  squall_tuples_failed_total: 'counter',
  squall_queue_depth: 'gauge',
  squall_pending_trees: 'gauge',
  squall_errors_total: 'counter',
  squall_component_tasks: 'gauge',
  squall_execute_latency_seconds: 'histogram',
  squall_task_stuck: 'gauge',
  squall_traced_trees_total: 'counter',
  squall_traced_timeouts_total: 'counter',
  squall_capacity: 'gauge',
  squall_complete_latency_seconds: 'histogram',
  squall_host_state: 'gauge',
  squall_host_restarts_total: 'counter',
  squall_host_tasks: 'gauge',
  squall_back_pressured_seconds_total: 'counter',
  squall_watermark_seconds: 'gauge',
  squall_spout_lag: 'gauge',
  squall_component_metric: 'gauge',
  squall_checkpoints_total: 'counter',
  squall_checkpoint_duration_seconds: 'gauge',
  squall_checkpoint_last_id: 'gauge',
};

/** The label names each metric carries: never a tuple value or id. */
const LABELS: Record<string, string[]> = {
  squall_run_info: ['mode', 'run_id', 'topology'],
  squall_uptime_seconds: ['topology'],
  squall_tuples_emitted_total: ['component', 'task', 'topology'],
  squall_tuples_transferred_total: ['component', 'task', 'topology'],
  squall_tuples_executed_total: ['component', 'task', 'topology'],
  squall_tuples_acked_total: ['component', 'task', 'topology'],
  squall_tuples_failed_total: ['component', 'reason', 'task', 'topology'],
  squall_queue_depth: ['component', 'task', 'topology'],
  squall_pending_trees: ['component', 'task', 'topology'],
  squall_errors_total: ['component', 'topology'],
  squall_component_tasks: ['component', 'topology'],
  squall_execute_latency_seconds: ['component', 'topology'],
  squall_task_stuck: ['component', 'task', 'topology'],
  squall_traced_trees_total: ['component', 'topology'],
  squall_traced_timeouts_total: ['topology'],
  squall_capacity: ['component', 'topology'],
  squall_complete_latency_seconds: ['component', 'topology'],
  squall_host_state: ['host', 'state', 'topology'],
  squall_host_restarts_total: ['host', 'topology'],
  squall_host_tasks: ['host', 'topology'],
  squall_back_pressured_seconds_total: ['component', 'task', 'topology'],
  squall_watermark_seconds: ['component', 'topology'],
  squall_spout_lag: ['component', 'topology'],
  squall_component_metric: ['component', 'name', 'topology'],
  squall_checkpoints_total: ['outcome', 'topology'],
  squall_checkpoint_duration_seconds: ['topology'],
  squall_checkpoint_last_id: ['topology'],
};

let run: TopologyRun | null = null;
let server: MetricsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  if (run && (run.status === 'active' || run.status === 'inactive')) await run.kill({ waitMs: 0 });
  run = null;
});

async function runToDone(r: TopologyRun, maxMs = 30_000): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    await r.refresh();
    if (r.isDone()) return;
    if (performance.now() - t0 > maxMs) throw new Error(`not done after ${maxMs} ms: ${JSON.stringify(r.metrics().totals)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function scrape(s: MetricsServer): Promise<{ families: Map<string, Family>; contentType: string | null }> {
  const res = await fetch(s.url);
  expect(res.status).toBe(200);
  return { families: parsePrometheusText(await res.text()), contentType: res.headers.get('content-type') };
}

function values(f: Family | undefined, name = f?.name): Sample[] {
  expect(f, `family ${String(name)}`).toBeDefined();
  return f!.samples.filter((s) => s.name === name);
}

/** Sum of a metric's samples per component (optionally only those with a label value). */
function perComponent(f: Family | undefined, where: Record<string, string> = {}): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of values(f)) {
    if (Object.entries(where).some(([k, v]) => s.labels[k] !== v)) continue;
    out.set(s.labels.component!, (out.get(s.labels.component!) ?? 0) + s.value);
  }
  return out;
}

/** Check every agreement between a scrape and the snapshot it was made from. */
function expectAgrees(families: Map<string, Family>, snap: MetricsSnapshot, topology: string): void {
  for (const [name, type] of Object.entries(TYPES)) expect(families.get(name)?.type, name).toBe(type);
  const components = new Set(snap.components.map((c) => c.id));
  const tasks = new Map((snap.tasks ?? []).map((t) => [String(t.task), t]));
  const words = new Set(SENTENCES.flatMap((s) => [s, ...s.split(' ')]));
  for (const f of families.values()) {
    if (!f.name.startsWith('squall_')) continue;
    expect(Object.keys(LABELS), `${f.name} is documented here`).toContain(f.name);
    for (const s of f.samples) {
      const names = Object.keys(s.labels)
        .filter((l) => l !== 'le')
        .sort();
      expect(names, f.name).toEqual(LABELS[f.name]);
      expect(s.labels.topology).toBe(topology);
      if (s.labels.component !== undefined) expect(components).toContain(s.labels.component);
      if (s.labels.task !== undefined) {
        expect(tasks.get(s.labels.task)?.component, `${f.name} task ${s.labels.task}`).toBe(s.labels.component);
      }
      if (s.labels.reason !== undefined) expect(['fail', 'timeout']).toContain(s.labels.reason);
      // No tuple value in any label.
      for (const v of Object.values(s.labels)) expect(words.has(v), `${f.name} label value '${v}'`).toBe(false);
    }
  }

  // Counters per task, exactly the snapshot's; their sums per component, the components'.
  const byTask = (name: string, field: 'emitted' | 'transferred' | 'executed' | 'acked' | 'queued' | 'pending', extra: Record<string, string> = {}) => {
    const got = new Map(values(families.get(name)).filter((s) => Object.entries(extra).every(([k, v]) => s.labels[k] === v)).map((s) => [s.labels.task!, s.value]));
    for (const [id, t] of tasks) {
      if ((field === 'executed' && t.kind === 'spout') || (field === 'pending' && t.kind !== 'spout')) expect(got.has(id)).toBe(false);
      else expect(got.get(id), `${name} task ${id}`).toBe(t[field]);
    }
  };
  byTask('squall_tuples_emitted_total', 'emitted');
  byTask('squall_tuples_transferred_total', 'transferred');
  byTask('squall_tuples_executed_total', 'executed');
  byTask('squall_tuples_acked_total', 'acked');
  byTask('squall_queue_depth', 'queued');
  byTask('squall_pending_trees', 'pending');
  const emitted = perComponent(families.get('squall_tuples_emitted_total'));
  const acked = perComponent(families.get('squall_tuples_acked_total'));
  const failed = perComponent(families.get('squall_tuples_failed_total'), { reason: 'fail' });
  const timedOut = perComponent(families.get('squall_tuples_failed_total'), { reason: 'timeout' });
  const executed = perComponent(families.get('squall_tuples_executed_total'));
  for (const c of snap.components) {
    expect(emitted.get(c.id), `${c.id} emitted`).toBe(c.emitted);
    expect(acked.get(c.id), `${c.id} acked`).toBe(c.acked);
    expect(failed.get(c.id), `${c.id} failed`).toBe(c.failed);
    if (c.kind === 'spout') {
      expect(timedOut.get(c.id), `${c.id} timed out`).toBe(c.timedOut);
      expect(executed.has(c.id)).toBe(false);
    } else expect(executed.get(c.id), `${c.id} executed`).toBe(c.executed);
  }

  const byComponent = (name: string) => new Map(values(families.get(name)).map((s) => [s.labels.component!, s.value]));
  const errors = byComponent('squall_errors_total');
  const taskCount = byComponent('squall_component_tasks');
  const capacity = byComponent('squall_capacity');
  const traced = byComponent('squall_traced_trees_total');
  for (const c of snap.components) {
    expect(errors.get(c.id)).toBe(c.errors);
    expect(taskCount.get(c.id)).toBe(c.tasks);
    if (c.kind === 'bolt') expect(capacity.get(c.id)).toBe(c.capacity);
    else expect(capacity.has(c.id)).toBe(false);
    if (c.kind === 'spout') expect(traced.get(c.id)).toBe(c.traced);
    else expect(traced.has(c.id)).toBe(false);
  }
  expect(values(families.get('squall_traced_timeouts_total'))[0]!.value).toBe(snap.tracedTimeouts);
  // Stuck: 1 for the bolt tasks the snapshot flags, 0 for the other bolt tasks; no series for spouts and ackers.
  const stuck = new Map(values(families.get('squall_task_stuck')).map((s) => [s.labels.task!, s.value]));
  for (const [id, t] of tasks) {
    if (t.kind === 'bolt') expect(stuck.get(id), `stuck task ${id}`).toBe(t.stuckMs >= 0 ? 1 : 0);
    else expect(stuck.has(id)).toBe(false);
  }

  // The latency histograms: the snapshot's buckets, cumulative, in seconds; complete latency per spout, execute latency per bolt.
  const histogram = (name: string, kind: 'spout' | 'bolt', bounds: readonly number[], sparseOf: (c: MetricsSnapshot['components'][number]) => number[], sumMsOf: (c: MetricsSnapshot['components'][number]) => number) => {
    const h = families.get(name)!;
    expect(new Set(h.samples.map((s) => s.labels.component))).toEqual(new Set(snap.components.filter((x) => x.kind === kind).map((x) => x.id)));
    for (const c of snap.components.filter((x) => x.kind === kind)) {
      const mine = h.samples.filter((s) => s.labels.component === c.id);
      const sparse = sparseOf(c);
      let sampled = 0;
      for (let i = 1; i < sparse.length; i += 2) sampled += sparse[i]!;
      const count = mine.find((s) => s.name.endsWith('_count'))!.value;
      expect(count, `${name} ${c.id} _count: the samples`).toBe(sampled);
      expect(mine.find((s) => s.name.endsWith('_sum'))!.value).toBeCloseTo(sumMsOf(c) / 1000, 9);
      const buckets = mine.filter((s) => s.name.endsWith('_bucket'));
      expect(buckets.map((b) => b.labels.le)).toEqual([...bounds.map(String), '+Inf']);
      expect(buckets.at(-1)!.value).toBe(count);
      const expected = cumulativeBuckets(sparse, bounds);
      for (let i = 0; i < expected.length; i++) expect(buckets[i]!.value).toBe(expected[i]!.count);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    }
  };
  histogram('squall_complete_latency_seconds', 'spout', LATENCY_BOUNDS_S, (c) => c.completeLatencyBuckets!, (c) => c.completeLatencySumMs!);
  histogram('squall_execute_latency_seconds', 'bolt', EXECUTE_BOUNDS_S, (c) => c.executeLatencyBuckets!, (c) => c.executeLatencySumMs!);
  // Execute latency: its _count is the sampled executes (1 in 16), its mean the summary's executeLatencyMs.
  for (const c of snap.components.filter((x) => x.kind === 'bolt')) {
    const perTask = [...tasks.values()].filter((t) => t.component === c.id).reduce((n, t) => n + Math.floor(t.executed / 16), 0);
    expect(c.executeLatencyCount, `${c.id}: one execute in 16 sampled, per task`).toBe(perTask);
    if (c.executeLatencyCount! > 0) expect(c.executeLatencySumMs! / c.executeLatencyCount!).toBeCloseTo(c.executeLatencyMs!, 2);
  }
}

describe('Prometheus /metrics of a run', () => {
  it('agrees exactly with run.metrics() and the JSON summary once a finite run is quiet (local mode)', async () => {
    const topology = await loadTopologyModule('topologies/word-count.ts');
    run = await submit(topology, { config: { sentences: 4000 } });
    server = await serveMetrics(run, { port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await runToDone(run);

    const { families, contentType } = await scrape(server);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const snap = server.metrics.last!;
    expect(snap.totals.acked).toBe(4000);
    // Quiet: the scrape's snapshot is the run's now.
    expect(counts(run.metrics())).toEqual(counts(snap));
    expectAgrees(families, snap, 'word-count');
    // Complete latencies were sampled (1 in 8 trees).
    expect(values(families.get('squall_complete_latency_seconds'), 'squall_complete_latency_seconds_count')[0]!.value).toBeGreaterThan(0);

    // After the kill: the JSON summary is built from the same snapshot the scrape shows.
    const final = await run.kill();
    const after = await scrape(server);
    const snap2 = server.metrics.last!;
    expect(counts(snap2)).toEqual(counts(final));
    expectAgrees(after.families, snap2, 'word-count');
    const report = JSON.parse(
      JSON.stringify(buildReport({ topology: 'word-count', runId: run.id, status: run.status, stoppedBy: 'done', threads: 0, hosts: run.hosts(), metrics: final, withStacks: false })),
    ) as { components: Record<string, { emitted: number; acked: number; failed: number; executed: number }>; spouts: Record<string, { timedOut: number; pending: number }> };
    const emitted = perComponent(after.families.get('squall_tuples_emitted_total'));
    const acked = perComponent(after.families.get('squall_tuples_acked_total'));
    for (const [id, c] of Object.entries(report.components)) {
      expect(emitted.get(id), id).toBe(c.emitted);
      expect(acked.get(id), id).toBe(c.acked);
    }
    const pending = perComponent(after.families.get('squall_pending_trees'));
    for (const [id, s] of Object.entries(report.spouts)) expect(pending.get(id)).toBe(s.pending);
    const state = values(after.families.get('squall_host_state')).filter((s) => s.value === 1);
    expect(state.map((s) => [s.labels.host, s.labels.state])).toEqual(report_hosts(run));

    // docs/metrics.md lists every squall_* metric, with its type.
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const documented = new Map([...doc.matchAll(/^\| `(squall_\w+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));
    const served = new Map([...after.families.values()].filter((f) => f.name.startsWith('squall_')).map((f) => [f.name, f.type]));
    expect(documented).toEqual(served);

    // Process metrics of the main thread, on the run's own registry.
    expect(after.families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(after.families.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
  }, 60_000);

  it('a stuck task and a traced timeout: the stuck gauge, the counters, and the exemplar in OpenMetrics', async () => {
    const topology = await loadTopologyModule('test/fixtures/topologies/stuck.ts');
    const clock = new SimulatedClock();
    run = await submit(topology, { clock, seed: 3, stepping: 'manual', config: { messageTimeoutMs: 1000, count: 30, hold: [2] } });
    server = await serveMetrics(run, { port: 0 });
    run.settle();
    for (let t = 0; t < 2000; t += 100) {
      clock.advance(100);
      run.settle();
    }
    const { families } = await scrape(server);
    const snap = server.metrics.last!;
    expect(snap.tracedTimeouts).toBe(1);
    const holder = snap.traces![0]!.holders[0]!;
    expect(holder.component).toBe('hold');
    // It holds an input and has acked nothing since: stuck.
    expect(snap.stuck!.map((x) => x.task)).toEqual([holder.task]);
    expectAgrees(families, snap, 'stuck-2');
    expect(values(families.get('squall_task_stuck')).filter((x) => x.value === 1).map((x) => x.labels.task)).toEqual([String(holder.task)]);
    // The 0.0.4 format has no exemplars.
    const plain = await (await fetch(server.url)).text();
    expect(plain).not.toContain(' # {');

    const res = await fetch(server.url, { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const text = await res.text();
    expect(text.endsWith('# EOF\n')).toBe(true);
    const withExemplar = text.split('\n').filter((l) => l.includes(' # {'));
    expect(withExemplar).toHaveLength(1);
    const m = /^squall_complete_latency_seconds_bucket\{topology="stuck-2",component="numbers",le="([^"]+)"\} \d+ # \{component="hold",task="(\d+)"\} ([\d.]+) ([\d.]+)$/.exec(withExemplar[0]!);
    expect(m, withExemplar[0]).not.toBeNull();
    const [, le, task, value, timestamp] = m!;
    expect(Number(task)).toBe(holder.task);
    const age = snap.traces![0]!.ageMs / 1000;
    expect(Number(value)).toBe(age);
    // On the first bucket that takes its value.
    const bounds = [...LATENCY_BOUNDS_S, Infinity];
    const first = bounds.find((b) => age <= b)!;
    expect(le).toBe(first === Infinity ? '+Inf' : String(first));
    expect(Number(timestamp)).toBeCloseTo(snap.traces![0]!.wallMs / 1000, 3);
    // Counters in OpenMetrics: the family without _total, its samples with it.
    expect(text).toContain('# TYPE squall_tuples_acked counter');
    expect(text).toMatch(/^squall_tuples_acked_total\{/m);
  });

  it('agrees per task with worker threads (counters summed over the hosts)', async () => {
    const topology = await loadTopologyModule('topologies/word-count.ts');
    run = await submit(topology, { threads: 2, config: { sentences: 3000 } });
    server = await serveMetrics(run, { port: 0 });
    await runToDone(run);
    const { families } = await scrape(server);
    const snap = server.metrics.last!;
    expect(snap.totals.acked).toBe(3000);
    expectAgrees(families, snap, 'word-count');
    const hosts = values(families.get('squall_host_tasks')).map((s) => s.labels.host).sort();
    expect(hosts).toEqual(['0', '1']);
  }, 60_000);

  it('counters rise between two scrapes of a running topology', async () => {
    const topology = await loadTopologyModule('topologies/word-count.ts');
    run = await submit(topology, {});
    const m = new PrometheusMetrics(run, { processMetrics: false });
    const total = (text: string) => values(parsePrometheusText(text).get('squall_tuples_emitted_total')).reduce((a, s) => a + s.value, 0);
    const first = total(await m.scrape());
    let second = first;
    const deadline = performance.now() + 10_000;
    while (second <= first && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      second = total(await m.scrape());
    }
    expect(second).toBeGreaterThan(first);
    // Without process metrics, only squall's.
    expect([...parsePrometheusText(await m.scrape()).keys()].every((n) => n.startsWith('squall_'))).toBe(true);
  }, 30_000);

  it('answers 404 off /metrics, and a taken port is E_BAD_ARGUMENT', async () => {
    const topology = await loadTopologyModule('topologies/word-count.ts');
    run = await submit(topology, { config: { sentences: 10 } });
    server = await serveMetrics(run, { port: 0 });
    expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
    await expect(serveMetrics(run, { port: server.port })).rejects.toMatchObject({ code: 'E_BAD_ARGUMENT' });
  });

  it('parses ports: no value is 9464, 0 any free port, others E_BAD_ARGUMENT', () => {
    expect(parseMetricsPort(true)).toBe(9464);
    expect(parseMetricsPort(undefined)).toBe(9464);
    expect(parseMetricsPort('0')).toBe(0);
    expect(parseMetricsPort('8080')).toBe(8080);
    for (const bad of ['abc', '-1', '65536', '1.5', '']) expect(() => parseMetricsPort(bad)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
  });

  it('maps the 2^(1/8) µs buckets onto le bounds in seconds', () => {
    // Bucket 80 holds values up to 2^10 µs = 1.024 ms; bucket 0 up to 1 µs; bucket 240 up to 2^30 µs ≈ 1074 s.
    const got = cumulativeBuckets([0, 3, 80, 2, 240, 1]);
    const at = (le: number) => got.find((b) => b.le === le)!.count;
    expect(at(0.00001)).toBe(3);
    expect(at(0.001)).toBe(3);
    expect(at(0.0025)).toBe(5);
    expect(at(10)).toBe(5);
    // An exact power of two on a bound: bucket 8*log2(10^4)… none is exact, but 2^(k/8) µs equal to a bound counts under it.
    expect(cumulativeBuckets([80, 1], [0.001024])[0]!.count).toBe(1);
  });
});

/** The counters of a snapshot (capacity and uptime move with the clock even when a run is quiet). */
function counts(s: MetricsSnapshot): unknown {
  return { tasks: s.tasks, totals: s.totals, components: s.components.map(({ capacity: _c, ...rest }) => rest) };
}

function report_hosts(r: TopologyRun): [string, string][] {
  return r.hosts().map((h) => [String(h.host), h.state === 'running' && r.status === 'killed' ? 'stopped' : h.state]);
}
