import { SquallError } from '../errors/index.ts';
import type { BoltExecutor, SpoutExecutor } from '../executor/index.ts';
import type { Executor } from '../kernel/index.ts';
import { Histogram } from '../kernel/index.ts';

export interface ComponentMetrics {
  id: string;
  kind: 'spout' | 'bolt' | 'acker';
  tasks: number;
  emitted: number;
  /** Tuples delivered to tasks: one emit to three tasks counts three. */
  transferred: number;
  executed: number;
  /** Spouts: trees completed. Bolts: inputs acked. */
  acked: number;
  /** Spouts: trees failed explicitly. Bolts: inputs failed. */
  failed: number;
  /** Messages waiting in the component's mailboxes now. */
  queued: number;
  /** Bolts: mean execute time (ms), sampled 1 in 16. */
  executeLatencyMs?: number;
  /** Bolts: execute time percentiles over the sampled executes (ms; within a bucket's 9%). */
  executeLatencyPercentilesMs?: { p50: number; p99: number; max: number };
  /** Bolts: the execute-time histogram's non-zero buckets as [index, count, ...] (src/kernel/histogram.ts), over the sampled executes. */
  executeLatencyBuckets?: number[];
  /** Bolts: the sum of the sampled execute times (ms) and how many were sampled. */
  executeLatencySumMs?: number;
  executeLatencyCount?: number;
  /** Tasks of the component flagged stuck now (see TaskMetrics.stuckMs). */
  stuckTasks?: number;
  /**
   * Time its tasks spent back-pressured, summed over them (ms): with input
   * waiting (a bolt) or active (a spout) while a task downstream had no room.
   */
  backPressuredMs?: number;
  /** Event time: the least watermark its tasks have sent (ms of event time); absent until they send one. */
  watermark?: number;
  /**
   * Bolts: the fraction of the run its tasks spent executing (mean over its
   * tasks, estimated as executed x mean execute time / uptime). Near 1: the
   * component is the bottleneck; raise its parallelism.
   */
  capacity?: number;
  /** Spouts only: trees that timed out (kept apart from explicit fails). */
  timedOut?: number;
  /** Spouts only: trees in flight now. */
  pending?: number;
  /** Spouts only: trees traced (config traceSample, and the first ones; see docs/metrics.md). */
  traced?: number;
  /** Spouts only: records behind the source, summed over the tasks that can say (KafkaSpout: partition ends less what was emitted). */
  lag?: number;
  /** Bolts that report numbers about themselves (Bolt.metrics; a windowed bolt's keys, panes, firings...): summed over the running tasks. */
  custom?: Record<string, number>;
  /** Spouts only: complete latency, emit to tree done, over the whole run. */
  completeLatencyMs?: { p50: number; p99: number; max: number };
  /**
   * Spouts only: the latency histogram's non-zero buckets as [index, count, ...],
   * cumulative; two snapshots give the percentiles of the time between them
   * (see latencyBetween).
   */
  completeLatencyBuckets?: number[];
  /** Spouts only: the sum of the sampled complete latencies (ms), over the same samples as the buckets. */
  completeLatencySumMs?: number;
  errors: number;
}

/**
 * One task's counters (the same fields as ComponentMetrics, for one task):
 * a component's figures are the sum over its tasks. Counts of a task that
 * moved in a rebalance are summed over the hosts it ran on; `host` is the
 * one it runs on now.
 */
export type TaskMetrics = { task: number } & Pick<
  ExecutorStats,
  'component' | 'kind' | 'host' | 'emitted' | 'transferred' | 'executed' | 'acked' | 'failed' | 'queued' | 'timedOut' | 'pending' | 'stuckMs' | 'backPressuredMs'
> & { watermark?: number };

/**
 * A traced tree that timed out, and who held it: the task(s) that were given
 * one of its tuples and never acked it (docs/metrics.md, "Where did my tuple
 * get stuck?").
 */
export interface TraceReport {
  /** The spout component and task whose tree it was. */
  spout: string;
  spoutTask: number;
  /** The topology clock (ms) at the timeout. */
  atMs: number;
  /** Wall-clock time of the timeout, ms since the epoch (the exemplar's timestamp). */
  wallMs: number;
  /** How long the tree had been in flight when it timed out, ms. */
  ageMs: number;
  /** The tasks holding a tuple of it, the longest held first. Empty: none could be named (a tuple lost with a crashed thread, say). */
  holders: TraceHolderReport[];
  /** The tree was larger than a trace keeps (4,096 tuples): holders may be missing. */
  truncated: boolean;
}

export interface TraceHolderReport {
  component: string;
  task: number;
  /** How long it had held the tuple at the timeout, ms; exactly when `exact`, else at most (it holds one of the tuples it was given since). */
  heldMs: number;
  exact: boolean;
  /** Messages in the task's mailbox at the timeout (from the host's latest report when the task is on another thread than the acker). */
  queued: number;
}

/** A task flagged stuck: it has input and acked nothing for at least messageTimeoutMs. */
export interface StuckTask {
  component: string;
  task: number;
  host: number;
  /** How long it has acked nothing, ms. */
  forMs: number;
  queued: number;
}

export interface ReportedError {
  component: string;
  task: number;
  code: string | undefined;
  /** The stream involved, for squall's own errors. */
  stream: string | undefined;
  details: Record<string, unknown> | undefined;
  message: string;
  stack: string | undefined;
  /** How many times this component reported this message. */
  count: number;
}

/** One host's (thread's) share of the work. */
export interface HostMetrics {
  host: number;
  tasks: number;
  emitted: number;
  executed: number;
  acked: number;
  failed: number;
  queued: number;
}

export interface MetricsSnapshot {
  uptimeMs: number;
  components: ComponentMetrics[];
  /** Per host, from the hosts' latest reports. */
  hosts: HostMetrics[];
  /** Per task, ordered by task id (snapshot() always sets it). */
  tasks?: TaskMetrics[];
  totals: { emitted: number; acked: number; failed: number; timedOut: number; pending: number };
  errors: ReportedError[];
  /** Distinct error reports not kept because the log was full. */
  errorsDropped: number;
  /** Checkpoint figures, when the topology checkpoints. */
  checkpoints?: import('./checkpoints.ts').CheckpointStats;
  /** Traced trees that timed out over the run, and the latest of them (at most MAX_TRACES, oldest first); snapshot() always sets them. */
  tracedTimeouts?: number;
  traces?: TraceReport[];
  /** Tasks stuck now, by task id (snapshot() always sets it). */
  stuck?: StuckTask[];
}

/** Trace reports a host keeps, and a snapshot shows: the latest. */
export const MAX_TRACES = 32;

/** Errors kept per run; repeats of one message from one component are counted, not stored again. */
const MAX_ERRORS = 100;
/**
 * Distinct messages kept per component: a component whose messages differ
 * every time (an id in the text) is rate-limited to this many, then counted.
 */
const MAX_ERRORS_PER_COMPONENT = 10;

export class ErrorLog {
  private readonly byKey = new Map<string, ReportedError>();
  readonly perComponent = new Map<string, number>();
  private readonly distinct = new Map<string, number>();
  dropped = 0;

  report(component: string, task: number, error: unknown): void {
    this.perComponent.set(component, (this.perComponent.get(component) ?? 0) + 1);
    const message = error instanceof Error ? error.message : String(error);
    const key = `${component}\u0000${message}`;
    const seen = this.byKey.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    const kinds = this.distinct.get(component) ?? 0;
    if (this.byKey.size >= MAX_ERRORS || kinds >= MAX_ERRORS_PER_COMPONENT) {
      this.dropped++;
      return;
    }
    this.distinct.set(component, kinds + 1);
    this.byKey.set(key, {
      component,
      task,
      code: error instanceof SquallError ? error.code : 'E_COMPONENT_THREW',
      stream: error instanceof SquallError ? error.stream : undefined,
      details: error instanceof SquallError ? error.details : undefined,
      message,
      stack: error instanceof Error ? error.stack : undefined,
      count: 1,
    });
  }

  list(): ReportedError[] {
    return [...this.byKey.values()];
  }
}

/**
 * One executor's counters as plain data: what a host reports, from this
 * thread or from a worker thread, and what a snapshot is made of.
 */
export interface ExecutorStats {
  taskId: number;
  component: string;
  kind: 'spout' | 'bolt' | 'acker';
  host: number;
  emitted: number;
  transferred: number;
  executed: number;
  acked: number;
  failed: number;
  queued: number;
  /** Spouts: */
  timedOut: number;
  pending: number;
  /** Spouts: trees traced. */
  traced?: number;
  /** Spouts: isDone() now, or null when the spout cannot say. */
  done: boolean | null;
  latency: number[] | null;
  latencyMax: number;
  /** Spouts: the sum of the complete latencies recorded (ms). */
  latencySumMs: number;
  sampledMs: number;
  samples: number;
  /** Bolts: the sampled execute times' histogram, sparse, and its max (ms). */
  execLatency?: number[] | null;
  execLatencyMax?: number;
  /** Bolts: ms the task has acked nothing while it had input, when flagged stuck; -1 when not. */
  stuckMs: number;
  /** Time back-pressured (ms): it had work, but a task downstream had no room. */
  backPressuredMs: number;
  /** Event time: the last watermark the task sent (-Infinity: none). */
  watermark: number;
  /** Spouts: records behind its source (Spout.lag); -1 when the spout cannot say. */
  lag?: number;
  /** Bolts: what the bolt reports about itself (Bolt.metrics). */
  custom?: Readonly<Record<string, number>> | null;
}

export function executorStats(e: Executor<unknown>, host: number): ExecutorStats {
  const spout = e.kind === 'spout' ? (e as unknown as SpoutExecutor) : null;
  return {
    taskId: e.taskId,
    component: e.component,
    kind: e.kind,
    host,
    emitted: e.emitted,
    transferred: e.transferred,
    executed: e.executed,
    acked: e.acked,
    failed: e.failed,
    queued: e.mailbox.size,
    timedOut: spout?.timedOut ?? 0,
    pending: spout?.pending ?? 0,
    traced: spout?.traced ?? 0,
    done: spout === null ? null : spout.hasDoneCheck() ? spout.isDone() : null,
    latency: spout?.latency.toSparse() ?? null,
    latencyMax: spout?.latency.max ?? 0,
    latencySumMs: spout?.latency.sum ?? 0,
    sampledMs: e.sampledMs,
    samples: e.samples,
    execLatency: e.kind === 'bolt' ? e.executeLatency.toSparse() : null,
    execLatencyMax: e.executeLatency.max,
    stuckMs: e.kind === 'bolt' ? e.stuckForMs() : -1,
    backPressuredMs: e.backPressuredNow(),
    watermark: e.watermarkOut,
    lag: spout?.sourceLag() ?? -1,
    custom: e.kind === 'bolt' ? (e as unknown as BoltExecutor).userMetrics() : null,
  };
}

/** One host's view of its link to another: flow-control state. */
export interface LinkStats {
  peer: number;
  connected: boolean;
  /** Tuples it may still send to the peer's tasks (summed over them) before credit comes back. */
  credits: number;
  /** Tuples received from the peer not yet credited back. */
  owed: number;
}

/** What one host reports: its executors, and the errors its components reported. */
export interface HostReport {
  host: number;
  /** The last report of a host that crashed or was stopped for a rebalance: its counts stay, its tasks run elsewhere now. */
  retired?: boolean;
  executors: ExecutorStats[];
  links?: LinkStats[];
  errors: ReportedError[];
  errorCounts: Record<string, number>;
  errorsDropped: number;
  /** Traced timeouts reported by this host's ackers, and the latest (at most MAX_TRACES). */
  tracedTimeouts?: number;
  traces?: TraceReport[];
}

/** What a host knows of its traced timeouts. */
export interface HostTraces {
  count: number;
  latest: TraceReport[];
}

export function hostReport(host: number, executors: readonly Executor<unknown>[], errors: ErrorLog, links?: LinkStats[], traces?: HostTraces): HostReport {
  return {
    host,
    executors: executors.map((e) => executorStats(e, host)),
    ...(links ? { links } : {}),
    ...(traces && traces.count > 0 ? { tracedTimeouts: traces.count, traces: traces.latest.map((t) => ({ ...t, holders: t.holders.map((h) => ({ ...h })) })) } : {}),
    errors: errors.list(),
    errorCounts: Object.fromEntries(errors.perComponent),
    errorsDropped: errors.dropped,
  };
}

/** Merge host reports into per-component figures. */
export function snapshot(reports: readonly HostReport[], uptimeMs: number): MetricsSnapshot {
  const byComponent = new Map<string, { m: ComponentMetrics; h: Histogram | null; x: Histogram | null; sampledMs: number; samples: number }>();
  let tracedTimeouts = 0;
  const traces: TraceReport[] = [];
  const totals = { emitted: 0, acked: 0, failed: 0, timedOut: 0, pending: 0 };
  const hosts = new Map<number, HostMetrics>();
  const tasks = new Map<number, TaskMetrics>();
  const errorCounts = new Map<string, number>();
  const errors: ReportedError[] = [];
  let errorsDropped = 0;
  for (const r of reports) {
    for (const [c, n] of Object.entries(r.errorCounts)) errorCounts.set(c, (errorCounts.get(c) ?? 0) + n);
    errors.push(...r.errors);
    errorsDropped += r.errorsDropped;
    tracedTimeouts += r.tracedTimeouts ?? 0;
    if (r.traces) for (const t of r.traces) traces.push({ ...t, holders: t.holders.map((h) => ({ ...h })) });
  }
  for (const r of reports) {
    for (const e of r.executors) {
      let entry = byComponent.get(e.component);
      if (!entry) {
        const m: ComponentMetrics = { id: e.component, kind: e.kind, tasks: 0, emitted: 0, transferred: 0, executed: 0, queued: 0, acked: 0, failed: 0, backPressuredMs: 0, errors: errorCounts.get(e.component) ?? 0 };
        if (e.kind === 'spout') {
          m.timedOut = 0;
          m.pending = 0;
          m.traced = 0;
        }
        if (e.kind === 'bolt') m.stuckTasks = 0;
        entry = { m, h: e.kind === 'spout' ? new Histogram() : null, x: e.kind === 'bolt' ? new Histogram() : null, sampledMs: 0, samples: 0 };
        byComponent.set(e.component, entry);
      }
      entry.sampledMs += e.sampledMs;
      entry.samples += e.samples;
      entry.x?.mergeSparse(e.execLatency ?? [], e.execLatencyMax ?? 0, e.sampledMs);
      const m = entry.m;
      if (r.retired !== true) {
        m.tasks++;
        const wm = e.watermark ?? -Infinity;
        if (Number.isFinite(wm) && (m.watermark === undefined || wm < m.watermark)) m.watermark = wm;
        if (e.custom) {
          const c = (m.custom ??= {});
          for (const [k, v] of Object.entries(e.custom)) if (typeof v === 'number' && Number.isFinite(v)) c[k] = (c[k] ?? 0) + v;
        }
      }
      addCounts(m, e);
      m.transferred += e.transferred;
      m.backPressuredMs = (m.backPressuredMs ?? 0) + (e.backPressuredMs ?? 0);
      if (e.kind === 'spout') {
        m.timedOut! += e.timedOut;
        m.pending! += e.pending;
        m.traced = (m.traced ?? 0) + (e.traced ?? 0);
        if (r.retired !== true && (e.lag ?? -1) >= 0) m.lag = (m.lag ?? 0) + e.lag!;
        entry.h!.mergeSparse(e.latency ?? [], e.latencyMax, e.latencySumMs ?? 0);
        totals.acked += e.acked;
        totals.failed += e.failed;
        totals.timedOut += e.timedOut;
        totals.pending += e.pending;
      }
      if (e.kind !== 'acker') totals.emitted += e.emitted;
      let t = tasks.get(e.taskId);
      if (!t) {
        t = { task: e.taskId, component: e.component, kind: e.kind, host: e.host, emitted: 0, transferred: 0, executed: 0, acked: 0, failed: 0, queued: 0, timedOut: 0, pending: 0, stuckMs: -1, backPressuredMs: 0 };
        tasks.set(e.taskId, t);
      }
      t.backPressuredMs += e.backPressuredMs ?? 0;
      if (r.retired !== true) {
        t.host = e.host;
        if (Number.isFinite(e.watermark ?? -Infinity)) t.watermark = e.watermark;
        t.stuckMs = e.stuckMs ?? -1;
        if (t.stuckMs >= 0) m.stuckTasks = (m.stuckTasks ?? 0) + 1;
      }
      addCounts(t, e);
      t.transferred += e.transferred;
      t.timedOut += e.timedOut;
      t.pending += e.pending;
      if (r.host >= 0) {
        let h = hosts.get(r.host);
        if (!h) hosts.set(r.host, (h = { host: r.host, tasks: 0, emitted: 0, executed: 0, acked: 0, failed: 0, queued: 0 }));
        if (r.retired !== true) h.tasks++;
        addCounts(h, e);
      }
    }
  }
  const components: ComponentMetrics[] = [];
  for (const { m, h, x, sampledMs, samples } of byComponent.values()) {
    if (x) {
      m.executeLatencyPercentilesMs = { p50: round(x.percentileMs(0.5)), p99: round(x.percentileMs(0.99)), max: round(x.max) };
      m.executeLatencyBuckets = x.toSparse();
      m.executeLatencySumMs = sampledMs;
      m.executeLatencyCount = samples;
    }
    if (h) {
      m.completeLatencyMs = { p50: round(h.percentileMs(0.5)), p99: round(h.percentileMs(0.99)), max: round(h.max) };
      m.completeLatencyBuckets = h.toSparse();
      m.completeLatencySumMs = h.sum;
    }
    if (m.kind === 'bolt') {
      const mean = samples > 0 ? sampledMs / samples : 0;
      m.executeLatencyMs = round(mean);
      m.capacity = uptimeMs > 0 ? Math.min(1, round((m.executed * mean) / (uptimeMs * m.tasks))) : 0;
    }
    components.push(m);
  }
  const taskList = [...tasks.values()].sort((a, b) => a.task - b.task);
  // A holder on another thread than the acker: its queue depth from its host's latest report.
  for (const t of traces) for (const holder of t.holders) if (holder.queued < 0) holder.queued = tasks.get(holder.task)?.queued ?? 0;
  traces.sort((a, b) => a.wallMs - b.wallMs || a.atMs - b.atMs);
  return {
    uptimeMs,
    components,
    hosts: [...hosts.values()].sort((a, b) => a.host - b.host),
    tasks: taskList,
    tracedTimeouts,
    traces: traces.slice(-MAX_TRACES),
    stuck: taskList.filter((t) => t.stuckMs >= 0).map((t) => ({ component: t.component, task: t.task, host: t.host, forMs: Math.round(t.stuckMs), queued: t.queued })),
    totals,
    errors: mergeErrors(errors),
    errorsDropped,
  };
}

/** The counters every sum of executors has: per component, per task, per host. */
function addCounts(into: Pick<ExecutorStats, 'emitted' | 'executed' | 'acked' | 'failed' | 'queued'>, e: ExecutorStats): void {
  into.emitted += e.emitted;
  into.executed += e.executed;
  into.acked += e.acked;
  into.failed += e.failed;
  into.queued += e.queued;
}

/** The same report from several hosts (tasks of one component on two threads) becomes one, with the counts added. */
function mergeErrors(list: readonly ReportedError[]): ReportedError[] {
  const byKey = new Map<string, ReportedError>();
  for (const e of list) {
    const key = `${e.component}\u0000${e.message}`;
    const seen = byKey.get(key);
    if (seen) seen.count += e.count;
    else byKey.set(key, { ...e });
  }
  return [...byKey.values()];
}
/**
 * Complete-latency percentiles of one spout component over the time between
 * two snapshots (a benchmark's measured window without its warm-up).
 */
export function latencyBetween(start: ComponentMetrics | undefined, end: ComponentMetrics): { count: number; p50: number; p99: number } {
  const h = new Histogram();
  h.mergeSparse(end.completeLatencyBuckets ?? [], Infinity);
  const before = start?.completeLatencyBuckets ?? [];
  for (let i = 0; i < before.length; i += 2) {
    h.counts[before[i]!]! -= before[i + 1]!;
    h.count -= before[i + 1]!;
  }
  return { count: h.count, p50: round(h.percentileMs(0.5)), p99: round(h.percentileMs(0.99)) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
