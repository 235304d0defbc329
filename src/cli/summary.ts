import type { MetricsSnapshot, ReportedError } from '../runtime/metrics.ts';
import type { TopologyStatus } from '../runtime/status.ts';
import { compact, formatNumber, table } from './table.ts';

export type StopReason = 'duration' | 'signal' | 'done';

/**
 * What `squall run --json` prints, and what the readable summary is made
 * from. `components` holds every component, the `__acker` system component
 * included with kind 'acker' (its executed count is the acker's load);
 * `spouts` holds the tuple-tree counters of each spout.
 */
export interface RunReport {
  topology: string;
  runId: string;
  /** From submit to killed, kill wait included. */
  durationMs: number;
  status: TopologyStatus;
  stoppedBy: StopReason;
  components: Record<string, ComponentReport>;
  spouts: Record<string, SpoutReport>;
  totals: MetricsSnapshot['totals'];
  errors: ErrorReport[];
  /** Distinct error reports not kept because the run's error log was full. */
  errorsDropped: number;
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
}

export interface SpoutReport {
  acked: number;
  failed: number;
  timedOut: number;
  pending: number;
  completeLatencyMs: { p50: number; p99: number; max: number };
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
    };
    if (c.kind === 'spout') {
      spouts[c.id] = {
        acked: c.acked,
        failed: c.failed,
        timedOut: c.timedOut ?? 0,
        pending: c.pending ?? 0,
        completeLatencyMs: c.completeLatencyMs ?? { p50: 0, p99: 0, max: 0 },
      };
    }
  }
  return {
    topology: input.topology,
    runId: input.runId,
    durationMs: Math.round(metrics.uptimeMs),
    status: input.status,
    stoppedBy: input.stoppedBy,
    components,
    spouts,
    totals: { ...metrics.totals },
    errors: metrics.errors.map((e) => errorReport(e, input.withStacks)),
    errorsDropped: metrics.errorsDropped,
  };
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
};

/** The readable end-of-run summary, for stdout. */
export function formatSummary(r: RunReport): string {
  const seconds = r.durationMs / 1000;
  let out = `topology '${r.topology}' (run ${r.runId}) ${r.status} after ${seconds.toFixed(1)} s: ${STOPPED_BY[r.stoppedBy]}\n\n`;

  const ids = Object.keys(r.components);
  out += table(
    ['component', 'kind', 'tasks', 'emitted', 'transferred', 'executed', 'acked', 'failed', 'errors'],
    ids.map((id) => {
      const c = r.components[id]!;
      return [id, c.kind, c.tasks, c.emitted, c.transferred, c.executed, c.acked, c.failed, c.errors];
    }),
  );

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

  const t = r.totals;
  const rate = seconds > 0 ? ` (${compact(t.acked / seconds)}/s)` : '';
  out += `\ntotals: ${formatNumber(t.emitted)} emitted, ${formatNumber(t.acked)} trees acked${rate}, ${formatNumber(t.failed)} failed, ${formatNumber(t.timedOut)} timed out, ${formatNumber(t.pending)} pending\n`;

  if (r.errors.length > 0) {
    out += '\nerrors reported by components\n';
    out += table(
      ['component', 'task', 'code', 'count', 'message'],
      r.errors.map((e) => [e.component, e.task, e.code ?? '-', e.count, e.message.replace(/\s+/g, ' ')]),
    );
    for (const e of r.errors) if (e.stack) out += `\n${e.component} (task ${e.task}):\n${e.stack}\n`;
    if (r.errorsDropped > 0) out += `(${formatNumber(r.errorsDropped)} more distinct errors were not kept)\n`;
  } else {
    out += 'no errors reported\n';
  }
  return out;
}
