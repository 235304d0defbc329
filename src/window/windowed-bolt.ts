/**
 * WindowedBolt: tumbling, sliding, session, count and global windows over
 * keyed state and timers. See docs/windows.md for the semantics; in short:
 *
 * - Time windows are cut into slices of gcd(size, slide) ms; each element
 *   is folded into the one accumulator (or element list, for `process`) of
 *   its key's slice, and a window's result folds its slices when it fires.
 *   State is keys x live slices, never elements x windows.
 * - Everything of a key lives in ONE ValueState entry (a plain object with
 *   Maps) and its timers, so checkpoints capture it and restore it exactly.
 *   Each key keeps at most one firing timer (the next thing it must do:
 *   fire a window or drop slices past lateness) and one early timer.
 * - Event time: a window [start, end) fires on time when the watermark
 *   reaches end - 1; an element is late for a window when the watermark is
 *   at or past end - 1, and too late once it is at or past
 *   end - 1 + allowedLatenessMs. Processing time uses now - 1 as the
 *   watermark: nothing is ever late.
 */
import type { OutputCollector } from '../bolt/index.ts';
import { SquallError } from '../errors/index.ts';
import type { KeyedStateContext, TimeDomain, TimerService, ValueState } from '../state/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { StreamDesc, Tuple } from '../tuple/index.ts';
import type {
  FiringKind,
  TriggerAction,
  TriggerContext,
  WindowAggregate,
  WindowAssigner,
  WindowBounds,
  WindowOptions,
  WindowStats,
  WindowTrigger,
} from './types.ts';
import { LATE_STREAM, WINDOW_RESULT_FIELDS } from './types.ts';
import { checkWindowOptions, validateWindowedBolt } from './validate.ts';

/** The one keyed state a windowed bolt declares. */
export const WINDOW_STATE = 'window';
/** The key an unkeyed window keeps its state under. */
export const UNKEYED_KEY = '*';

const DEFAULT_MAX_PANES = 1_000_000;
const DEFAULT_MAX_BUFFERED = 1_000_000;
const DEFAULT_MAX_PENDING_ACKS = 100_000;

/**
 * A key's time-window state. Its slices with data are two arrays in step,
 * ascending by start: a key has few live slices, and data mostly comes in
 * order, so a search from the newest one back finds an element's slice in
 * a step or two, with no hashing of float keys and no allocation. The
 * newest slice's start and accumulator are also fields of the state
 * itself, so an element of the newest slice (most of them) touches this
 * one object and not the arrays.
 */
interface SliceState {
  /** Alignment of the key's windows: starts are off + k * slide. */
  off: number;
  /** Starts of the slices with data, ascending. */
  starts: number[];
  /** The accumulator (or element list, for `process`) of each slice in `starts` but the newest (undefined there: see `top`). */
  accs: unknown[];
  /** The newest slice's start (the last of `starts`; -Infinity with none) and its accumulator. */
  topStart: number;
  top: unknown;
  /**
   * The newest slice's number, (topStart - off) / slice: a small integer
   * held in the object itself, where a time (a double) is a separate boxed
   * number, one more memory load. Meaningful only with a newest slice (a
   * state in the bolt's map always has one).
   */
  topK: number;
  /** The bolt's checkpoint epoch when the key last went into its `touched` list (-1: not since it was restored). */
  epoch: number;
  /** Ends of the windows fired while within lateness, ascending, and the last version emitted for each. */
  ends: number[];
  vers: number[];
  /** The watermark up to which on-time firings are done for this key. */
  done: number;
  /** The firing timer registered (time of the timer service), or Infinity. */
  timer: number;
  /** The early timer registered (processing time), or Infinity. */
  early: number;
  /** Elements since the last early count firing. */
  n: number;
}

interface Session {
  start: number;
  end: number;
  acc: unknown;
  version: number;
  /** Fired on time, or late when it was made: only late firings are left for it. */
  passed: boolean;
}

interface SessionState {
  sessions: Session[];
  timer: number;
  early: number;
  n: number;
}

interface CountState {
  seen: number;
  panes: Map<number, unknown>;
}

interface GlobalState {
  acc: unknown;
  count: number;
  first: number;
  last: number;
  version: number;
}

type KeyState = SliceState | SessionState | CountState | GlobalState;

/** Ack mode: inputs of one key waiting for their last window, with what they wait for. */
interface Pending {
  tuples: Tuple[];
  due: number[];
}

/** The function: reduce, aggregate or process (plain numbers: no enums in stripped TypeScript). */
const Mode = { Reduce: 0, Aggregate: 1, Process: 2 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];
/** The assigner's engine. */
const Kind = { Slices: 0, Sessions: 1, Count: 2, Global: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/** A key's slice state as stored before slices were arrays (slice start -> accumulator, window end -> version). */
interface SliceStateOfMaps {
  off: number;
  panes: Map<number, unknown>;
  versions: Map<number, number>;
  done: number;
  timer: number;
  early: number;
  n: number;
}

/** A restored slice state in today's layout: one written with Maps (an earlier checkpoint) is converted. */
function sliceStateOf(raw: unknown): SliceState {
  const st = raw as SliceState | SliceStateOfMaps;
  if (!('panes' in st)) return st;
  const panes = [...st.panes].sort((x, y) => x[0] - y[0]);
  const versions = [...st.versions].sort((x, y) => x[0] - y[0]);
  const newest = panes.pop();
  return {
    off: st.off,
    starts: [...panes.map((p) => p[0]), ...(newest === undefined ? [] : [newest[0]])],
    accs: [...panes.map((p) => p[1]), ...(newest === undefined ? [] : [undefined])],
    topStart: newest === undefined ? -Infinity : newest[0],
    top: newest?.[1],
    topK: 0,
    epoch: -1,
    ends: versions.map((v) => v[0]),
    vers: versions.map((v) => v[1]),
    done: st.done,
    timer: st.timer,
    early: st.early,
    n: st.n,
  };
}

/** The accumulator of slice i (the newest one's is `top`). */
function accOf(st: SliceState, i: number): unknown {
  return i === st.starts.length - 1 ? st.top : st.accs[i];
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

function emptyStats(): WindowStats {
  return {
    keys: 0,
    panes: 0,
    bufferedElements: 0,
    versions: 0,
    pendingAcks: 0,
    firings: { early: 0, onTime: 0, late: 0 },
    lateEmitted: 0,
    lateDropped: 0,
    refused: 0,
  };
}

/**
 * A bolt that windows its input per key (the fields grouping's key) or
 * over all of it (`keyed: false`), and emits one result per firing on the
 * default stream: [key, start, end, result, kind, version].
 *
 * @example
 * b.setBolt('hourly', () => new WindowedBolt({
 *   window: tumbling(3_600_000), time: { field: 'ts' }, allowedLatenessMs: 300_000,
 *   value: (v) => v[2] as string,
 *   aggregate: { create: () => ({}), add: (a, action) => ..., merge: ..., result: (a) => a },
 *   late: { fields: ['userId', 'ts', 'action'] },
 * })).fieldsGrouping('events', ['userId']);
 */
export class WindowedBolt<IN = unknown, ACC = unknown, OUT = unknown> {
  private readonly options: WindowOptions<IN, ACC, OUT>;
  private readonly assigner: WindowAssigner;
  private readonly kind: Kind;
  private readonly mode: Mode;
  private readonly reduceFn: ((a: IN, b: IN) => IN) | null;
  private readonly agg: WindowAggregate<IN, ACC, OUT> | null;
  private readonly processFn: ((key: string | null, window: WindowBounds, elements: readonly IN[]) => OUT) | null;
  private readonly keyed: boolean;
  private readonly eventTime: boolean;
  private readonly timeField: string | null;
  private readonly timestampFn: ((values: readonly unknown[]) => number) | null;
  private readonly valueFn: ((values: readonly unknown[]) => IN) | null;
  private readonly lateness: number;
  private readonly earlyMs: number;
  private readonly earlyN: number;
  private readonly lateToStream: boolean;
  private readonly maxPanes: number;
  private readonly maxBuffered: number;
  private readonly maxPendingAcks: number;
  // Time windows: size, slide, slice.
  private readonly size: number = 0;
  private readonly slide: number = 0;
  private readonly slice: number = 0;
  private readonly alignToData: boolean = false;
  /** Tumbling time windows: a slice is a window. */
  private readonly tumbling: boolean = false;
  /** The stream whose time field index is cached, and the index. */
  private tsSource: StreamDesc | null = null;
  private tsIndex = -1;
  private readonly offset: number = 0;
  private readonly trigger: WindowTrigger | null = null;

  private collector!: OutputCollector;
  private context!: TopologyContext;
  private state!: KeyedStateContext;
  private timers!: TimerService;
  private kstate!: ValueState<KeyState>;
  /**
   * Time windows: each key's state by key, the same objects the keyed state
   * holds. An element finds its key's state here, changes it in place and
   * notes the key once per checkpoint (`touched`); snapshotState sets those
   * keys' state again before the keyed state is taken. So an element costs
   * one lookup, not a keyed-state read and write.
   */
  private readonly slices = new Map<string, SliceState>();
  private touched: string[] = [];
  private epoch = 0;
  /** Checkpoints are on: keys are noted as touched (else nothing would ever empty the list). */
  private checkpointing = false;
  private ackMode = false;
  private readonly pending = new Map<string, Pending>();
  private readonly s: WindowStats = emptyStats();
  private limitReported = false;
  // Unkeyed: the input being executed under withKey, and the bound runner (no closure per tuple).
  private cur: Tuple | null = null;
  private readonly runCur = (): void => this.handle(this.cur!);
  private readonly tctx: TriggerContext & { count: number; time: number; watermark: number; now: number };

  constructor(options: WindowOptions<IN, ACC, OUT>) {
    checkWindowOptions(options as WindowOptions);
    this.options = options;
    const w = options.window;
    this.assigner = w;
    this.reduceFn = 'reduce' in options ? options.reduce : null;
    this.agg = 'aggregate' in options ? options.aggregate : null;
    this.processFn = 'process' in options ? options.process : null;
    this.mode = this.reduceFn !== null ? Mode.Reduce : this.agg !== null ? Mode.Aggregate : Mode.Process;
    this.keyed = options.keyed !== false;
    const time = options.time ?? 'processing';
    this.eventTime = time !== 'processing';
    this.timeField = time !== 'processing' && 'field' in time ? time.field : null;
    this.timestampFn = time !== 'processing' && 'timestamp' in time ? time.timestamp : null;
    this.valueFn = options.value ?? null;
    this.lateness = options.allowedLatenessMs ?? 0;
    this.earlyMs = options.early?.everyMs ?? 0;
    this.earlyN = options.early?.everyElements ?? 0;
    this.lateToStream = options.late?.fields !== undefined;
    this.maxPanes = options.limits?.maxPanes ?? DEFAULT_MAX_PANES;
    this.maxBuffered = options.limits?.maxBufferedElements ?? DEFAULT_MAX_BUFFERED;
    this.maxPendingAcks = options.limits?.maxPendingAcks ?? DEFAULT_MAX_PENDING_ACKS;
    if (w.kind === 'tumbling' || w.kind === 'sliding') {
      this.kind = Kind.Slices;
      this.size = w.sizeMs;
      this.slide = w.kind === 'tumbling' ? w.sizeMs : w.slideMs;
      this.slice = gcd(this.size, this.slide);
      this.alignToData = w.kind === 'sliding' && w.alignTo === 'data';
      this.tumbling = w.kind === 'tumbling';
      this.offset = mod(w.offsetMs, this.slide);
    } else if (w.kind === 'session') {
      this.kind = Kind.Sessions;
      this.size = w.gapMs;
    } else if (w.kind === 'count') {
      this.kind = Kind.Count;
      this.size = w.size;
      this.slide = w.slide;
      this.slice = gcd(w.size, w.slide);
    } else {
      this.kind = Kind.Global;
      this.trigger = w.trigger;
    }
    const self = this;
    this.tctx = {
      count: 0,
      time: 0,
      watermark: -Infinity,
      now: 0,
      registerTimer(time: number, domain: TimeDomain) {
        if (domain === 'event') self.timers.registerEventTimeTimer(time);
        else self.timers.registerProcessingTimeTimer(time);
      },
      deleteTimer(time: number, domain: TimeDomain) {
        if (domain === 'event') self.timers.deleteEventTimeTimer(time);
        else self.timers.deleteProcessingTimeTimer(time);
      },
    };
  }

  declareOutputFields(d: OutputDeclarer): void {
    d.declare([...WINDOW_RESULT_FIELDS]);
    const lf = this.options.late?.fields;
    if (lf !== undefined) d.declareStream(LATE_STREAM, lf);
  }

  prepare(context: TopologyContext, collector: OutputCollector): void {
    validateWindowedBolt(context.config, this.options as WindowOptions, context.componentId);
    this.context = context;
    this.collector = collector;
    this.state = context.state;
    this.timers = context.state.timers;
    this.ackMode = typeof context.config['ackers'] === 'number' ? (context.config['ackers'] as number) >= 1 : true;
    this.kstate = context.state.value<KeyState>(WINDOW_STATE);
    this.checkpointing = Number(context.config['checkpointIntervalMs'] ?? 0) > 0;
    this.recount();
  }

  /**
   * Check the options against a topology config (the merged config of this
   * component): E_WINDOW_TIMEOUT in ack mode when the window outlasts
   * messageTimeoutMs (or a count window maxSpoutPending). For a submit-time
   * check on an instance the builder made; prepare runs it too.
   */
  validate(config: Readonly<Record<string, unknown>>, component?: string): void {
    validateWindowedBolt(config, this.options as WindowOptions, component);
  }

  /**
   * Checkpoint n, before the keyed state is taken: the time-window states
   * changed in place since the last checkpoint are set again, so the
   * checkpoint writes them. No operator state of its own.
   */
  snapshotState(_n: number): undefined {
    this.epoch++;
    const touched = this.touched;
    this.touched = [];
    for (const key of touched) {
      const st = this.slices.get(key);
      if (st !== undefined) this.state.withKey(key, () => this.kstate.set(st));
    }
    return undefined;
  }

  /** What this task holds and did: keys, panes (accumulators), buffered elements, versions, pending acks, firings, late and refused inputs. */
  /** The stats as flat numbers, for the run's snapshot and /metrics (Bolt.metrics). */
  metrics(): Record<string, number> {
    const s = this.s;
    return {
      keys: s.keys,
      panes: s.panes,
      bufferedElements: s.bufferedElements,
      versions: s.versions,
      pendingAcks: s.pendingAcks,
      firingsEarly: s.firings.early,
      firingsOnTime: s.firings.onTime,
      firingsLate: s.firings.late,
      lateEmitted: s.lateEmitted,
      lateDropped: s.lateDropped,
      refused: s.refused,
    };
  }

  stats(): WindowStats {
    return { ...this.s, firings: { ...this.s.firings } };
  }

  // --- input -------------------------------------------------------------------

  execute(input: Tuple): void {
    if (input.isTick) {
      this.collector.ack(input);
      return;
    }
    if (this.keyed) this.handle(input);
    else {
      this.cur = input;
      try {
        this.state.withKey(UNKEYED_KEY, this.runCur);
      } finally {
        this.cur = null;
      }
    }
  }

  private handle(input: Tuple): void {
    const values = input.values;
    const ts = this.timeOf(input);
    const v = this.valueFn === null ? (values as unknown as IN) : this.valueFn(values);
    switch (this.kind) {
      case Kind.Slices:
        this.addToSlices(input, ts, v);
        break;
      case Kind.Sessions:
        this.addToSessions(input, ts, v);
        break;
      case Kind.Count:
        this.addToCount(input, v);
        break;
      default:
        this.addToGlobal(input, ts, v);
    }
  }

  private timeOf(input: Tuple): number {
    if (!this.eventTime) return this.context.clock.now();
    let t: unknown;
    if (this.timeField !== null) {
      // The field's index, looked up once per input stream.
      let i: number | undefined = this.tsIndex;
      if (input.source !== this.tsSource) {
        i = input.fieldIndex.get(this.timeField);
        if (i !== undefined) {
          this.tsSource = input.source;
          this.tsIndex = i;
        }
      }
      if (i === undefined) {
        throw new SquallError({
          code: 'E_WINDOW_BAD_TIMESTAMP',
          component: this.context.componentId,
          stream: input.sourceStream,
          message: `windowed bolt '${this.context.componentId}' reads event time from field '${this.timeField}', which stream '${input.sourceComponent}:${input.sourceStream}' does not have (fields: ${[...input.fieldIndex.keys()].join(', ')})`,
        });
      }
      t = input.values[i];
      if (t instanceof Date) t = t.getTime();
    } else t = this.timestampFn!(input.values);
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      throw new SquallError({
        code: 'E_WINDOW_BAD_TIMESTAMP',
        component: this.context.componentId,
        stream: input.sourceStream,
        message: `windowed bolt '${this.context.componentId}' got an event time that is not a finite number of ms (${String(t)}); the input is failed`,
      });
    }
    return t;
  }

  /** The watermark windows are judged by: the task's (event time), or now - 1 (processing time). */
  private watermark(): number {
    return this.eventTime ? this.timers.currentWatermark() : this.context.clock.now() - 1;
  }

  /** Register the firing timer for `time` (event time: at it; processing time: at time + 1, when now - 1 reaches it). */
  private setFiringTimer(st: SliceState | SessionState, time: number): void {
    if (!(time < st.timer)) return;
    if (st.timer !== Infinity) {
      if (this.eventTime) this.timers.deleteEventTimeTimer(st.timer);
      else if (st.timer !== st.early) this.timers.deleteProcessingTimeTimer(st.timer);
    }
    st.timer = time;
    if (this.eventTime) this.timers.registerEventTimeTimer(time);
    else this.timers.registerProcessingTimeTimer(time);
  }

  private armEarly(st: SliceState | SessionState): void {
    if (this.earlyMs === 0 || st.early !== Infinity) return;
    st.early = this.context.clock.now() + this.earlyMs;
    this.timers.registerProcessingTimeTimer(st.early);
  }

  // --- accumulators ---------------------------------------------------------------

  private addTo(acc: unknown, v: IN): unknown {
    switch (this.mode) {
      case Mode.Reduce:
        return acc === undefined ? v : this.reduceFn!(acc as IN, v);
      case Mode.Aggregate:
        return this.agg!.add(acc === undefined ? this.agg!.create() : (acc as ACC), v);
      default:
        if (acc === undefined) return [v];
        (acc as IN[]).push(v);
        return acc;
    }
  }

  /** Fold pane `b` into the running fold `a` (undefined: empty). Never changes b. */
  private foldIn(a: unknown, b: unknown): unknown {
    switch (this.mode) {
      case Mode.Reduce:
        return a === undefined ? b : this.reduceFn!(a as IN, b as IN);
      case Mode.Aggregate:
        return this.agg!.merge(a === undefined ? this.agg!.create() : (a as ACC), b as ACC);
      default: {
        const out = a === undefined ? [] : (a as IN[]);
        const src = b as IN[];
        for (let i = 0; i < src.length; i++) out.push(src[i]!);
        return out;
      }
    }
  }

  private resultOf(folded: unknown, start: number, end: number): unknown {
    switch (this.mode) {
      case Mode.Reduce:
        return folded;
      case Mode.Aggregate:
        return this.agg!.result(folded === undefined ? this.agg!.create() : (folded as ACC));
      default:
        return this.processFn!(this.keyOut(), { start, end }, (folded ?? []) as IN[]);
    }
  }

  private elementsOf(acc: unknown): number {
    return this.mode === Mode.Process && acc !== undefined ? (acc as unknown[]).length : 0;
  }

  private keyOut(): string | null {
    return this.keyed ? (this.state.currentKey ?? null) : null;
  }

  private emit(start: number, end: number, result: unknown, kind: FiringKind, version: number): void {
    if (kind === 'early') this.s.firings.early++;
    else if (kind === 'on-time') this.s.firings.onTime++;
    else this.s.firings.late++;
    this.collector.emit([this.keyOut(), start, end, result, kind, version]);
  }

  // --- limits, late inputs, acks -----------------------------------------------------

  /** True (and the input refused) when adding a pane or an element would cross a limit. */
  private overLimit(input: Tuple, newPane: boolean): boolean {
    let what: string | null = null;
    if (newPane && this.s.panes >= this.maxPanes) what = `maxPanes (${this.maxPanes}) accumulators`;
    else if (this.mode === Mode.Process && this.s.bufferedElements >= this.maxBuffered) what = `maxBufferedElements (${this.maxBuffered}) buffered elements`;
    else if (this.ackMode && this.s.pendingAcks >= this.maxPendingAcks) what = `maxPendingAcks (${this.maxPendingAcks}) inputs waiting for their windows`;
    if (what === null) {
      this.limitReported = false;
      return false;
    }
    this.s.refused++;
    if (!this.limitReported) {
      this.limitReported = true;
      this.collector.reportError(
        new SquallError({
          code: 'E_WINDOW_LIMIT',
          component: this.context.componentId,
          message: `windowed bolt '${this.context.componentId}' holds ${what}: inputs are refused (failed and replayed later in ack mode; dropped and counted in checkpoint mode) until windows fire and free room; raise limits.${what.split(' ')[0]}, give the bolt more tasks, or shorten the windows`,
          details: { ...this.s },
        }),
      );
    }
    // Ack mode: failed, so its spout replays it later (push back). Checkpoint mode: a failure would roll the
    // whole topology back to replay the same input into the same full window, so it is dropped and counted.
    if (this.ackMode) this.collector.fail(input);
    else this.collector.ack(input);
    return true;
  }

  private tooLate(input: Tuple): void {
    if (this.lateToStream) {
      this.s.lateEmitted++;
      this.collector.emitTo(LATE_STREAM, [...input.values], input);
    } else this.s.lateDropped++;
    this.collector.ack(input);
  }

  /** Ack mode: hold `input` until `due` is reached; checkpoint mode: ack now. */
  private hold(input: Tuple, due: number): void {
    if (!this.ackMode) {
      this.collector.ack(input);
      return;
    }
    const key = this.state.currentKey!;
    let p = this.pending.get(key);
    if (p === undefined) this.pending.set(key, (p = { tuples: [], due: [] }));
    p.tuples.push(input);
    p.due.push(due);
    this.s.pendingAcks++;
  }

  /** Ack the current key's held inputs whose due is in [from, to]. */
  private release(from: number, to: number): void {
    if (!this.ackMode) return;
    const key = this.state.currentKey!;
    const p = this.pending.get(key);
    if (p === undefined) return;
    let w = 0;
    for (let i = 0; i < p.tuples.length; i++) {
      const d = p.due[i]!;
      if (d >= from && d <= to) {
        this.collector.ack(p.tuples[i]!);
        this.s.pendingAcks--;
      } else {
        p.tuples[w] = p.tuples[i]!;
        p.due[w++] = d;
      }
    }
    p.tuples.length = w;
    p.due.length = w;
    if (w === 0) this.pending.delete(key);
  }

  private newKey(): void {
    this.s.keys++;
  }

  private dropKey(): void {
    this.kstate.clear();
    if (this.kind === Kind.Slices) this.slices.delete(this.state.currentKey!);
    this.s.keys--;
  }

  /** A time-window state changed in place: note its key for the next checkpoint. */
  private touch(st: SliceState, key: string): void {
    if (st.epoch === this.epoch || !this.checkpointing) return;
    st.epoch = this.epoch;
    this.touched.push(key);
  }

  /** The current key (E_STATE_NO_KEY, through the keyed state, when there is none). */
  private key(): string {
    const key = this.state.currentKey;
    if (key === undefined) this.kstate.get();
    return key!;
  }

  // --- time windows (slices) ---------------------------------------------------------

  private sliceStart(st: SliceState, ts: number): number {
    return st.off + Math.floor((ts - st.off) / this.slice) * this.slice;
  }

  /** End of the last window holding slice `a`. */
  private lastEnd(st: SliceState, a: number): number {
    return st.off + Math.floor((a - st.off) / this.slide) * this.slide + this.size;
  }

  /** End of the first window holding slice `a`. */
  private firstEnd(st: SliceState, a: number): number {
    const base = st.off + this.size;
    return base + Math.ceil((a + this.slice - base) / this.slide) * this.slide;
  }

  /** The first window end e with e - 1 > w (a window still open at watermark w). */
  private endAfter(st: SliceState, w: number): number {
    if (w === -Infinity) return -Infinity;
    const base = st.off + this.size;
    return base + (Math.floor((w + 1 - base) / this.slide) + 1) * this.slide;
  }

  private addToSlices(input: Tuple, ts: number, v: IN): void {
    const W = this.watermark();
    const key = this.key();
    let st = this.slices.get(key);
    // Most elements of a tumbling window: the key's newest slice, whose window is still open. Nothing fires and
    // no timer moves (the key's firing timer is at or before that window's end: set so when the slice was made,
    // and again so each time it fired), and `done` can wait for the next firing: only the accumulator changes.
    // The test reads no time of the state (boxed doubles, each a load of its own), only small integers.
    if (st !== undefined && this.tumbling && this.earlyN === 0) {
      const off = st.off;
      const k = Math.floor((ts - off) / this.slice);
      const last = off + k * this.slice + this.size - 1;
      if (k === st.topK && last > W && (this.earlyMs === 0 || st.early !== Infinity)) {
        if (this.overLimit(input, false)) return;
        st.top = this.addTo(st.top, v);
        if (this.mode === Mode.Process) this.s.bufferedElements++;
        this.touch(st, key);
        this.hold(input, last);
        return;
      }
    }
    const fresh = st === undefined;
    if (st === undefined) {
      st = {
        off: this.alignToData ? mod(ts, this.slide) : this.offset,
        starts: [],
        accs: [],
        topStart: -Infinity,
        top: undefined,
        topK: 0,
        epoch: this.epoch,
        ends: [],
        vers: [],
        done: -Infinity,
        timer: Infinity,
        early: Infinity,
        n: 0,
      };
    }
    const top = st.topStart;
    const a = ts >= top && ts - top < this.slice ? top : this.sliceStart(st, ts);
    // Tumbling: the slice is the window, so its first and last window end at a + size.
    const lastE = this.tumbling ? a + this.size : this.lastEnd(st, a);
    if (lastE - 1 + this.lateness <= W) {
      this.tooLate(input);
      return;
    }
    if (a === top) {
      if (this.overLimit(input, false)) return;
      st.top = this.addTo(st.top, v);
    } else {
      const starts = st.starts;
      const last = starts.length - 1;
      let i = last;
      while (i >= 0 && starts[i]! > a) i--;
      const found = i >= 0 && starts[i] === a;
      if (this.overLimit(input, !found)) return;
      if (fresh) this.newKey();
      if (found) st.accs[i] = this.addTo(st.accs[i], v);
      else {
        this.s.panes++;
        if (i === last) {
          // A new newest slice: the old newest one's accumulator goes to the array.
          if (last >= 0) st.accs[last] = st.top;
          starts.push(a);
          st.accs.push(undefined);
          st.topStart = a;
          st.topK = Math.round((a - st.off) / this.slice);
          st.top = this.addTo(undefined, v);
        } else {
          starts.splice(i + 1, 0, a);
          st.accs.splice(i + 1, 0, this.addTo(undefined, v));
        }
      }
    }
    if (this.mode === Mode.Process) this.s.bufferedElements++;
    if (W > st.done) st.done = W;
    const fe = this.tumbling ? lastE : this.firstEnd(st, a);
    // The first window of the element still open: fe itself when it is (the common case), else the first after W.
    const next = fe - 1 > W ? fe : this.endAfter(st, W);
    // Late firings: windows of the element the watermark passed, still within lateness.
    for (let e = fe; e <= lastE && e - 1 <= W; e += this.slide) {
      if (e - 1 + this.lateness > W) this.fireSliceWindow(st, e, 'late');
    }
    const open = lastE - 1 > W;
    if (open) {
      if (this.earlyN > 0 && ++st.n >= this.earlyN) {
        st.n = 0;
        for (let e = next; e <= lastE; e += this.slide) this.fireSliceWindow(st, e, 'early');
      }
      this.armEarly(st);
      this.setFiringTimer(st, this.toTimer(next - 1));
    } else this.setFiringTimer(st, this.toTimer(lastE - 1 + this.lateness));
    if (fresh) {
      this.slices.set(key, st);
      this.kstate.set(st);
    } else this.touch(st, key);
    if (open) this.hold(input, lastE - 1);
    else this.collector.ack(input);
  }

  /** Event time: a timer at the time itself; processing time: one ms later (when now - 1 reaches it). */
  private toTimer(t: number): number {
    return this.eventTime ? t : t + 1;
  }

  private fireSliceWindow(st: SliceState, end: number, kind: FiringKind): void {
    const start = end - this.size;
    let folded: unknown = undefined;
    const starts = st.starts;
    for (let i = 0; i < starts.length && starts[i]! < end; i++) {
      if (starts[i]! >= start) folded = this.foldIn(folded, accOf(st, i));
    }
    const ends = st.ends;
    let j = ends.length - 1;
    while (j >= 0 && ends[j]! > end) j--;
    let version: number;
    if (j >= 0 && ends[j] === end) version = ++st.vers[j]!;
    else {
      version = 1;
      this.s.versions++;
      ends.splice(j + 1, 0, end);
      st.vers.splice(j + 1, 0, 1);
    }
    this.emit(start, end, this.resultOf(folded, start, end), kind, version);
  }

  /** Fire every window with data whose end - 1 is in (from, to], in order of end. Returns how many fired. */
  private fireSliceRange(st: SliceState, from: number, to: number, kind: FiringKind): number {
    const starts = st.starts;
    if (starts.length === 0) return 0;
    let e = Math.max(this.endAfter(st, from), this.firstEnd(st, starts[0]!));
    let i = 0;
    let n = 0;
    while (e - 1 <= to) {
      while (i < starts.length && starts[i]! < e - this.size) i++;
      if (i >= starts.length) break;
      if (starts[i]! < e) {
        this.fireSliceWindow(st, e, kind);
        n++;
        e += this.slide;
      } else e = Math.max(e + this.slide, this.firstEnd(st, starts[i]!));
    }
    return n;
  }

  private onSliceTimer(st: SliceState, time: number, domain: TimeDomain): void {
    const W = this.watermark();
    const firing = this.eventTime ? domain === 'event' : domain === 'processing' && time >= st.timer;
    if (firing || W > st.done) {
      if (time >= st.timer) st.timer = Infinity;
      if (W > st.done) {
        this.fireSliceRange(st, st.done, W, 'on-time');
        st.done = W;
      }
      // Drop slices and versions past lateness; ack inputs whose last window fired.
      // What is past lateness is a run of the oldest slices (a slice's last window ends after an older one's).
      const { starts, ends, vers } = st;
      let k = 0;
      while (k < starts.length && this.lastEnd(st, starts[k]!) - 1 + this.lateness <= W) {
        this.s.bufferedElements -= this.elementsOf(accOf(st, k));
        this.s.panes--;
        k++;
      }
      if (k === starts.length) {
        starts.length = 0;
        st.accs.length = 0;
        st.topStart = -Infinity;
        st.top = undefined;
      } else if (k > 0) {
        starts.splice(0, k);
        st.accs.splice(0, k);
      }
      let w = 0;
      for (let i = 0; i < ends.length; i++) {
        if (ends[i]! - 1 + this.lateness <= W) this.s.versions--;
        else {
          ends[w] = ends[i]!;
          vers[w++] = vers[i]!;
        }
      }
      ends.length = w;
      vers.length = w;
      this.release(-Infinity, W);
    }
    if (domain === 'processing' && time === st.early) {
      st.early = Infinity;
      if (this.fireSliceRange(st, W, Infinity, 'early') > 0) this.armEarly(st);
    }
    if (st.starts.length === 0) {
      if (st.timer !== Infinity) this.setFiringTimerOff(st);
      this.dropKey();
      return;
    }
    // The next thing this key must do: fire its next window with data, or drop a slice past lateness.
    let next = Infinity;
    const after = this.endAfter(st, W);
    for (const a of st.starts) {
      const fe = Math.max(this.firstEnd(st, a), after);
      const last = this.lastEnd(st, a);
      const t = fe <= last ? fe - 1 : last - 1 + this.lateness;
      if (t < next) next = t;
    }
    this.setFiringTimer(st, this.toTimer(next));
    this.touch(st, this.key());
  }

  private setFiringTimerOff(st: SliceState | SessionState): void {
    if (this.eventTime) this.timers.deleteEventTimeTimer(st.timer);
    else if (st.timer !== st.early) this.timers.deleteProcessingTimeTimer(st.timer);
    st.timer = Infinity;
  }

  // --- session windows ----------------------------------------------------------------

  private addToSessions(input: Tuple, ts: number, v: IN): void {
    const W = this.watermark();
    let st = this.kstate.get() as SessionState | undefined;
    const fresh = st === undefined;
    if (st === undefined) st = { sessions: [], timer: Infinity, early: Infinity, n: 0 };
    const ss = st.sessions;
    let start = ts;
    let end = ts + this.size;
    // Sessions touching [ts, ts + gap) merge with it (sorted by start, so they are one run).
    let first = -1;
    let last = -1;
    for (let i = 0; i < ss.length; i++) {
      const x = ss[i]!;
      if (x.start <= end && x.end >= start) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first >= 0) {
      start = Math.min(start, ss[first]!.start);
      end = Math.max(end, ss[last]!.end);
      // A merged run may now touch more sessions: widen until stable.
      for (;;) {
        let grew = false;
        while (first > 0 && ss[first - 1]!.end >= start) {
          first--;
          start = Math.min(start, ss[first]!.start);
          end = Math.max(end, ss[first]!.end);
          grew = true;
        }
        while (last < ss.length - 1 && ss[last + 1]!.start <= end) {
          last++;
          end = Math.max(end, ss[last]!.end);
          grew = true;
        }
        if (!grew) break;
      }
    }
    if (end - 1 + this.lateness <= W) {
      this.tooLate(input);
      return;
    }
    if (this.overLimit(input, first < 0)) return;
    if (fresh) this.newKey();
    let acc: unknown = undefined;
    let version = 0;
    if (first >= 0) {
      for (let i = first; i <= last; i++) {
        const x = ss[i]!;
        acc = acc === undefined ? x.acc : this.foldIn(acc, x.acc);
        if (x.version > version) version = x.version;
        if (x.version > 0) this.s.versions--;
      }
      this.s.panes -= last - first;
    } else this.s.panes++;
    if (this.mode === Mode.Process) this.s.bufferedElements++;
    acc = this.addTo(acc, v);
    const merged: Session = { start, end, acc, version, passed: end - 1 <= W };
    if (version > 0) this.s.versions++;
    if (first >= 0) ss.splice(first, last - first + 1, merged);
    else {
      let at = 0;
      while (at < ss.length && ss[at]!.start < start) at++;
      ss.splice(at, 0, merged);
    }
    if (merged.passed) {
      this.fireSession(merged, 'late');
      this.setFiringTimer(st, this.toTimer(end - 1 + this.lateness));
    } else {
      if (this.earlyN > 0 && ++st.n >= this.earlyN) {
        st.n = 0;
        this.fireSession(merged, 'early');
      }
      this.armEarly(st);
      this.setFiringTimer(st, this.toTimer(end - 1));
    }
    this.kstate.set(st);
    if (merged.passed) {
      this.collector.ack(input);
      this.release(start, end - 1);
    } else this.hold(input, ts);
  }

  private fireSession(x: Session, kind: FiringKind): void {
    if (x.version === 0) this.s.versions++;
    x.version++;
    this.emit(x.start, x.end, this.resultOf(this.mode === Mode.Process ? [...(x.acc as IN[])] : x.acc, x.start, x.end), kind, x.version);
  }

  private onSessionTimer(st: SessionState, time: number, domain: TimeDomain): void {
    const W = this.watermark();
    const firing = this.eventTime ? domain === 'event' : domain === 'processing' && time >= st.timer;
    const ss = st.sessions;
    if (firing) {
      if (time >= st.timer) st.timer = Infinity;
      for (const x of ss) {
        if (!x.passed && x.end - 1 <= W) {
          x.passed = true;
          this.fireSession(x, 'on-time');
          this.release(x.start, x.end - 1);
        }
      }
      for (let i = ss.length - 1; i >= 0; i--) {
        const x = ss[i]!;
        if (x.end - 1 + this.lateness <= W) {
          this.s.bufferedElements -= this.elementsOf(x.acc);
          this.s.panes--;
          if (x.version > 0) this.s.versions--;
          ss.splice(i, 1);
        }
      }
    }
    if (domain === 'processing' && time === st.early) {
      st.early = Infinity;
      let fired = 0;
      for (const x of ss) {
        if (!x.passed && x.end - 1 > W) {
          this.fireSession(x, 'early');
          fired++;
        }
      }
      if (fired > 0) this.armEarly(st);
    }
    if (ss.length === 0) {
      if (st.timer !== Infinity) this.setFiringTimerOff(st);
      this.dropKey();
      return;
    }
    let next = Infinity;
    for (const x of ss) {
      const t = x.passed ? x.end - 1 + this.lateness : x.end - 1;
      if (t < next) next = t;
    }
    this.setFiringTimer(st, this.toTimer(next));
    this.kstate.set(st);
  }

  // --- count windows --------------------------------------------------------------------

  private addToCount(input: Tuple, v: IN): void {
    let st = this.kstate.get() as CountState | undefined;
    const fresh = st === undefined;
    if (st === undefined) st = { seen: 0, panes: new Map() };
    const q = st.seen + 1;
    const p = Math.floor((q - 1) / this.slice);
    const pane = st.panes.get(p);
    if (this.overLimit(input, pane === undefined)) return;
    if (fresh) this.newKey();
    st.seen = q;
    if (pane === undefined) this.s.panes++;
    if (this.mode === Mode.Process) this.s.bufferedElements++;
    st.panes.set(p, this.addTo(pane, v));
    // Its last window fires at the largest multiple of slide <= q + size - 1.
    this.hold(input, Math.floor((q + this.size - 1) / this.slide) * this.slide);
    if (q % this.slide === 0) {
      const from = Math.max(0, q - this.size);
      let folded: unknown = undefined;
      for (let i = Math.floor(from / this.slice); i <= p; i++) {
        const x = st.panes.get(i);
        if (x !== undefined) folded = this.foldIn(folded, x);
      }
      this.emit(from + 1, q + 1, this.resultOf(folded, from + 1, q + 1), 'on-time', 1);
      // Drop the panes no later window needs: the next one starts after q + slide - size.
      const keepFrom = q + this.slide - this.size;
      for (const [i, x] of st.panes) {
        if ((i + 1) * this.slice <= keepFrom) {
          this.s.bufferedElements -= this.elementsOf(x);
          st.panes.delete(i);
          this.s.panes--;
        }
      }
      this.release(-Infinity, q);
    }
    this.kstate.set(st);
  }

  // --- global windows ---------------------------------------------------------------------

  private addToGlobal(input: Tuple, ts: number, v: IN): void {
    let st = this.kstate.get() as GlobalState | undefined;
    const fresh = st === undefined;
    if (st === undefined) st = { acc: undefined, count: 0, first: ts, last: ts, version: 0 };
    if (this.overLimit(input, st.count === 0)) return;
    if (fresh) this.newKey();
    if (st.count === 0) {
      this.s.panes++;
      st.first = ts;
      st.last = ts;
    }
    if (this.mode === Mode.Process) this.s.bufferedElements++;
    st.acc = this.addTo(st.acc, v);
    st.count++;
    if (ts < st.first) st.first = ts;
    if (ts > st.last) st.last = ts;
    this.kstate.set(st);
    this.hold(input, 0);
    this.fillTrigger(st.count, ts);
    this.applyTrigger(st, this.trigger!.onElement(this.tctx));
  }

  private fillTrigger(count: number, time: number): void {
    const c = this.tctx;
    c.count = count;
    c.time = time;
    c.watermark = this.timers.currentWatermark();
    c.now = this.context.clock.now();
  }

  private applyTrigger(st: GlobalState, action: TriggerAction): void {
    if (action === 'continue') return;
    if ((action === 'fire' || action === 'fire-and-purge') && st.count > 0) {
      st.version++;
      if (st.version === 1) this.s.versions++;
      const acc = this.mode === Mode.Process ? [...(st.acc as IN[])] : st.acc;
      this.emit(st.first, st.last + 1, this.resultOf(acc, st.first, st.last + 1), action === 'fire' ? 'early' : 'on-time', st.version);
    }
    if (action === 'fire-and-purge' || action === 'purge') {
      if (st.count > 0) this.s.panes--;
      if (st.version > 0) this.s.versions--;
      this.s.bufferedElements -= this.elementsOf(st.acc);
      this.release(-Infinity, Infinity);
      this.dropKey();
      return;
    }
    this.kstate.set(st);
  }

  // --- timers ---------------------------------------------------------------------------

  onTimer(time: number, domain: TimeDomain): void {
    if (this.kind === Kind.Slices) {
      const st = this.slices.get(this.key());
      if (st !== undefined) this.onSliceTimer(st, time, domain);
      return;
    }
    const st = this.kstate.get();
    if (this.kind === Kind.Global) {
      const t = this.trigger!;
      if (st === undefined || t.onTimer === undefined) return;
      const g = st as GlobalState;
      this.fillTrigger(g.count, time);
      this.applyTrigger(g, t.onTimer(this.tctx, domain));
      return;
    }
    if (st === undefined) return;
    if (this.kind === Kind.Sessions) this.onSessionTimer(st as SessionState, time, domain);
  }

  // --- restore ----------------------------------------------------------------------------

  /** After a restore: count what the restored keyed state holds (the stats are not checkpointed). */
  private recount(): void {
    const keys = this.state.keys(WINDOW_STATE);
    for (const key of keys) {
      this.state.withKey(key, () => {
        const st = this.kstate.get();
        if (st === undefined) return;
        this.s.keys++;
        if (this.kind === Kind.Slices) {
          const x = sliceStateOf(st);
          // A restored state is noted as touched at its first change (its epoch is an earlier run's).
          x.epoch = -1;
          if (x.starts.length > 0) x.topK = Math.round((x.topStart - x.off) / this.slice);
          if (x !== st) this.kstate.set(x);
          this.slices.set(key, x);
          this.s.panes += x.starts.length;
          this.s.versions += x.ends.length;
          for (let i = 0; i < x.starts.length; i++) this.s.bufferedElements += this.elementsOf(accOf(x, i));
        } else if (this.kind === Kind.Sessions) {
          for (const x of (st as SessionState).sessions) {
            this.s.panes++;
            if (x.version > 0) this.s.versions++;
            this.s.bufferedElements += this.elementsOf(x.acc);
          }
        } else if (this.kind === Kind.Count) {
          for (const p of (st as CountState).panes.values()) {
            this.s.panes++;
            this.s.bufferedElements += this.elementsOf(p);
          }
        } else {
          const g = st as GlobalState;
          if (g.count > 0) this.s.panes++;
          if (g.version > 0) this.s.versions++;
          this.s.bufferedElements += this.elementsOf(g.acc);
        }
      });
    }
  }
}
