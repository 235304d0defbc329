import { SquallError } from '../errors/index.ts';
import type { SpoutExecutor } from '../spout/executor.ts';
import type { Executor } from './executor.ts';
import { Histogram } from './histogram.ts';

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
  /** Spouts only: trees that timed out (kept apart from explicit fails). */
  timedOut?: number;
  /** Spouts only: trees in flight now. */
  pending?: number;
  /** Spouts only: complete latency, emit to tree done. */
  completeLatencyMs?: { p50: number; p99: number; max: number };
  errors: number;
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

export interface MetricsSnapshot {
  uptimeMs: number;
  components: ComponentMetrics[];
  totals: { emitted: number; acked: number; failed: number; timedOut: number; pending: number };
  errors: ReportedError[];
  /** Distinct error reports not kept because the log was full. */
  errorsDropped: number;
}

/** Errors kept per run; repeats of one message from one component are counted, not stored again. */
const MAX_ERRORS = 100;

export class ErrorLog {
  private readonly byKey = new Map<string, ReportedError>();
  readonly perComponent = new Map<string, number>();
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
    if (this.byKey.size >= MAX_ERRORS) {
      this.dropped++;
      return;
    }
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

export function snapshot(executors: readonly Executor<unknown>[], errors: ErrorLog, uptimeMs: number): MetricsSnapshot {
  const byComponent = new Map<string, { m: ComponentMetrics; h: Histogram | null }>();
  const totals = { emitted: 0, acked: 0, failed: 0, timedOut: 0, pending: 0 };
  for (const e of executors) {
    let entry = byComponent.get(e.component);
    if (!entry) {
      const m: ComponentMetrics = { id: e.component, kind: e.kind, tasks: 0, emitted: 0, transferred: 0, executed: 0, queued: 0, acked: 0, failed: 0, errors: errors.perComponent.get(e.component) ?? 0 };
      if (e.kind === 'spout') {
        m.timedOut = 0;
        m.pending = 0;
      }
      entry = { m, h: e.kind === 'spout' ? new Histogram() : null };
      byComponent.set(e.component, entry);
    }
    const m = entry.m;
    m.tasks++;
    m.emitted += e.emitted;
    m.transferred += e.transferred;
    m.queued += e.mailbox.size;
    m.executed += e.executed;
    m.acked += e.acked;
    m.failed += e.failed;
    if (e.kind === 'spout') {
      const s = e as unknown as SpoutExecutor;
      m.timedOut! += s.timedOut;
      m.pending! += s.pending;
      entry.h!.merge(s.latency);
      totals.acked += s.acked;
      totals.failed += s.failed;
      totals.timedOut += s.timedOut;
      totals.pending += s.pending;
    }
    if (e.kind !== 'acker') totals.emitted += e.emitted;
  }
  const components: ComponentMetrics[] = [];
  for (const { m, h } of byComponent.values()) {
    if (h) m.completeLatencyMs = { p50: round(h.percentileMs(0.5)), p99: round(h.percentileMs(0.99)), max: round(h.max) };
    components.push(m);
  }
  return { uptimeMs, components, totals, errors: errors.list(), errorsDropped: errors.dropped };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
