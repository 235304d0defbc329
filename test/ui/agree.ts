/**
 * What the page shows of each component, as numbers, and the same figures
 * read from /metrics: the tests check that a page and the /metrics of the
 * same sample agree.
 */
import { parsePrometheusText } from '../metrics/prom-text.ts';

/** The table's numeric columns (data-key) that /metrics also has. */
export const SHARED_KEYS = ['tasks', 'emitted', 'transferred', 'executed', 'acked', 'failed', 'timedOut', 'pending', 'queued', 'errors', 'executeLatencyMs', 'capacity'] as const;
export type SharedKey = (typeof SHARED_KEYS)[number];
export type Figures = Partial<Record<SharedKey, number>>;

/** Per component, the figures of a /metrics text: per-task series added up, seconds as ms. */
export function figuresOfMetrics(text: string): Map<string, Figures> {
  const families = parsePrometheusText(text);
  const out = new Map<string, Figures>();
  const add = (metric: string, key: SharedKey, scale = 1, filter: (labels: Record<string, string>) => boolean = () => true): void => {
    for (const s of families.get(metric)?.samples ?? []) {
      if (!filter(s.labels)) continue;
      const c = s.labels['component']!;
      const f = out.get(c) ?? out.set(c, {}).get(c)!;
      f[key] = (f[key] ?? 0) + s.value * scale;
    }
  };
  add('squall_component_tasks', 'tasks');
  add('squall_tuples_emitted_total', 'emitted');
  add('squall_tuples_transferred_total', 'transferred');
  add('squall_tuples_executed_total', 'executed');
  add('squall_tuples_acked_total', 'acked');
  add('squall_tuples_failed_total', 'failed', 1, (l) => l['reason'] === 'fail');
  add('squall_tuples_failed_total', 'timedOut', 1, (l) => l['reason'] === 'timeout');
  add('squall_pending_trees', 'pending');
  add('squall_queue_depth', 'queued');
  add('squall_errors_total', 'errors');
  add('squall_capacity', 'capacity');
  // Execute latency is a histogram: its mean (_sum / _count) in ms, rounded to the µs as the snapshot rounds executeLatencyMs.
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const s of families.get('squall_execute_latency_seconds')?.samples ?? []) {
    if (s.name.endsWith('_sum')) sums.set(s.labels['component']!, s.value);
    if (s.name.endsWith('_count')) counts.set(s.labels['component']!, s.value);
  }
  for (const [c, n] of counts) {
    const f = out.get(c) ?? out.set(c, {}).get(c)!;
    f.executeLatencyMs = n > 0 ? Math.round(((sums.get(c) ?? 0) / n) * 1e6) / 1000 : 0;
  }
  return out;
}

/**
 * The differences between what a page shows and what /metrics says, as
 * readable lines ([] when they agree). A column the page leaves empty for a
 * kind (a spout's executed) is not compared; latency is compared to the µs.
 */
export function disagreements(page: Map<string, Figures>, metrics: Map<string, Figures>): string[] {
  const out: string[] = [];
  if ([...page.keys()].sort().join() !== [...metrics.keys()].sort().join()) {
    out.push(`components: page ${[...page.keys()].sort().join()} vs /metrics ${[...metrics.keys()].sort().join()}`);
  }
  for (const [component, shown] of page) {
    const m = metrics.get(component) ?? {};
    for (const key of SHARED_KEYS) {
      const a = shown[key];
      if (a === undefined) continue;
      const b = m[key] ?? 0;
      const same = key === 'executeLatencyMs' ? Math.abs(a - b) < 1e-6 : a === b;
      if (!same) out.push(`${component}.${key}: page ${a}, /metrics ${b}`);
    }
  }
  return out;
}
