/**
 * The window library's public types: assigners, time, functions, triggers,
 * lateness, limits and results. See docs/windows.md.
 */
import type { TimeDomain } from '../state/index.ts';

// --- assigners ---------------------------------------------------------------

/** Fixed windows of `sizeMs` that do not overlap: [k*size + offset, (k+1)*size + offset). */
export interface TumblingWindows {
  readonly kind: 'tumbling';
  readonly sizeMs: number;
  readonly offsetMs: number;
}

/**
 * Windows of `sizeMs` that start every `slideMs` (hopping). `alignTo: 'data'`
 * aligns a key's windows to its first element: their starts are that
 * element's time plus multiples of the slide (instead of multiples of the
 * slide plus `offsetMs`).
 */
export interface SlidingWindows {
  readonly kind: 'sliding';
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  readonly alignTo: 'epoch' | 'data';
}

/** A window per burst of activity of a key: it closes after `gapMs` without an element; overlapping sessions merge. */
export interface SessionWindows {
  readonly kind: 'session';
  readonly gapMs: number;
}

/** Every `slide` elements of a key, a window over its last `size` elements (tumbling when slide = size). Arrival order; no time. */
export interface CountWindows {
  readonly kind: 'count';
  readonly size: number;
  readonly slide: number;
}

/** One window per key that never ends by itself: a trigger decides when it fires and when it is purged. */
export interface GlobalWindows {
  readonly kind: 'global';
  readonly trigger: WindowTrigger;
}

export type WindowAssigner = TumblingWindows | SlidingWindows | SessionWindows | CountWindows | GlobalWindows;

// --- triggers of a global window ---------------------------------------------

/** What a trigger decides: keep going, fire (an 'early' result, contents kept), fire and purge (an 'on-time' result, contents dropped), or purge. */
export type TriggerAction = 'continue' | 'fire' | 'fire-and-purge' | 'purge';

/**
 * What a trigger sees: the key's window contents so far and the times. One
 * object per bolt, refilled before each call: read it, do not keep it.
 */
export interface TriggerContext {
  /** Elements in the window since its last purge (this one included, in onElement). */
  readonly count: number;
  /** The element's time (onElement) or the timer's time (onTimer). */
  readonly time: number;
  /** The task's event-time watermark (-Infinity before the first). */
  readonly watermark: number;
  /** Processing time (the topology clock). */
  readonly now: number;
  /** Ask for onTimer at `time` in `domain`, with this key current (a keyed timer: checkpointed). */
  registerTimer(time: number, domain: TimeDomain): void;
  deleteTimer(time: number, domain: TimeDomain): void;
}

/** A custom trigger for a global window. */
export interface WindowTrigger {
  onElement(ctx: TriggerContext): TriggerAction;
  onTimer?(ctx: TriggerContext, domain: TimeDomain): TriggerAction;
}

// --- time --------------------------------------------------------------------

/**
 * Where an element's time comes from: the topology clock when it is executed
 * (`'processing'`), a field holding ms (a number or a Date), or a function of
 * the tuple's values.
 */
export type WindowTime =
  | 'processing'
  | { readonly field: string }
  | { readonly timestamp: (values: readonly unknown[]) => number };

// --- functions ---------------------------------------------------------------

/**
 * An incremental aggregation: one accumulator per key per slice.
 * `add(acc, v)` may change `acc` and return it; `merge(a, b)` may change and
 * return `a`, never `b` (b is a slice's accumulator, still in use).
 */
export interface WindowAggregate<IN, ACC, OUT> {
  create(): ACC;
  add(accumulator: ACC, value: IN): ACC;
  merge(a: ACC, b: ACC): ACC;
  result(accumulator: ACC): OUT;
}

/** A window's bounds: [start, end). For count windows, element numbers of the key (1-based, end exclusive). */
export interface WindowBounds {
  readonly start: number;
  readonly end: number;
}

/** How a firing came about. */
export type FiringKind = 'early' | 'on-time' | 'late';

/** A result as emitted on the default stream, in the order of {@link WINDOW_RESULT_FIELDS}. */
export interface WindowResult<OUT> {
  /** The key (context.state.currentKey), or null for an unkeyed window. */
  readonly key: string | null;
  readonly start: number;
  readonly end: number;
  readonly result: OUT;
  readonly kind: FiringKind;
  /** 1 for a window's first result, +1 for each later one: upsert by (key, start, end), keep the highest version. */
  readonly version: number;
}

/** The default stream's fields. */
export const WINDOW_RESULT_FIELDS = Object.freeze(['key', 'start', 'end', 'result', 'kind', 'version'] as const);

/** The stream late inputs go to, with their original values, when `late.fields` is given. */
export const LATE_STREAM = 'late';

// --- options -----------------------------------------------------------------

interface CommonOptions<IN> {
  window: WindowAssigner;
  /** Default 'processing'. */
  time?: WindowTime;
  /** Default true: a window per key of the fields grouping. false: one window over all of the task's input. */
  keyed?: boolean;
  /** What an element is (default: the tuple's values, an array). Must be cloneable when it is kept (process windows). */
  value?: (values: readonly unknown[]) => IN;
  /** Event time only: how long after a window's end (by the watermark) late elements still update it (default 0). */
  allowedLatenessMs?: number;
  /** Early (preliminary) results of time and session windows, before the watermark passes the end. */
  early?: {
    /** Every this many ms of processing time, each open window of a key with data fires. */
    everyMs?: number;
    /** Every this many elements of a key, the open windows the element falls in fire. */
    everyElements?: number;
  };
  /**
   * Inputs too late for every window they belong to: with `fields` (the
   * inputs' fields) they are emitted on the stream 'late' with their
   * original values; without, they are dropped and counted (stats().lateDropped).
   */
  late?: { fields?: readonly string[] };
  limits?: WindowLimits;
}

/**
 * Bounds on what a window task holds. Past one, the input that would cross
 * it is refused: reported once as E_WINDOW_LIMIT, counted in
 * stats().refused; in ack mode it is failed (its spout replays it later,
 * which holds the stream back), in checkpoint mode it is dropped (acked: a
 * failure would roll the topology back into the same full window). See
 * docs/windows.md.
 */
export interface WindowLimits {
  /** Accumulators (key x slice, key x session, key x count pane) of this task. Default 1,000,000. */
  maxPanes?: number;
  /** Elements kept by `process` windows in this task. Default 1,000,000. */
  maxBufferedElements?: number;
  /** Ack mode: inputs held until their last window fires. Default 100,000. */
  maxPendingAcks?: number;
}

export interface ReduceOptions<IN> extends CommonOptions<IN> {
  /** Fold two elements into one: must return a new value or one of its arguments unchanged. */
  reduce: (a: IN, b: IN) => IN;
}
export interface AggregateOptions<IN, ACC, OUT> extends CommonOptions<IN> {
  aggregate: WindowAggregate<IN, ACC, OUT>;
}
export interface ProcessOptions<IN, OUT> extends CommonOptions<IN> {
  /** Every element of the window (ordered by slice, then arrival), and its bounds. */
  process: (key: string | null, window: WindowBounds, elements: readonly IN[]) => OUT;
}

export type WindowOptions<IN = unknown, ACC = unknown, OUT = unknown> =
  | ReduceOptions<IN>
  | AggregateOptions<IN, ACC, OUT>
  | ProcessOptions<IN, OUT>;

/** What a window task holds and did, for tests, metrics and limits. */
export interface WindowStats {
  /** Keys with window state. */
  keys: number;
  /** Accumulators: key x slice (time windows), key x session, key x pane (count), key (global). */
  panes: number;
  /** Elements kept by `process` windows. */
  bufferedElements: number;
  /** Window versions remembered for late firings (key x fired window still within lateness). */
  versions: number;
  /** Ack mode: inputs waiting for their last window. */
  pendingAcks: number;
  firings: { early: number; onTime: number; late: number };
  /** Inputs too late for every window: emitted on 'late', or dropped. */
  lateEmitted: number;
  lateDropped: number;
  /** Inputs refused at a limit (E_WINDOW_LIMIT). */
  refused: number;
}
