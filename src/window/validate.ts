/**
 * Checks of a windowed bolt's options, alone and against the topology
 * config: the bolt runs them in its constructor and in prepare, and the
 * runtime may run validateWindowedBolt at submit time.
 */
import { SquallError } from '../errors/index.ts';
import type { WindowOptions } from './types.ts';

/** The topology settings a window depends on. */
export interface WindowConfig {
  readonly ackers?: unknown;
  readonly messageTimeoutMs?: unknown;
  readonly maxSpoutPending?: unknown;
}

function bad(message: string, component?: string): SquallError {
  return new SquallError({ code: 'E_BAD_CONFIG', component, message });
}

function nonNegative(what: string, v: unknown, component?: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(`${what} must be a number of 0 or more; got ${String(v)}`, component);
}

/** The options alone: E_BAD_CONFIG naming the wrong one. */
export function checkWindowOptions(options: WindowOptions, component?: string): void {
  if (options === null || typeof options !== 'object') throw bad('a windowed bolt takes an options object ({ window, reduce | aggregate | process, ... })', component);
  const fns = ['reduce', 'aggregate', 'process'].filter((f) => (options as unknown as Record<string, unknown>)[f] !== undefined);
  if (fns.length !== 1) {
    throw bad(`a windowed bolt takes exactly one of reduce, aggregate and process; got ${fns.length === 0 ? 'none' : fns.join(' and ')}`, component);
  }
  if ('aggregate' in options && options.aggregate !== undefined) {
    const a = options.aggregate;
    for (const m of ['create', 'add', 'merge', 'result'] as const) {
      if (typeof a[m] !== 'function') throw bad(`aggregate.${m} must be a function (an aggregate has create, add, merge and result)`, component);
    }
  }
  const w = options.window;
  if (w === null || typeof w !== 'object' || !['tumbling', 'sliding', 'session', 'count', 'global'].includes(w.kind)) {
    throw bad('window must be made with tumbling(), sliding(), session(), countWindow() or globalWindow()', component);
  }
  const time = options.time ?? 'processing';
  if (time !== 'processing') {
    const t = time as { field?: unknown; timestamp?: unknown };
    if (typeof t !== 'object' || (typeof t.field !== 'string' && typeof t.timestamp !== 'function')) {
      throw bad("time is 'processing', { field: '<name of a field holding ms>' } or { timestamp: (values) => ms }", component);
    }
  }
  nonNegative('allowedLatenessMs', options.allowedLatenessMs, component);
  if ((options.allowedLatenessMs ?? 0) > 0 && (time === 'processing' || w.kind === 'count')) {
    throw bad('allowedLatenessMs applies to event-time windows only: nothing is late in processing time or in count windows; leave it out', component);
  }
  const early = options.early;
  if (early !== undefined) {
    if (w.kind === 'count' || w.kind === 'global') {
      throw bad(`early firings apply to time and session windows; a ${w.kind} window fires when its ${w.kind === 'count' ? 'count is reached' : 'trigger says'}`, component);
    }
    for (const k of ['everyMs', 'everyElements'] as const) {
      const v = early[k];
      if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (k === 'everyElements' && !Number.isInteger(v)))) {
        throw bad(`early.${k} must be a positive ${k === 'everyMs' ? 'number of ms' : 'integer'}; got ${String(v)}`, component);
      }
    }
  }
  const lf = options.late?.fields;
  if (lf !== undefined && (!Array.isArray(lf) || lf.length === 0 || lf.some((f) => typeof f !== 'string' || f === ''))) {
    throw bad("late.fields must be the inputs' field names (a non-empty array of strings): late inputs go to the 'late' stream with their values", component);
  }
  const limits = options.limits ?? {};
  for (const k of ['maxPanes', 'maxBufferedElements', 'maxPendingAcks'] as const) {
    const v = limits[k];
    if (v !== undefined && (typeof v !== 'number' || !(v >= 1) || !Number.isInteger(v))) throw bad(`limits.${k} must be a positive integer; got ${String(v)}`, component);
  }
}

/**
 * A windowed bolt's options against the topology config. In ack mode
 * (ackers >= 1) an input stays pending until its last window fires: a time
 * window whose length plus allowed lateness is not below
 * `messageTimeoutMs` would time its inputs out and have them replayed (and
 * counted again), and a count window longer than `maxSpoutPending` could
 * never fill. Both are E_WINDOW_TIMEOUT, saying which setting to change.
 * Checkpoint mode (ackers 0) has no such limit.
 */
export function validateWindowedBolt(config: WindowConfig, options: WindowOptions, component?: string): void {
  checkWindowOptions(options, component);
  const ackers = typeof config.ackers === 'number' ? config.ackers : 1;
  if (ackers < 1) return;
  const timeout = typeof config.messageTimeoutMs === 'number' ? config.messageTimeoutMs : 30_000;
  const pending = typeof config.maxSpoutPending === 'number' ? config.maxSpoutPending : 1000;
  const w = options.window;
  const lateness = options.allowedLatenessMs ?? 0;
  const where = component === undefined ? 'a windowed bolt' : `windowed bolt '${component}'`;
  if (w.kind === 'tumbling' || w.kind === 'sliding' || w.kind === 'session') {
    const length = w.kind === 'session' ? w.gapMs : w.sizeMs;
    const what = w.kind === 'session' ? `session gap ${length} ms` : `window length ${length} ms`;
    if (length + lateness >= timeout) {
      throw new SquallError({
        code: 'E_WINDOW_TIMEOUT',
        component,
        message:
          `${where} has a ${what}${lateness > 0 ? ` + allowedLatenessMs ${lateness}` : ''} = ${length + lateness} ms, not below messageTimeoutMs ${timeout}: ` +
          `in ack mode its inputs would time out before their last window fires and be replayed. Raise messageTimeoutMs above ${length + lateness} ms ` +
          `(with room for the watermark's delay), shorten the window${lateness > 0 ? ' or allowedLatenessMs' : ''}, or run in checkpoint mode (ackers: 0, checkpointIntervalMs > 0)`,
        details: { windowMs: length, allowedLatenessMs: lateness, messageTimeoutMs: timeout },
      });
    }
  } else if (w.kind === 'count') {
    if (w.size + w.slide > pending) {
      throw new SquallError({
        code: 'E_WINDOW_TIMEOUT',
        component,
        message:
          `${where} counts windows of ${w.size} elements sliding by ${w.slide}: size + slide = ${w.size + w.slide} is above maxSpoutPending ${pending}, ` +
          `so in ack mode the spout would stop before a window fills and its inputs would time out. Raise maxSpoutPending to at least ${w.size + w.slide}, ` +
          `make the window smaller, or run in checkpoint mode (ackers: 0)`,
        details: { size: w.size, slide: w.slide, maxSpoutPending: pending },
      });
    }
  }
}
