import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricObjectWithValues, MetricValueWithName } from 'prom-client';
import type { HostStatus, MetricsSnapshot, TaskMetrics, TopologyRun, TraceReport } from '../runtime/index.ts';

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

/**
 * The `le` bounds (seconds) of squall_execute_latency_seconds: 1 µs to 10 s
 * in 1-2.5-5 steps (a bolt's execute takes from under a microsecond to
 * seconds). Mapped from the same 9%-wide buckets as complete latency.
 */
export const EXECUTE_BOUNDS_S: readonly number[] = [
  0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const COMPLETE_LATENCY = 'squall_complete_latency_seconds';
const COMPLETE_LATENCY_HELP = 'Spouts: complete latency, emit to tuple tree done, over the run, of the sampled trees (1 in 8).';
const EXECUTE_LATENCY = 'squall_execute_latency_seconds';
const EXECUTE_LATENCY_HELP = 'Bolts: execute time, over the run, of the sampled executes (1 in 16).';

/** OpenMetrics keeps an exemplar's labels to 128 characters, names and values together. */
const EXEMPLAR_LABEL_CHARS = 128;

/** One labelled series of a snapshot histogram: its sparse buckets (ms scale), their sum (ms), and an exemplar. */
interface SnapshotSeries {
  labels: { topology: string; component: string };
  sparse: readonly number[];
  sumMs: number;
  /** OpenMetrics only: a traced timeout of this spout, on the bucket its age falls in. */
  exemplar?: { labels: Record<string, string>; valueS: number; timestampS: number };
}

/**
 * A histogram whose values are a snapshot's buckets (prom-client's Histogram
 * only observes one value at a time): complete latency per spout, execute
 * latency per bolt.
 */
class SnapshotHistogram extends Histogram<'topology' | 'component'> {
  series: SnapshotSeries[] = [];

  constructor(
    private readonly metricName: string,
    private readonly metricHelp: string,
    private readonly bounds: readonly number[],
    registers: Registry[],
  ) {
    super({ name: metricName, help: metricHelp, labelNames: ['topology', 'component'], buckets: [...bounds], registers });
  }

  // The registry reads getForPromString() when a metric has it (prom-client's Histogram does), get() otherwise.
  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<'topology' | 'component'>>> {
    return this.getForPromString();
  }

  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<'topology' | 'component'>>> {
    const name = this.metricName;
    const values: (MetricValueWithName<string> & { exemplar?: unknown })[] = [];
    for (const { labels, sparse, sumMs, exemplar } of this.series) {
      let count = 0;
      for (let i = 1; i < sparse.length; i += 2) count += sparse[i]!;
      // The exemplar goes on the first bucket whose bound takes its value (+Inf past the last).
      let placed = exemplar === undefined;
      for (const b of cumulativeBuckets(sparse, this.bounds)) {
        const v: MetricValueWithName<string> & { exemplar?: unknown } = { metricName: `${name}_bucket`, labels: { ...labels, le: b.le }, value: b.count };
        if (!placed && exemplar!.valueS <= b.le) {
          v.exemplar = { labelSet: exemplar!.labels, value: exemplar!.valueS, timestamp: exemplar!.timestampS };
          placed = true;
        }
        values.push(v);
      }
      const inf: MetricValueWithName<string> & { exemplar?: unknown } = { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count };
      if (!placed) inf.exemplar = { labelSet: exemplar!.labels, value: exemplar!.valueS, timestamp: exemplar!.timestampS };
      values.push(inf);
      values.push({ metricName: `${name}_sum`, labels, value: sumMs / 1000 });
      values.push({ metricName: `${name}_count`, labels, value: count });
    }
    return { name, help: this.metricHelp, type: 'histogram', aggregator: 'sum', values } as unknown as MetricObjectWithValues<MetricValueWithName<'topology' | 'component'>>;
  }
}

/**
 * The exemplar of a spout's latest traced timeout: the task that held its
 * tuple (component and task; never a tuple's value or id), the tree's age
 * in seconds, the wall-clock time. Null when the report named no task.
 */
export function traceExemplar(t: TraceReport): { labels: Record<string, string>; valueS: number; timestampS: number } | null {
  const h = t.holders[0];
  if (h === undefined) return null;
  const task = String(h.task);
  // component="..." and task="...": names and values count toward the 128.
  const room = EXEMPLAR_LABEL_CHARS - 'component'.length - 'task'.length - task.length;
  return { labels: { component: [...h.component].slice(0, room).join(''), task }, valueS: t.ageMs / 1000, timestampS: t.wallMs / 1000 };
}

type TaskLabels = 'topology' | 'component' | 'task';

export interface PrometheusMetricsOptions {
  /** Also prom-client's default process and Node.js metrics of this (the main) thread (default true). */
  processMetrics?: boolean;
  /**
   * The OpenMetrics text format (application/openmetrics-text) instead of
   * Prometheus's 0.0.4: the same metrics, plus exemplars (a traced timeout
   * on the complete-latency histogram), which the 0.0.4 format cannot carry.
   */
  openMetrics?: boolean;
}

/** Whether a request's Accept header asks for OpenMetrics (as Prometheus does when it wants exemplars). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept);
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
  readonly registry: Registry;
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
  private readonly executeLatency: SnapshotHistogram;
  private readonly capacity: Gauge<'topology' | 'component'>;
  private readonly completeLatency: SnapshotHistogram;
  private readonly stuck: Gauge<TaskLabels>;
  private readonly backPressured: Counter<TaskLabels>;
  private readonly watermark: Gauge<'topology' | 'component'>;
  private readonly lag: Gauge<'topology' | 'component'>;
  private readonly custom: Gauge<'topology' | 'component' | 'name'>;
  private readonly checkpoints: Counter<'topology' | 'outcome'>;
  private readonly checkpointDuration: Gauge<'topology'>;
  private readonly checkpointLast: Gauge<'topology'>;
  private readonly traced: Counter<'topology' | 'component'>;
  private readonly tracedTimeouts: Counter<'topology'>;
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
    // prom-client's types leave out the content type its Registry constructor takes.
    const RegistryOf = Registry as unknown as new (contentType: string) => Registry;
    this.registry = new RegistryOf(options.openMetrics === true ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
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
    this.executeLatency = new SnapshotHistogram(EXECUTE_LATENCY, EXECUTE_LATENCY_HELP, EXECUTE_BOUNDS_S, registers);
    this.capacity = gauge('squall_capacity', "Bolts: the fraction of the run its tasks spent executing (0 to 1); near 1, it is the bottleneck.", component);
    this.completeLatency = new SnapshotHistogram(COMPLETE_LATENCY, COMPLETE_LATENCY_HELP, LATENCY_BOUNDS_S, registers);
    this.stuck = gauge('squall_task_stuck', 'Bolts: 1 while the task is stuck (it has input and acked nothing for at least messageTimeoutMs), else 0.', task);
    this.backPressured = counter('squall_back_pressured_seconds_total', 'Seconds the task was held back by a full task downstream while it had work.', task);
    this.watermark = gauge('squall_watermark_seconds', "Event time: the component's least watermark, in seconds of event time (only once its tasks sent one).", component);
    this.custom = gauge('squall_component_metric', 'Numbers a bolt reports about itself (Bolt.metrics; a windowed bolt: keys, panes, firings...), by name, summed over its tasks.', ['topology', 'component', 'name']);
    this.lag = gauge('squall_spout_lag', 'Spouts that can say (KafkaSpout): records at the source not emitted yet, over the tasks.', component);
    this.checkpoints = counter('squall_checkpoints_total', 'Checkpoints of a topology that checkpoints: outcome="completed" or "aborted".', ['topology', 'outcome']);
    this.checkpointDuration = gauge('squall_checkpoint_duration_seconds', 'The last completed checkpoint: trigger to durable, in seconds.', ['topology']);
    this.checkpointLast = gauge('squall_checkpoint_last_id', 'The newest completed checkpoint (0: none yet).', ['topology']);
    this.traced = counter('squall_traced_trees_total', 'Spouts: tuple trees traced (config traceSample, and the first ones of a run and after a timeout).', component);
    this.tracedTimeouts = counter('squall_traced_timeouts_total', 'Traced tuple trees that timed out: each names the task that held its tuple (the JSON summary has the reports).', ['topology']);
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
    for (const m of [this.emitted, this.transferred, this.executed, this.acked, this.failed, this.errors, this.hostRestarts, this.traced, this.tracedTimeouts, this.backPressured, this.checkpoints]) m.reset();
    for (const m of [this.queued, this.pending, this.tasks, this.capacity, this.hostState, this.hostTasks, this.uptime, this.info, this.stuck, this.watermark, this.lag, this.custom, this.checkpointDuration, this.checkpointLast]) m.reset();
    const cp = s.checkpoints;
    if (cp !== undefined) {
      this.checkpoints.inc({ topology, outcome: 'completed' }, cp.completed);
      this.checkpoints.inc({ topology, outcome: 'aborted' }, cp.aborted);
      this.checkpointDuration.set({ topology }, cp.lastDurationMs / 1000);
      this.checkpointLast.set({ topology }, cp.lastCompletedId);
    }
    this.tracedTimeouts.inc({ topology }, s.tracedTimeouts ?? 0);
    this.info.set({ topology, run_id: this.run.id, mode: this.run.mode }, 1);
    this.uptime.set({ topology }, s.uptimeMs / 1000);
    for (const t of s.tasks ?? []) this.setTask(t);
    this.completeLatency.series = [];
    this.executeLatency.series = [];
    // The latest traced timeout of each spout component: the exemplar of its complete latency.
    const latestTrace = new Map<string, TraceReport>();
    for (const t of s.traces ?? []) if (t.holders.length > 0) latestTrace.set(t.spout, t);
    for (const c of s.components) {
      const labels = { topology, component: c.id };
      this.errors.inc(labels, c.errors);
      this.tasks.set(labels, c.tasks);
      if (c.watermark !== undefined) this.watermark.set(labels, c.watermark / 1000);
      if (c.lag !== undefined) this.lag.set(labels, c.lag);
      if (c.custom !== undefined) for (const [name, v] of Object.entries(c.custom)) this.custom.set({ ...labels, name }, v);
      if (c.kind === 'bolt') {
        this.executeLatency.series.push({ labels, sparse: c.executeLatencyBuckets ?? [], sumMs: c.executeLatencySumMs ?? 0 });
        this.capacity.set(labels, c.capacity ?? 0);
      }
      if (c.kind === 'spout') {
        const trace = latestTrace.get(c.id);
        const exemplar = trace === undefined ? null : traceExemplar(trace);
        this.completeLatency.series.push({ labels, sparse: c.completeLatencyBuckets ?? [], sumMs: c.completeLatencySumMs ?? 0, ...(exemplar !== null ? { exemplar } : {}) });
        this.traced.inc(labels, c.traced ?? 0);
      }
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
    this.backPressured.inc(labels, (t.backPressuredMs ?? 0) / 1000);
    if (t.kind === 'bolt') this.stuck.set(labels, t.stuckMs !== undefined && t.stuckMs >= 0 ? 1 : 0);
    if (t.kind !== 'spout') this.executed.inc(labels, t.executed);
    else {
      this.failed.inc({ ...labels, reason: 'timeout' }, t.timedOut);
      this.pending.set(labels, t.pending);
    }
  }
}
