import { latencyBetween, submit } from '../src/index.ts';
import type { ComponentMetrics, MetricsSnapshot, Plan, SubmitOptions, Topology, TopologyConfig, TopologyRun } from '../src/index.ts';
import { loadTopologyModule } from '../src/topology/module.ts';
import type { CpuShare } from './cpu.ts';
import { cpuMark, cpuSince } from './cpu.ts';
import type { BenchOptions } from './result.ts';
import { round, rssMb } from './result.ts';

/** What a topology benchmark reads from the run: counters at both ends of the window. */
export interface Window {
  start: MetricsSnapshot;
  end: MetricsSnapshot;
  /** Measured length of the window (timers are late on a busy loop). */
  seconds: number;
  rssMb: number;
  /** CPU this process and the rest of the machine used during the window. */
  cpu: CpuShare;
}

/**
 * Submit a topology, let it warm up, take metrics at the start and the end of
 * the measured window, read RSS, then kill it. Killing waits a little for the
 * trees in flight so the process exits cleanly; that time is not measured.
 */
export async function measureTopology(topology: Topology, config: Partial<TopologyConfig>, options: BenchOptions, submitOptions: Omit<SubmitOptions, 'config'> = {}): Promise<Window> {
  const run = await submit(topology, { ...submitOptions, config });
  try {
    await sleep(options.warmupSeconds * 1000);
    const start = run.metrics();
    const t0 = performance.now();
    const mark = cpuMark();
    await sleep(options.seconds * 1000);
    const end = run.metrics();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSince(mark);
    const rss = rssMb();
    if (end.errors.length > 0) {
      const e = end.errors[0]!;
      throw new Error(`${topology.name}: component '${e.component}' reported ${e.count} error(s): ${e.message}`);
    }
    return { start, end, seconds, rssMb: rss, cpu };
  } finally {
    await run.kill({ waitMs: 2000 });
  }
}

/**
 * The same over worker threads: load the topology from its module (workers
 * import it too), submit it with `threads`, check the placement with
 * `placement` (throw to refuse it), and take every reading after a refresh(),
 * which asks each host for its counters. A reading's time is the middle of
 * its refresh; the hosts answer between turns, at most a few ms apart.
 */
export async function measureThreaded(
  modulePath: string,
  threads: number,
  config: Partial<TopologyConfig>,
  options: BenchOptions,
  placement?: (plan: Plan, topology: Topology) => void,
): Promise<Window> {
  const topology = await loadTopologyModule(modulePath);
  const run = await submit(topology, { config, threads });
  try {
    placement?.(run.plan, run.topology);
    await sleep(options.warmupSeconds * 1000);
    const a = await reading(run);
    const mark = cpuMark();
    await sleep(options.seconds * 1000);
    const b = await reading(run);
    const seconds = (b.at - a.at) / 1000;
    const cpu = cpuSince(mark);
    const rss = rssMb();
    if (b.metrics.errors.length > 0) {
      const e = b.metrics.errors[0]!;
      throw new Error(`${topology.name}: component '${e.component}' reported ${e.count} error(s): ${e.message}`);
    }
    const restarted = run.hosts().filter((h) => h.restarts > 0 || h.state !== 'running');
    if (restarted.length > 0) throw new Error(`${topology.name}: host(s) ${restarted.map((h) => `${h.host} (${h.state}, ${h.restarts} restarts)`).join(', ')} did not run throughout`);
    return { start: a.metrics, end: b.metrics, seconds, rssMb: rss, cpu };
  } finally {
    await run.kill({ waitMs: 2000 });
  }
}

/** Throw unless the tasks of components `a` and `b` all run on hosts the other has none on. */
export function apart(a: string, b: string): (plan: Plan) => void {
  return (plan) => {
    const hostsOf = (c: string) => new Set((plan.componentTasks.get(c) ?? []).map((t) => plan.hostOfTask[t]!));
    const ha = hostsOf(a);
    const hb = hostsOf(b);
    if (ha.size === 0 || hb.size === 0 || [...ha].some((h) => hb.has(h))) {
      throw new Error(`'${a}' (hosts ${[...ha].join(',')}) and '${b}' (hosts ${[...hb].join(',')}) should run on different hosts; change parallelism or component ids`);
    }
  };
}

interface Reading {
  metrics: MetricsSnapshot;
  /** performance.now() in the middle of the refresh. */
  at: number;
}

async function reading(run: TopologyRun): Promise<Reading> {
  const t0 = performance.now();
  await run.refresh();
  const at = (t0 + performance.now()) / 2;
  return { metrics: run.metrics(), at };
}

export function component(m: MetricsSnapshot, id: string): ComponentMetrics {
  const c = m.components.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no component '${id}' in the metrics (have: ${m.components.map((x) => x.id).join(', ')})`);
  return c;
}

/** Per second of the window, of a counter of one component. */
export function rate(w: Window, id: string, counter: 'executed' | 'acked' | 'emitted'): number {
  return Math.round((component(w.end, id)[counter] - component(w.start, id)[counter]) / w.seconds);
}

/** Spout complete latency p99 over the window alone (the warm-up left out), from the public metrics' buckets. */
export function p99Ms(w: Window, spout: string): number {
  const l = latencyBetween(component(w.start, spout), component(w.end, spout));
  if (l.count === 0) throw new Error(`'${spout}' completed no tree in the window`);
  return round(l.p99, 3);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
