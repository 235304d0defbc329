import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricObjectWithValues, MetricValueWithName } from 'prom-client';
import type { ComponentMetrics, HostStatus, MetricsSnapshot, TaskMetrics, TopologyRun } from '../runtime/index.ts';

/**
 * The `le` bounds (seconds) of squall_complete_latency_seconds: 10 µs to 10 s
 * in 1-2.5-5 steps. A sample is counted under a bound when its histogram
 * bucket (2^(1/8) wide, about 9%, over microseconds) lies wholly at or
 * below it, so a count under `le` can miss samples up to 9% below it.
 */
export const LATENCY_BOUNDS_S: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Sub-buckets per power of two of src/kernel/histogram.ts: bucket i holds values up to 2^(i/8) µs. */
const SUB = 8;

/** Every host state the supervisor knows: squall_host_state has one series per state, 1 for the current one. */
const HOST_STATES = ['starting', 'running', 'crashed', 'restarting', 'failed', 'stopped'] as const;

/**
 * Cumulative counts per `le` bound (and +Inf) from a snapshot's sparse
 * histogram ([index, count, ...], bucket i holding values up to 2^(i/8) µs).
 */
export function cumulativeBuckets(sparse: readonly number[], boundsS: readonly number[] = LATENCY_BOUNDS_S): { le: number; count: number }[] {
  const out = boundsS.map((le) => ({ le, count: 0 }));
  for (let i = 0; i < sparse.length; i += 2) {
    const upperUs = 2 ** (sparse[i]! / SUB);
    const n = sparse[i + 1]!;
    for (const b of out) if (upperUs <= b.le * 1e6 * (1 + 1e-9)) b.count += n;
  }
  return out;
}

/** The complete-latency histogram, whose values are the snapshot's buckets (prom-client's Histogram only observes one value at a time). */
const COMPLETE_LATENCY = 'squall_complete_latency_seconds';
const COMPLETE_LATENCY_HELP = 'Spouts: complete latency, emit to tuple tree done, over the run, of the sampled trees (1 in 8).';

class SnapshotHistogram extends Histogram<'topology' | 'component'> {
  spouts: { labels: { topology: string; component: string }; m: ComponentMetrics }[] = [];

  // The registry reads getForPromString() when a metric has it (prom-client's Histogram does), get() otherwise.
  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<'topology' | 'component'>>> {
    return this.getForPromString();
  }

  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<'topology' | 'component'>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, m } of this.spouts) {
      const sparse = m.completeLatencyBuckets ?? [];
      let count = 0;
      for (let i = 1; i < sparse.length; i += 2) count += sparse[i]!;
      for (const b of cumulativeBuckets(sparse)) values.push({ metricName: `${COMPLETE_LATENCY}_bucket`, labels: { ...labels, le: b.le }, value: b.count });
      values.push({ metricName: `${COMPLETE_LATENCY}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${COMPLETE_LATENCY}_sum`, labels, value: (m.completeLatencySumMs ?? 0) / 1000 });
      values.push({ metricName: `${COMPLETE_LATENCY}_count`, labels, value: count });
    }
    return { name: COMPLETE_LATENCY, help: COMPLETE_LATENCY_HELP, type: 'histogram', aggregator: 'sum', values } as unknown as MetricObjectWithValues<
      MetricValueWithName<'topology' | 'component'>
    >;
  }
}

type TaskLabels = 'topology' | 'component' | 'task';

export interface PrometheusMetricsOptions {
  /** Also prom-client's default process and Node.js metrics of this (the main) thread (default true). */
  processMetrics?: boolean;
}

/**
 * A topology run's metrics in the Prometheus text format, through
 * prom-client, on a registry of its own (not prom-client's global one).
 * Each scrape takes ONE snapshot (`await run.refresh()`, then
 * `run.metrics()`, what the status line and the JSON summary read) and
 * sets every squall_* metric from it, so a scrape never mixes two moments
 * and never disagrees with them. Names and meanings: docs/metrics.md.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  /** The snapshot the latest scrape exposed. */
  last: MetricsSnapshot | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly topology: string;

  private readonly emitted: Counter<TaskLabels>;
  private readonly transferred: Counter<TaskLabels>;
  private readonly executed: Counter<TaskLabels>;
  private readonly acked: Counter<TaskLabels>;
  private readonly failed: Counter<TaskLabels | 'reason'>;
  private readonly queued: Gauge<TaskLabels>;
  private readonly pending: Gauge<TaskLabels>;
  private readonly errors: Counter<'topology' | 'component'>;
  private readonly tasks: Gauge<'topology' | 'component'>;
  private readonly executeLatency: Gauge<'topology' | 'component'>;
  private readonly capacity: Gauge<'topology' | 'component'>;
  private readonly completeLatency: SnapshotHistogram;
  private readonly hostState: Gauge<'topology' | 'host' | 'state'>;
  private readonly hostRestarts: Counter<'topology' | 'host'>;
  private readonly hostTasks: Gauge<'topology' | 'host'>;
  private readonly uptime: Gauge<'topology'>;
  private readonly info: Gauge<'topology' | 'run_id' | 'mode'>;

  constructor(
    private readonly run: TopologyRun,
    options: PrometheusMetricsOptions = {},
  ) {
    this.topology = run.topology.name;
    const registers = [this.registry];
    const task = ['topology', 'component', 'task'] as const;
    const component = ['topology', 'component'] as const;
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers });
    this.info = gauge('squall_run_info', 'The run: always 1; its labels name the run id and mode (local or threads).', ['topology', 'run_id', 'mode']);
    this.uptime = gauge('squall_uptime_seconds', 'Seconds since the run was submitted.', ['topology']);
    this.emitted = counter('squall_tuples_emitted_total', 'Tuples emitted by the task (one emit counts once, however many tasks receive it).', task);
    this.transferred = counter('squall_tuples_transferred_total', 'Tuples delivered to tasks from this task: one emit to three tasks counts three.', task);
    this.executed = counter('squall_tuples_executed_total', 'Bolts: inputs executed by the task.', task);
    this.acked = counter('squall_tuples_acked_total', 'Spouts: tuple trees completed. Bolts: inputs acked.', task);
    this.failed = counter(
      'squall_tuples_failed_total',
      'Spouts: tuple trees failed, reason="fail" (failed explicitly) or "timeout" (timed out). Bolts: inputs failed (reason="fail").',
      [...task, 'reason'],
    );
    this.queued = gauge('squall_queue_depth', "Messages waiting in the task's mailbox now.", task);
    this.pending = gauge('squall_pending_trees', 'Spouts: tuple trees in flight now.', task);
    this.errors = counter('squall_errors_total', 'Errors the component reported (thrown or reported by its tasks).', component);
    this.tasks = gauge('squall_component_tasks', 'Tasks of the component running now.', component);
    this.executeLatency = gauge(
      'squall_execute_latency_seconds',
      'Bolts: mean execute time over the run, from 1 execute in 16 sampled (a mean: the runtime keeps no distribution of execute times).',
      component,
    );
    this.capacity = gauge('squall_capacity', "Bolts: the fraction of the run its tasks spent executing (0 to 1); near 1, it is the bottleneck.", component);
    this.completeLatency = new SnapshotHistogram({
      name: COMPLETE_LATENCY,
      help: COMPLETE_LATENCY_HELP,
      labelNames: component,
      buckets: [...LATENCY_BOUNDS_S],
      registers,
    });
    this.hostState = gauge('squall_host_state', "1 for the host's current state, 0 for the others.", ['topology', 'host', 'state']);
    this.hostRestarts = counter('squall_host_restarts_total', 'Times the supervisor restarted the host (worker thread) after a crash.', ['topology', 'host']);
    this.hostTasks = gauge('squall_host_tasks', 'Tasks placed on the host.', ['topology', 'host']);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One scrape: refresh, one snapshot, the text. Scrapes run one at a time. */
  scrape(): Promise<string> {
    const next = this.queue.then(async () => {
      // A run that ended keeps its last figures; refresh() of a stopped run has nothing to ask.
      if (this.run.status === 'active' || this.run.status === 'inactive') await this.run.refresh();
      this.update(this.run.metrics(), this.run.hosts());
      return this.registry.metrics();
    });
    this.queue = next.catch(() => {});
    return next;
  }

  /**
   * The text of a snapshot taken elsewhere, with the hosts read with it (the
   * web view's sample of the second: its page and its /metrics show the same
   * moment). Queued with the scrapes.
   */
  expose(snapshot: MetricsSnapshot, hosts: HostStatus[]): Promise<string> {
    const next = this.queue.then(() => {
      this.update(snapshot, hosts);
      return this.registry.metrics();
    });
    this.queue = next.catch(() => {});
    return next;
  }

  /** Set every squall_* metric from one snapshot. */
  private update(s: MetricsSnapshot, hosts: HostStatus[]): void {
    this.last = s;
    const topology = this.topology;
    for (const m of [this.emitted, this.transferred, this.executed, this.acked, this.failed, this.errors, this.hostRestarts]) m.reset();
    for (const m of [this.queued, this.pending, this.tasks, this.executeLatency, this.capacity, this.hostState, this.hostTasks, this.uptime, this.info]) m.reset();
    this.info.set({ topology, run_id: this.run.id, mode: this.run.mode }, 1);
    this.uptime.set({ topology }, s.uptimeMs / 1000);
    for (const t of s.tasks ?? []) this.setTask(t);
    this.completeLatency.spouts = [];
    for (const c of s.components) {
      const labels = { topology, component: c.id };
      this.errors.inc(labels, c.errors);
      this.tasks.set(labels, c.tasks);
      if (c.kind === 'bolt') {
        this.executeLatency.set(labels, (c.executeLatencyMs ?? 0) / 1000);
        this.capacity.set(labels, c.capacity ?? 0);
      }
      if (c.kind === 'spout') this.completeLatency.spouts.push({ labels, m: c });
    }
    for (const h of hosts) {
      const host = String(h.host);
      for (const state of HOST_STATES) this.hostState.set({ topology, host, state }, h.state === state ? 1 : 0);
      this.hostRestarts.inc({ topology, host }, h.restarts);
      this.hostTasks.set({ topology, host }, h.tasks);
    }
  }

  private setTask(t: TaskMetrics): void {
    const labels = { topology: this.topology, component: t.component, task: String(t.task) };
    this.emitted.inc(labels, t.emitted);
    this.transferred.inc(labels, t.transferred);
    this.queued.set(labels, t.queued);
    this.acked.inc(labels, t.acked);
    this.failed.inc({ ...labels, reason: 'fail' }, t.failed);
    if (t.kind !== 'spout') this.executed.inc(labels, t.executed);
    else {
      this.failed.inc({ ...labels, reason: 'timeout' }, t.timedOut);
      this.pending.set(labels, t.pending);
    }
  }
}
