import type { MetricsSnapshot } from '../runtime/metrics.ts';
import { compact, formatNumber } from './table.ts';

/** One sample of the run, for rates between two redraws. */
export interface StatusSample {
  atMs: number;
  metrics: MetricsSnapshot;
  status: string;
}

/**
 * The live line: rates come from the deltas between two samples, the other
 * numbers are the latest values. p99 is the worst spout's complete latency
 * over the run so far (the histogram is cumulative).
 */
export function formatStatusLine(name: string, prev: StatusSample | null, cur: StatusSample): string {
  const t = cur.metrics.totals;
  const dt = prev ? (cur.atMs - prev.atMs) / 1000 : 0;
  const rate = (now: number, before: number) => (dt > 0 ? compact(Math.max(0, now - before) / dt) : '-');
  const p = prev?.metrics.totals;
  let p99 = 0;
  for (const c of cur.metrics.components) if (c.completeLatencyMs && c.completeLatencyMs.p99 > p99) p99 = c.completeLatencyMs.p99;
  const parts = [
    `${name} ${cur.status} ${Math.floor(cur.metrics.uptimeMs / 1000)}s`,
    `emitted ${rate(t.emitted, p?.emitted ?? 0)}/s`,
    `acked ${rate(t.acked, p?.acked ?? 0)}/s`,
    `failed ${formatNumber(t.failed)}`,
    `timed out ${formatNumber(t.timedOut)}`,
    `pending ${formatNumber(t.pending)}`,
    `p99 ${p99.toFixed(1)} ms`,
  ];
  if (cur.metrics.errors.length > 0) parts.push(`errors ${formatNumber(cur.metrics.errors.reduce((n, e) => n + e.count, 0))}`);
  return parts.join('  ');
}

const CLEAR = '\r\x1b[2K';

/**
 * Redraws the status line on a terminal about every second. It writes only to
 * the stream it is given (stderr), so stdout stays clean for the summary.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private prev: StatusSample | null = null;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly name: string,
    private readonly sample: () => StatusSample,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.prev = this.sample();
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
  }

  draw(): void {
    const cur = this.sample();
    let line = formatStatusLine(this.name, this.prev, cur);
    const width = this.out.columns;
    if (width !== undefined && width > 1 && line.length >= width) line = line.slice(0, width - 1);
    this.out.write(CLEAR + line);
    this.drawn = true;
    this.prev = cur;
  }

  /** Stop redrawing and clear the line, so what follows starts clean. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.drawn) this.out.write(CLEAR);
    this.drawn = false;
  }
}
