import type { HostMetrics, MetricsSnapshot, ReportedError, StuckTask, TraceReport } from '../runtime/index.ts';
import type { HostStatus } from '../runtime/index.ts';
import type { TopologyStatus } from '../runtime/index.ts';
import { compact, formatNumber, table } from './table.ts';

/** Why a run stopped: `kill` is `squall kill`; `failed`, a rebalance that could not start the topology again. */
export type StopReason = 'duration' | 'signal' | 'done' | 'kill' | 'failed';

/**
 * What `squall run --json` prints, and what the readable summary is made
 * from. `components` holds every component, the `__acker` system component
 * included with kind 'acker' (its executed count is the acker's load);
 * `spouts` holds the tuple-tree counters of each spout; `hosts` holds each
 * host (worker thread; local mode: the one main thread) with its supervisor
 * state and its share of the work.
 */
export interface RunReport {
  topology: string;
  runId: string;
  /** From submit to killed, kill wait included. */
  durationMs: number;
  status: TopologyStatus;
  stoppedBy: StopReason;
  /** Worker threads (--threads); 0: local mode, everything on the main thread. */
  threads: number;
  components: Record<string, ComponentReport>;
  spouts: Record<string, SpoutReport>;
  hosts: HostReport[];
  totals: MetricsSnapshot['totals'];
  errors: ErrorReport[];
  /** Distinct error reports not kept because the run's error log was full. */
  errorsDropped: number;
  /** Topologies that checkpoint: completed and aborted checkpoints, the newest, durations, what the run restored from. */
  checkpoints?: CheckpointReport;
  /**
   * Traced trees that timed out (docs/metrics.md, "Where did my tuple get
   * stuck?"): how many, and the latest (at most 32) with the tasks that held
   * their tuples.
   */
  timeouts: { traced: number; latest: TraceReport[] };
  /** Bolt tasks stuck at the end: input, and nothing acked for a whole messageTimeoutMs. */
  stuck: StuckTask[];
}

export interface CheckpointReport {
  completed: number;
  aborted: number;
  lastCompletedId: number;
  restoredFrom: number | null;
  rollbacks: number;
  /** Trigger to durable, ms, over the run's completed checkpoints (the newest 256). */
  durationMs: { p50: number; p99: number; last: number };
  lastAbortReason: string | null;
}

export interface ComponentReport {
  kind: 'spout' | 'bolt' | 'acker';
  tasks: number;
  emitted: number;
  transferred: number;
  executed: number;
  acked: number;
  failed: number;
  /** Errors this component reported. */
  errors: number;
  /** Bolts only: mean execute time in ms (sampled). */
  executeLatencyMs?: number;
  /** Bolts only: execute time percentiles in ms, over the sampled executes (within 9%). */
  executeLatencyP50Ms?: number;
  executeLatencyP99Ms?: number;
  /** Bolts only: the fraction of the run its tasks spent executing; near 1, it is the bottleneck. */
  capacity?: number;
  /** Time its tasks were held back by a full task downstream while they had work, ms (summed over tasks). */
  backPressuredMs: number;
  /** Event time: the least watermark its tasks sent, ms of event time (only once they sent one). */
  watermark?: number;
  /** Bolts that report numbers about themselves (Bolt.metrics): summed over their tasks. */
  metrics?: Record<string, number>;
}

/**
 * One host: its state as its supervisor last saw it, restarts, the tasks the
 * plan gives it, and its counters added up over every thread it ran on (a
 * restarted host keeps what its crashed thread had done).
 */
export interface HostReport {
  host: number;
  state: string;
  restarts: number;
  tasks: number;
  emitted: number;
  executed: number;
  acked: number;
  failed: number;
  queued: number;
  /** The last crash or start failure of this host, or null. */
  lastError: string | null;
}

export interface SpoutReport {
  acked: number;
  failed: number;
  timedOut: number;
  pending: number;
  completeLatencyMs: { p50: number; p99: number; max: number };
  /** Spouts that can say (KafkaSpout): records at the source not emitted yet. */
  lag?: number;
}

export interface ErrorReport {
  component: string;
  task: number;
  code: string | null;
  message: string;
  count: number;
  /** Only with --stack or SQUALL_DEBUG=1. */
  stack?: string;
}

export interface ReportInput {
  topology: string;
  runId: string;
  status: TopologyStatus;
  stoppedBy: StopReason;
  /** Worker threads; 0 for local mode. */
  threads: number;
  /** run.hosts(), read after the metrics. */
  hosts: readonly HostStatus[];
  metrics: MetricsSnapshot;
  withStacks: boolean;
}

export function buildReport(input: ReportInput): RunReport {
  const { metrics } = input;
  const components: Record<string, ComponentReport> = {};
  const spouts: Record<string, SpoutReport> = {};
  for (const c of metrics.components) {
    components[c.id] = {
      kind: c.kind,
      tasks: c.tasks,
      emitted: c.emitted,
      transferred: c.transferred,
      executed: c.executed,
      acked: c.acked,
      failed: c.failed,
      errors: c.errors,
      backPressuredMs: Math.round(c.backPressuredMs ?? 0),
      ...(c.watermark !== undefined ? { watermark: c.watermark } : {}),
      ...(c.custom !== undefined ? { metrics: c.custom } : {}),
    };
    if (c.kind === 'bolt') {
      components[c.id]!.executeLatencyMs = c.executeLatencyMs ?? 0;
      components[c.id]!.executeLatencyP50Ms = c.executeLatencyPercentilesMs?.p50 ?? 0;
      components[c.id]!.executeLatencyP99Ms = c.executeLatencyPercentilesMs?.p99 ?? 0;
      components[c.id]!.capacity = c.capacity ?? 0;
    }
    if (c.kind === 'spout') {
      spouts[c.id] = {
        acked: c.acked,
        failed: c.failed,
        timedOut: c.timedOut ?? 0,
        pending: c.pending ?? 0,
        completeLatencyMs: c.completeLatencyMs ?? { p50: 0, p99: 0, max: 0 },
        ...(c.lag !== undefined ? { lag: c.lag } : {}),
      };
    }
  }
  return {
    topology: input.topology,
    runId: input.runId,
    durationMs: Math.round(metrics.uptimeMs),
    status: input.status,
    stoppedBy: input.stoppedBy,
    threads: input.threads,
    components,
    spouts,
    hosts: hostReports(input.hosts, metrics.hosts),
    totals: { ...metrics.totals },
    errors: metrics.errors.map((e) => errorReport(e, input.withStacks)),
    errorsDropped: metrics.errorsDropped,
    ...(metrics.checkpoints !== undefined ? { checkpoints: checkpointReport(metrics.checkpoints) } : {}),
    timeouts: { traced: metrics.tracedTimeouts ?? 0, latest: (metrics.traces ?? []).map((t) => ({ ...t, holders: t.holders.map((h) => ({ ...h })) })) },
    stuck: (metrics.stuck ?? []).map((t) => ({ ...t })),
  };
}

/** `count[5]`: a task as the status line and the summary name it. */
export function taskName(component: string, task: number): string {
  return `${component}[${task}]`;
}

/** One line of a traced timeout: the tree's spout and who held it. */
export function describeTrace(t: TraceReport): string {
  const h = t.holders[0];
  if (h === undefined) return `tree of ${t.spout} timed out after ${secs(t.ageMs)}; no task holds it (a tuple lost with a crashed thread?)`;
  const more = t.holders.length > 1 ? ` (+${t.holders.length - 1} more)` : '';
  return `tree of ${t.spout} held by ${taskName(h.component, h.task)} ${h.exact ? '' : 'up to '}${secs(h.heldMs)}, queue ${formatNumber(h.queued)}${more}`;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function checkpointReport(c: NonNullable<MetricsSnapshot['checkpoints']>): CheckpointReport {
  const sorted = [...c.durationsMs].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : round1(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!));
  return {
    completed: c.completed,
    aborted: c.aborted,
    lastCompletedId: c.lastCompletedId,
    restoredFrom: c.restoredFrom,
    rollbacks: c.rollbacks ?? 0,
    durationMs: { p50: at(0.5), p99: at(0.99), last: round1(c.lastDurationMs) },
    lastAbortReason: c.lastAbortReason,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Supervisor view and counters, joined by host id; `tasks` is the plan's (counters of a restarted host span several threads). */
export function hostReports(status: readonly HostStatus[], figures: readonly HostMetrics[]): HostReport[] {
  const byHost = new Map(figures.map((f) => [f.host, f]));
  return [...status]
    .sort((a, b) => a.host - b.host)
    .map((h) => {
      const f = byHost.get(h.host);
      return {
        host: h.host,
        state: h.state,
        restarts: h.restarts,
        tasks: h.tasks,
        emitted: f?.emitted ?? 0,
        executed: f?.executed ?? 0,
        acked: f?.acked ?? 0,
        failed: f?.failed ?? 0,
        queued: f?.queued ?? 0,
        lastError: h.lastError,
      };
    });
}

/** Errors from a worker host itself (its thread crashed) carry the component `__host<N>`. */
export function hostOfErrorComponent(component: string): number | null {
  const m = /^__host(\d+)$/.exec(component);
  return m ? Number(m[1]) : null;
}

/** The first line of a message, whitespace runs collapsed. */
export function firstLine(text: string): string {
  return (text.split('\n', 1)[0] ?? '').replace(/\s+/g, ' ').trim();
}

function errorReport(e: ReportedError, withStack: boolean): ErrorReport {
  const r: ErrorReport = { component: e.component, task: e.task, code: e.code ?? null, message: e.message, count: e.count };
  if (withStack && e.stack !== undefined) r.stack = e.stack;
  return r;
}

const STOPPED_BY: Record<StopReason, string> = {
  duration: 'the duration ended',
  signal: 'stopped by a signal',
  done: 'every spout finished',
  kill: 'killed by squall kill',
  failed: 'a rebalance failed',
};

/** The readable end-of-run summary, for stdout. */
export function formatSummary(r: RunReport): string {
  const seconds = r.durationMs / 1000;
  let out = `topology '${r.topology}' (run ${r.runId}) ${r.status} after ${seconds.toFixed(1)} s: ${STOPPED_BY[r.stoppedBy]}\n\n`;

  const ids = Object.keys(r.components);
  out += table(
    ['component', 'kind', 'tasks', 'emitted', 'transferred', 'executed', 'acked', 'failed', 'errors', 'exec ms', 'capacity'],
    ids.map((id) => {
      const c = r.components[id]!;
      return [id, c.kind, c.tasks, c.emitted, c.transferred, c.executed, c.acked, c.failed, c.errors, fixed(c.executeLatencyMs), fixed(c.capacity)];
    }),
    { right: [9, 10] },
  );

  if (r.threads > 0 && r.hosts.length > 0) {
    out += '\n';
    out += table(
      ['host', 'state', 'restarts', 'tasks', 'emitted', 'executed', 'acked', 'queued', 'last error'],
      r.hosts.map((h) => [h.host, h.state, h.restarts, h.tasks, h.emitted, h.executed, h.acked, h.queued, h.lastError === null ? '-' : firstLine(h.lastError)]),
    );
  }

  const spoutIds = Object.keys(r.spouts);
  if (spoutIds.length > 0) {
    out += '\n';
    out += table(
      ['spout', 'acked', 'failed', 'timed out', 'pending', 'p50 ms', 'p99 ms', 'max ms'],
      spoutIds.map((id) => {
        const s = r.spouts[id]!;
        const l = s.completeLatencyMs;
        return [id, s.acked, s.failed, s.timedOut, s.pending, l.p50, l.p99, l.max];
      }),
    );
  }

  out += `\n${formatTotals(r.totals, seconds)}\n`;
  const cp = r.checkpoints;
  if (cp !== undefined) {
    out += `checkpoints: ${cp.completed} completed (last ${cp.lastCompletedId}), ${cp.aborted} aborted; duration p50 ${cp.durationMs.p50} ms, p99 ${cp.durationMs.p99} ms`;
    out += cp.restoredFrom !== null ? `; restored from checkpoint ${cp.restoredFrom}` : '; started from empty state';
    out += cp.rollbacks > 0 ? `; rolled back ${cp.rollbacks} time${cp.rollbacks === 1 ? '' : 's'}\n` : '\n';
  }

  if (r.stuck.length > 0) {
    out += '\nstuck tasks: input waiting, and nothing acked for a whole messageTimeoutMs\n';
    out += table(
      ['component', 'task', 'host', 'acked nothing for', 'queued'],
      r.stuck.map((t) => [t.component, t.task, t.host, secs(t.forMs), t.queued]),
      { right: [1, 2, 4] },
    );
  }
  if (r.timeouts.traced > 0) {
    const shown = r.timeouts.latest.length;
    out += `\ntraced trees that timed out: ${formatNumber(r.timeouts.traced)}${shown < r.timeouts.traced ? ` (the latest ${shown})` : ''}; who held their tuples and never acked\n`;
    const rows: (string | number)[][] = [];
    for (const t of r.timeouts.latest) {
      if (t.holders.length === 0) rows.push([t.spout, t.spoutTask, secs(t.ageMs), '-', '-', '-', '-']);
      for (const h of t.holders) rows.push([t.spout, t.spoutTask, secs(t.ageMs), h.component, h.task, `${h.exact ? '' : '<= '}${secs(h.heldMs)}`, h.queued]);
    }
    out += table(['spout', 'spout task', 'tree age', 'held by', 'task', 'held', 'queued'], rows, { right: [1, 4, 6] });
  }

  if (r.errors.length > 0) {
    const fromHosts = r.errors.some((e) => hostOfErrorComponent(e.component) !== null);
    out += `\nerrors reported by components${fromHosts ? ' and worker hosts' : ''}\n`;
    out += table(
      ['component', 'task', 'code', 'count', 'message'],
      // A host's error has no task: its "task" is the host id, already in the component's name.
      r.errors.map((e) => [e.component, hostOfErrorComponent(e.component) === null ? e.task : '-', e.code ?? '-', e.count, e.message.replace(/\s+/g, ' ')]),
      { right: [1] },
    );
    for (const e of r.errors) {
      if (!e.stack) continue;
      const host = hostOfErrorComponent(e.component);
      out += `\n${host === null ? `${e.component} (task ${e.task})` : `${e.component} (host ${host})`}:\n${e.stack}\n`;
    }
    if (r.errorsDropped > 0) out += `(${formatNumber(r.errorsDropped)} more distinct errors were not kept)\n`;
  } else {
    out += 'no errors reported\n';
  }
  return out;
}

/** `totals: ... tuples emitted, ... trees acked (rate/s), ... failed, ... timed out, ... pending`: the rate over `seconds` when above 0. */
export function formatTotals(t: RunReport['totals'], seconds: number): string {
  const rate = seconds > 0 ? ` (${compact(t.acked / seconds)}/s)` : '';
  return `totals: ${formatNumber(t.emitted)} tuples emitted, ${formatNumber(t.acked)} trees acked${rate}, ${formatNumber(t.failed)} failed, ${formatNumber(t.timedOut)} timed out, ${formatNumber(t.pending)} pending`;
}

/** Execute ms and capacity: three decimals, as small figures matter; '-' where the kind has none. */
function fixed(n: number | undefined): string {
  return n === undefined ? '-' : n.toFixed(3);
}
