import type { MetricsSnapshot } from '../runtime/index.ts';
import type { HostStatus } from '../runtime/index.ts';
import { describeTrace, firstLine, hostOfErrorComponent, taskName } from './summary.ts';
import { compact, formatNumber } from './table.ts';

/** One sample of the run, for rates between two redraws. */
export interface StatusSample {
  atMs: number;
  metrics: MetricsSnapshot;
  status: string;
  /** run.hosts() at the time of the sample (worker threads: supervisor state, restarts, last crash). */
  hosts?: readonly HostStatus[];
}

/**
 * The live line: rates come from the deltas between two samples, the other
 * numbers are the latest values. p99 is the worst spout's complete latency
 * over the run so far (the histogram is cumulative). With several hosts it
 * adds how many are up and their restarts; a host that is not running shows
 * its state; the latest crash comes last (the part cut first on a narrow
 * terminal).
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
    // Units named: one tree is many tuples, so the two rates differ by the fan-out.
    `tuples emitted ${rate(t.emitted, p?.emitted ?? 0)}/s`,
    `trees acked ${rate(t.acked, p?.acked ?? 0)}/s`,
    `failed ${formatNumber(t.failed)}`,
    `timed out ${formatNumber(t.timedOut)}`,
    `pending ${formatNumber(t.pending)}`,
    `p99 ${p99.toFixed(1)} ms`,
  ];
  const hosts = cur.hosts ?? [];
  if (hosts.length > 1) {
    const up = hosts.filter((h) => h.state === 'running').length;
    const restarts = hosts.reduce((n, h) => n + h.restarts, 0);
    parts.push(`hosts ${up}/${hosts.length} up${restarts > 0 ? `, ${formatNumber(restarts)} restart${restarts === 1 ? '' : 's'}` : ''}`);
  }
  const down = hosts.filter((h) => h.state !== 'running');
  if (down.length > 0) parts.push(down.map((h) => `host ${h.host} ${h.state}`).join(', '));
  if (cur.metrics.errors.length > 0) parts.push(`errors ${formatNumber(cur.metrics.errors.reduce((n, e) => n + e.count, 0))}`);
  const stuck = cur.metrics.stuck ?? [];
  if (stuck.length > 0) {
    const shown = stuck.slice(0, 2).map((t) => `${taskName(t.component, t.task)} ${Math.floor(t.forMs / 1000)}s`);
    parts.push(`stuck ${shown.join(', ')}${stuck.length > 2 ? ` +${stuck.length - 2}` : ''}`);
  }
  const trace = cur.metrics.traces?.at(-1);
  if (trace !== undefined) parts.push(`timeout: ${describeTrace(trace)}`);
  const crash = latestCrash(prev, cur);
  if (crash !== null) parts.push(crash);
  return parts.join('  ');
}

/**
 * The first line of the crash most worth showing: that of a host which is
 * down now, else of one that restarted since the last sample, else the last
 * host error reported. Host errors read `host <N> crashed: <error>`.
 */
export function latestCrash(prev: StatusSample | null, cur: StatusSample): string | null {
  const hosts = cur.hosts ?? [];
  const hostErrors = cur.metrics.errors.filter((e) => hostOfErrorComponent(e.component) !== null);
  const before = new Map((prev?.hosts ?? []).map((h) => [h.host, h.restarts]));
  const pick =
    hosts.find((h) => h.state !== 'running' && h.lastError !== null) ??
    hosts.find((h) => h.lastError !== null && h.restarts > (before.get(h.host) ?? h.restarts));
  if (pick !== undefined) {
    let reported: string | undefined;
    for (const e of hostErrors) if (hostOfErrorComponent(e.component) === pick.host) reported = e.message;
    return firstLine(reported ?? `host ${pick.host}: ${pick.lastError!}`);
  }
  const last = hostErrors[hostErrors.length - 1];
  return last === undefined ? null : firstLine(last.message);
}

/** Cut a line to fit a terminal `width` columns wide (one column spare, so it never wraps). */
export function fitWidth(line: string, width: number | undefined): string {
  return width !== undefined && width > 1 && line.length >= width ? line.slice(0, width - 1) : line;
}

const CLEAR = '\r\x1b[2K';

type Write = NodeJS.WritableStream['write'];

export interface StatusLineOptions {
  /** Time between redraws (default 1000 ms). */
  intervalMs?: number;
  /**
   * Streams that share the terminal with the line (default: the line's own
   * stream). While the line is shown, a write to one of them clears the line
   * first, and the line comes back once the output has ended a line.
   */
  shared?: readonly NodeJS.WritableStream[];
  /** How soon after other output the line is drawn again (default 100 ms): a burst of log lines costs one redraw. */
  redrawDelayMs?: number;
}

/**
 * Redraws the status line on a terminal about every second. It writes only to
 * the stream it is given (stderr), so stdout stays clean for the summary.
 * Taking a sample may be asynchronous (worker threads are asked for fresh
 * counters first); a beat that comes while a sample is still being taken is
 * skipped rather than stacked up.
 *
 * Output of the topology's own (a bolt's console.log on stdout or stderr, a
 * worker thread's output piped there, squall's warnings) would otherwise be
 * written over the line, or leave stale copies of it in the scrollback. So
 * while it runs, the `write` of every shared stream is wrapped: the line is
 * cleared before the output and drawn again after it, once the output ends a
 * line (never in the middle of a line someone is writing), at most once per
 * `redrawDelayMs`. `stop()` puts the writes back.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private redrawTimer: NodeJS.Timeout | null = null;
  private prev: StatusSample | null = null;
  /** The latest line, drawn or not. */
  private line: string | null = null;
  /** The line is on the terminal now. */
  private shown = false;
  /** The last output of another writer ended its line (the cursor is at the start of one). */
  private atLineStart = true;
  private stopped = false;
  private busy: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly shared: readonly NodeJS.WritableStream[];
  private readonly redrawDelayMs: number;
  /** Each shared stream's own write, and the wrapper put in its place. */
  private readonly wrapped = new Map<NodeJS.WritableStream, { own: Write; wrapper: Write }>();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly name: string,
    private readonly sample: () => StatusSample | Promise<StatusSample>,
    options: number | StatusLineOptions = {},
  ) {
    const o = typeof options === 'number' ? { intervalMs: options } : options;
    this.intervalMs = o.intervalMs ?? 1000;
    this.shared = o.shared ?? [out];
    this.redrawDelayMs = o.redrawDelayMs ?? 100;
  }

  start(): void {
    this.stopped = false;
    this.wrapWrites();
    this.track(
      (async () => {
        this.prev = await this.sample();
      })(),
    );
    this.timer = setInterval(() => {
      if (this.busy === null) this.track(this.draw());
    }, this.intervalMs);
    this.timer.unref();
  }

  async draw(): Promise<void> {
    const cur = await this.sample();
    if (this.stopped) return;
    this.line = fitWidth(formatStatusLine(this.name, this.prev, cur), this.out.columns);
    this.prev = cur;
    // In the middle of someone's line: the line comes back once theirs ends.
    if (this.atLineStart) this.show();
  }

  /**
   * Stop redrawing and clear the line, so what follows starts clean. Resolves
   * once a sample being taken has finished (nothing is drawn after it).
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    this.redrawTimer = null;
    this.stopped = true;
    this.hide();
    this.unwrapWrites();
    await this.busy;
  }

  private show(): void {
    if (this.line === null) return;
    this.ownWrite(CLEAR + this.line);
    this.shown = true;
  }

  private hide(): void {
    if (!this.shown) return;
    this.ownWrite(CLEAR);
    this.shown = false;
  }

  /** Write to the line's stream past the wrapper. */
  private ownWrite(text: string): void {
    const w = this.wrapped.get(this.out);
    if (w !== undefined) w.own.call(this.out, text);
    else this.out.write(text);
  }

  private wrapWrites(): void {
    for (const stream of this.shared) {
      if (this.wrapped.has(stream)) continue;
      const own = stream.write;
      const wrapper = ((chunk: unknown, ...rest: unknown[]): boolean => {
        if (this.stopped) return (own as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
        this.hide();
        const ok = (own as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
        const end = lastChar(chunk);
        if (end !== null) this.atLineStart = end === '\n';
        this.redrawSoon();
        return ok;
      }) as Write;
      this.wrapped.set(stream, { own, wrapper });
      stream.write = wrapper;
    }
  }

  private unwrapWrites(): void {
    for (const [stream, { own, wrapper }] of this.wrapped) {
      // Someone wrapped it after us: leave theirs; ours passes writes through once stopped.
      if (stream.write === wrapper) stream.write = own;
    }
    this.wrapped.clear();
  }

  private redrawSoon(): void {
    if (this.redrawTimer !== null) return;
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = null;
      if (!this.stopped && !this.shown && this.atLineStart) this.show();
    }, this.redrawDelayMs);
    this.redrawTimer.unref();
  }

  private track(p: Promise<void>): void {
    const tracked: Promise<void> = p
      .catch(() => {
        // A failed sample skips one redraw; the status line is no reason to stop a run.
      })
      .finally(() => {
        if (this.busy === tracked) this.busy = null;
      });
    this.busy = tracked;
  }
}

/** The last character of a chunk written to a stream (a string or bytes), or null for an empty one. */
function lastChar(chunk: unknown): string | null {
  if (typeof chunk === 'string') return chunk.length === 0 ? null : chunk[chunk.length - 1]!;
  if (chunk instanceof Uint8Array) return chunk.length === 0 ? null : String.fromCharCode(chunk[chunk.length - 1]!);
  return null;
}
