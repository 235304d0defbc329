import type { ComponentMetrics, HostStatus, MetricsSnapshot, StuckTask, TopologyRun, TopologyStatus, TraceReport } from '../runtime/index.ts';
import { latencyBetween } from '../runtime/index.ts';
import { layoutTopology } from './layout.ts';
import type { GraphLayout } from './layout.ts';

/**
 * One sample of a run, taken once a second: the snapshot (`run.metrics()`
 * after `run.refresh()`) with the hosts and status read right after it. The
 * page's state and the UI port's `/metrics` are both made from it, so they
 * show the same moment.
 */
export interface Sample {
  /** 1, 2, 3, ... per server. */
  seq: number;
  /** Wall-clock time of the sample (ms since the epoch). */
  time: number;
  status: TopologyStatus;
  metrics: MetricsSnapshot;
  hosts: HostStatus[];
}

/** What the page gets once: the graph and what does not change while it runs. */
export interface UiLayout {
  topology: string;
  runId: string;
  readOnly: boolean;
  graph: GraphLayout;
  /** How many seconds of history the charts span. */
  historySeconds: number;
}

/** A component's row of the table and box of the graph. Counts are the snapshot's, as they are. */
export interface UiComponent {
  id: string;
  kind: 'spout' | 'bolt' | 'acker';
  tasks: number;
  emitted: number;
  transferred: number;
  executed: number;
  acked: number;
  failed: number;
  /** Spouts: trees timed out; null for bolts and ackers. */
  timedOut: number | null;
  pending: number | null;
  queued: number;
  executeLatencyMs: number | null;
  capacity: number | null;
  /** Spouts: complete latency over the run. */
  completeLatencyMs: { p50: number; p99: number } | null;
  errors: number;
  /** The error this component reported most recently (its message, as the summary shows it; never a stack). */
  lastError: { message: string; code: string | null; task: number; count: number } | null;
  /** Per second since the previous sample. */
  rates: { emitted: number; transferred: number; executed: number; acked: number };
  /**
   * How busy, 0 to 1, for the graph's colour: bolts their capacity; spouts
   * their trees in flight over what maxSpoutPending allows (1: held back).
   */
  load: number;
  /** Back pressure, 0 to 1: queued messages over the mailboxes' capacity. */
  backPressure: number;
  /** The share of the last sample's time its tasks were held back by a full task downstream while they had work, 0 to 1. */
  backPressured: number;
  /** Event time: the least watermark its tasks sent (ms of event time); null without event time. */
  watermark: number | null;
  /** Spouts that can say: records behind the source; null otherwise. */
  lag: number | null;
  /** Bolts: execute time p99 over the sampled executes, ms; null for the others. */
  executeLatencyP99Ms: number | null;
  /** Bolts: tasks flagged stuck now (input, and nothing acked for a whole messageTimeoutMs). */
  stuckTasks: number[];
  /** Tasks of this component named by the latest traced timeout as holding its tuple. */
  heldTimedOut: number[];
}

export interface UiEdge {
  id: string;
  /** Tuples per second along the edge since the previous sample. */
  rate: number;
  /** False when the rate is an upper bound: the source's deliveries over all its outgoing edges. */
  exact: boolean;
}

export interface UiHost {
  host: number;
  state: string;
  restarts: number;
  tasks: number;
  emitted: number;
  executed: number;
  acked: number;
  failed: number;
  queued: number;
  lastCrash: string | null;
}

/** A point of the charts. */
export interface UiPoint {
  time: number;
  emitted: number;
  acked: number;
  failed: number;
  timedOut: number;
  /** Complete latency (ms) of the trees completed since the previous point, over every spout; null when none completed. */
  p50: number | null;
  p99: number | null;
}

/** The page's state, sent once a second. */
export interface UiState {
  seq: number;
  time: number;
  status: TopologyStatus;
  mode: 'local' | 'threads';
  threads: number;
  strategy: string;
  uptimeMs: number;
  totals: MetricsSnapshot['totals'];
  point: UiPoint;
  components: UiComponent[];
  edges: UiEdge[];
  hosts: UiHost[];
  errorsDropped: number;
  /** Topologies that checkpoint: the checkpoints so far (null for the others). */
  checkpoints: UiCheckpoints | null;
  /** Traced trees that timed out: how many, and the latest (newest last) with who held them. */
  traces: { count: number; latest: TraceReport[] };
  /** Tasks stuck now. */
  stuck: StuckTask[];
}

export interface UiCheckpoints {
  completed: number;
  aborted: number;
  /** The newest completed checkpoint (0: none yet). */
  lastCompletedId: number;
  inFlight: number | null;
  /** Trigger to durable of the newest completed checkpoint, ms. */
  lastDurationMs: number;
  restoredFrom: number | null;
  rollbacks: number;
  lastAbortReason: string | null;
}

/** Longest error message the page shows. */
const MAX_MESSAGE = 500;

/**
 * Turns samples into what the page shows. Keeps the previous sample (rates
 * are the difference), the charts' history and, per component, which error
 * grew last.
 */
export class UiView {
  readonly layout: UiLayout;
  private prev: Sample | null = null;
  private readonly history: UiPoint[] = [];
  private readonly errorCounts = new Map<string, number>();
  private readonly lastErrorKey = new Map<string, string>();

  constructor(
    private readonly run: Pick<TopologyRun, 'id' | 'topology' | 'mode' | 'plan'>,
    readOnly: boolean,
    private readonly historySize = 300,
    intervalMs = 1000,
  ) {
    this.layout = { topology: run.topology.name, runId: run.id, readOnly, graph: layoutTopology(run.topology), historySeconds: Math.round((historySize * intervalMs) / 1000) };
  }

  /** The chart points so far, oldest first. */
  points(): UiPoint[] {
    return [...this.history];
  }

  /** The state of a new sample; call once per sample, in order. */
  update(sample: Sample): UiState {
    const s = sample.metrics;
    const prev = this.prev?.metrics ?? null;
    const dt = prev === null ? s.uptimeMs / 1000 : (s.uptimeMs - prev.uptimeMs) / 1000;
    const rate = (now: number, before: number | undefined): number => (dt > 0 ? Math.max(0, (now - (before ?? 0)) / dt) : 0);
    const before = new Map((prev?.components ?? []).map((c) => [c.id, c]));
    this.trackErrors(s);

    const topology = this.run.topology;
    const latestTrace = s.traces?.at(-1);
    const stuck = s.stuck ?? [];
    const components = s.components.map((c): UiComponent => {
      const p = before.get(c.id);
      const def = topology.components.get(c.id);
      const mailbox = numberOr(def?.config['mailboxCapacity'], topology.config.mailboxCapacity);
      const maxPending = numberOr(def?.config['maxSpoutPending'], topology.config.maxSpoutPending);
      const tasks = Math.max(1, c.tasks);
      const last = this.lastErrorKey.get(c.id);
      const err = last === undefined ? undefined : s.errors.find((e) => key(e.component, e.message) === last);
      return {
        id: c.id,
        kind: c.kind,
        tasks: c.tasks,
        emitted: c.emitted,
        transferred: c.transferred,
        executed: c.executed,
        acked: c.acked,
        failed: c.failed,
        timedOut: c.timedOut ?? null,
        pending: c.pending ?? null,
        queued: c.queued,
        executeLatencyMs: c.executeLatencyMs ?? null,
        capacity: c.capacity ?? null,
        completeLatencyMs: c.completeLatencyMs ? { p50: c.completeLatencyMs.p50, p99: c.completeLatencyMs.p99 } : null,
        errors: c.errors,
        lastError: err ? { message: clip(err.message), code: err.code ?? null, task: err.task, count: err.count } : null,
        rates: { emitted: rate(c.emitted, p?.emitted), transferred: rate(c.transferred, p?.transferred), executed: rate(c.executed, p?.executed), acked: rate(c.acked, p?.acked) },
        load: clamp01(c.kind === 'spout' ? (c.pending ?? 0) / (maxPending * tasks) : (c.capacity ?? 0)),
        backPressure: clamp01(c.queued / (mailbox * tasks)),
        backPressured: clamp01(rate(c.backPressuredMs ?? 0, p?.backPressuredMs ?? 0) / 1000 / tasks),
        watermark: c.watermark ?? null,
        lag: c.lag ?? null,
        executeLatencyP99Ms: c.executeLatencyPercentilesMs?.p99 ?? null,
        stuckTasks: stuck.filter((t) => t.component === c.id).map((t) => t.task),
        heldTimedOut: latestTrace === undefined ? [] : latestTrace.holders.filter((h) => h.component === c.id).map((h) => h.task),
      };
    });

    // In the graph's order, left to right and top to bottom; system components last.
    const position = new Map(this.layout.graph.nodes.map((n) => [n.id, n.layer * 10_000 + n.order]));
    components.sort((a, b) => (position.get(a.id) ?? 1e9) - (position.get(b.id) ?? 1e9));
    const byId = new Map(components.map((c) => [c.id, c]));
    const edges = this.layout.graph.edges.map((e): UiEdge => {
      const outOfSource = this.layout.graph.edges.filter((x) => x.from === e.from).length;
      const intoTarget = this.layout.graph.edges.filter((x) => x.to === e.to).length;
      const target = topology.components.get(e.to);
      if (outOfSource === 1) return { id: e.id, rate: byId.get(e.from)?.rates.transferred ?? 0, exact: true };
      if (intoTarget === 1 && target !== undefined && target.tickFrequencyMs <= 0) return { id: e.id, rate: byId.get(e.to)?.rates.executed ?? 0, exact: true };
      return { id: e.id, rate: byId.get(e.from)?.rates.transferred ?? 0, exact: false };
    });

    const latency = intervalLatency(prev?.components ?? [], s.components);
    const t = s.totals;
    const pt = prev?.totals;
    const point: UiPoint = {
      time: sample.time,
      emitted: rate(t.emitted, pt?.emitted),
      acked: rate(t.acked, pt?.acked),
      failed: rate(t.failed, pt?.failed),
      timedOut: rate(t.timedOut, pt?.timedOut),
      p50: latency?.p50 ?? null,
      p99: latency?.p99 ?? null,
    };
    this.history.push(point);
    if (this.history.length > this.historySize) this.history.shift();
    this.prev = sample;

    const counters = new Map(s.hosts.map((h) => [h.host, h]));
    const hosts = sample.hosts.map((h): UiHost => {
      const m = counters.get(h.host);
      return {
        host: h.host,
        restarts: h.restarts,
        tasks: h.tasks,
        emitted: m?.emitted ?? 0,
        executed: m?.executed ?? 0,
        acked: m?.acked ?? 0,
        failed: m?.failed ?? 0,
        queued: m?.queued ?? 0,
        // Local mode's one host is this thread, listed as running until the end: once killed, it has stopped.
        state: sample.status === 'killed' && h.state === 'running' ? 'stopped' : h.state,
        lastCrash: h.lastError === null ? null : clip(h.lastError),
      };
    });
    const cp = s.checkpoints;

    return {
      seq: sample.seq,
      time: sample.time,
      status: sample.status,
      mode: this.run.mode,
      threads: this.run.mode === 'threads' ? this.run.plan.hosts.length : 0,
      strategy: this.run.plan.strategy,
      uptimeMs: s.uptimeMs,
      totals: { ...t },
      point,
      components,
      edges,
      hosts,
      errorsDropped: s.errorsDropped,
      traces: { count: s.tracedTimeouts ?? 0, latest: (s.traces ?? []).map((t) => ({ ...t, holders: t.holders.map((h) => ({ ...h })) })) },
      stuck: stuck.map((t) => ({ ...t })),
      checkpoints:
        cp === undefined
          ? null
          : {
              completed: cp.completed,
              aborted: cp.aborted,
              lastCompletedId: cp.lastCompletedId,
              inFlight: cp.inFlight,
              lastDurationMs: Math.round(cp.lastDurationMs * 1000) / 1000,
              restoredFrom: cp.restoredFrom,
              rollbacks: cp.rollbacks ?? 0,
              lastAbortReason: cp.lastAbortReason === null ? null : clip(cp.lastAbortReason),
            },
    };
  }

  /** The error whose count grew last is each component's last error; at first, the last one listed. */
  private trackErrors(s: MetricsSnapshot): void {
    for (const e of s.errors) {
      const k = key(e.component, e.message);
      if ((this.errorCounts.get(k) ?? 0) < e.count) {
        this.errorCounts.set(k, e.count);
        this.lastErrorKey.set(e.component, k);
      }
    }
  }
}

function key(component: string, message: string): string {
  return `${component}\u0000${message}`;
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && value > 0 ? value : fallback;
}

/** Complete latency of the trees completed between two snapshots, over all spouts (their buckets added up). */
function intervalLatency(before: readonly ComponentMetrics[], now: readonly ComponentMetrics[]): { p50: number; p99: number } | null {
  const merged = (list: readonly ComponentMetrics[]): ComponentMetrics | undefined => {
    const counts = new Map<number, number>();
    let any = false;
    for (const c of list) {
      if (c.kind !== 'spout') continue;
      any = true;
      const b = c.completeLatencyBuckets ?? [];
      for (let i = 0; i < b.length; i += 2) counts.set(b[i]!, (counts.get(b[i]!) ?? 0) + b[i + 1]!);
    }
    if (!any) return undefined;
    const sparse: number[] = [];
    for (const [i, n] of [...counts].sort((a, b) => a[0] - b[0])) sparse.push(i, n);
    return { id: '*', kind: 'spout', tasks: 0, emitted: 0, transferred: 0, executed: 0, acked: 0, failed: 0, queued: 0, errors: 0, completeLatencyBuckets: sparse };
  };
  const end = merged(now);
  if (end === undefined) return null;
  const r = latencyBetween(merged(before), end);
  return r.count > 0 ? { p50: r.p50, p99: r.p99 } : null;
}
