import { FailedError, isBasicBolt } from '../bolt/index.ts';
import type { Anchors, BasicBolt, BasicOutputCollector, Bolt, OutputCollector } from '../bolt/index.ts';
import { SquallError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { SeededRandom, SimulatedClock } from '../runtime/index.ts';
import type { Clock, RandomSource } from '../runtime/index.ts';
import { DEFAULT_CONFIG } from '../topology/index.ts';
import { KeyedStateBackend } from '../state/index.ts';
import { fieldsHashBits } from '../grouping/index.ts';
import type { OutputDeclarer, TopologyContext, WatermarkOptions } from '../topology/index.ts';
import { DEFAULT_STREAM, Tuple } from '../tuple/index.ts';

/** Anything that declares output streams: a bolt, a basic bolt, a spout. */
export interface Declaring {
  declareOutputFields(declarer: OutputDeclarer): void;
}

/** One output stream as a component declares it. */
export interface DeclaredStream {
  readonly fields: readonly string[];
  readonly direct: boolean;
}

/** What a bolt did through its collector, one entry per call, in call order. */
export type CollectorEvent =
  | {
      readonly type: 'emit';
      readonly stream: string;
      /** A copy of the values emitted. */
      readonly values: unknown[];
      /** The anchors, as an array: empty for an unanchored emit. */
      readonly anchors: readonly Tuple[];
      /** The target task of an emitDirect; null for emit and emitTo. */
      readonly directTask: number | null;
    }
  | { readonly type: 'ack'; readonly tuple: Tuple }
  | { readonly type: 'fail'; readonly tuple: Tuple }
  | { readonly type: 'resetTimeout'; readonly tuple: Tuple }
  | { readonly type: 'error'; readonly error: unknown };

export type EmitEvent = Extract<CollectorEvent, { type: 'emit' }>;

/** Call `declareOutputFields` and return the streams it declares, by stream id. */
export function declaredStreams(component: Declaring): Map<string, DeclaredStream> {
  const streams = new Map<string, DeclaredStream>();
  const add = (stream: string, fields: readonly string[], options?: { direct?: boolean }) => {
    if (streams.has(stream)) {
      throw new SquallError({ code: 'E_DUPLICATE_STREAM', stream, message: `stream '${stream}' is declared twice; declare each stream once` });
    }
    streams.set(stream, { fields: [...fields], direct: options?.direct === true });
  };
  component.declareOutputFields({
    declare: (fields, options) => add(DEFAULT_STREAM, fields, options),
    declareStream: (stream, fields, options) => add(stream, fields, options),
  });
  return streams;
}

/**
 * A bolt's OutputCollector that records every call instead of sending
 * anything (Storm's mock collector), for unit-testing `execute` without a
 * topology. Built with {@link RecordingCollector.for}, it also checks each
 * emit against the bolt's declared streams and throws the SquallError the
 * runtime would: `E_EMIT_UNDECLARED_STREAM`, `E_EMIT_ARITY`,
 * `E_EMIT_DIRECT`, `E_EMIT_BAD_TASK`, `E_EMIT_NOT_CLONEABLE` (checked on
 * every emit here, on a stream's first emit by the runtime), and
 * `E_EMIT_BAD_ANCHOR` for an emit anchored to a tuple this collector has
 * seen acked or failed. `new RecordingCollector()` records without checking
 * streams.
 *
 * Every ack and fail is recorded as called; the runtime honours only the
 * first ack or fail of a tuple, so a tuple in both `acked` and `failed`, or
 * twice in one, is a bug in the bolt.
 *
 * For a BasicBolt, use {@link executeBasic}, or `basic(input)` for the
 * BasicOutputCollector of one input.
 *
 * @example
 * const collector = RecordingCollector.for(bolt);
 * bolt.prepare(testContext(bolt), collector);
 * const input = testTuple(['cow'], { fields: ['word'] });
 * bolt.execute(input);
 * collector.emitted();   // [['COW']]
 * collector.acked;       // [input]
 */
export class RecordingCollector implements OutputCollector {
  /** Every call, in order. */
  readonly events: CollectorEvent[] = [];
  private readonly settled = new WeakMap<Tuple, 'acked' | 'failed'>();

  /**
   * @param streams The declared streams to check emits against; null (the default) checks none.
   * @param component The component name errors carry.
   */
  constructor(
    readonly streams: ReadonlyMap<string, DeclaredStream> | null = null,
    readonly component = 'bolt',
  ) {}

  /** A collector that checks emits against the streams `bolt` declares. */
  static for(bolt: Declaring, options: { component?: string } = {}): RecordingCollector {
    return new RecordingCollector(declaredStreams(bolt), options.component ?? nameOf(bolt));
  }

  // --- OutputCollector -------------------------------------------------------

  emit(values: unknown[], anchors?: Anchors): void {
    this.record(DEFAULT_STREAM, values, anchors, null);
  }

  emitTo(stream: string, values: unknown[], anchors?: Anchors): void {
    this.record(stream, values, anchors, null);
  }

  emitDirect(taskId: number, stream: string, values: unknown[], anchors?: Anchors): void {
    this.record(stream, values, anchors, taskId);
  }

  ack(input: Tuple): void {
    this.events.push({ type: 'ack', tuple: input });
    if (!this.settled.has(input)) this.settled.set(input, 'acked');
  }

  fail(input: Tuple): void {
    this.events.push({ type: 'fail', tuple: input });
    if (!this.settled.has(input)) this.settled.set(input, 'failed');
  }

  resetTimeout(input: Tuple): void {
    this.events.push({ type: 'resetTimeout', tuple: input });
  }

  reportError(error: unknown): void {
    this.events.push({ type: 'error', error });
  }

  /**
   * The BasicOutputCollector a BasicBolt gets for `input`: emits are anchored
   * to it, resetTimeout resets it. Acking is {@link executeBasic}'s job.
   */
  basic(input: Tuple): BasicOutputCollector {
    return {
      emit: (values) => this.emit(values, input),
      emitTo: (stream, values) => this.emitTo(stream, values, input),
      emitDirect: (taskId, stream, values) => this.emitDirect(taskId, stream, values, input),
      resetTimeout: () => this.resetTimeout(input),
      reportError: (error) => this.reportError(error),
    };
  }

  // --- reading what was recorded ---------------------------------------------

  /** Every emit, in order. */
  get emits(): EmitEvent[] {
    return this.events.filter((e): e is EmitEvent => e.type === 'emit');
  }

  /** The values emitted on `stream` (default: the default stream), in order. */
  emitted(stream: string = DEFAULT_STREAM): unknown[][] {
    return this.emits.filter((e) => e.stream === stream).map((e) => e.values);
  }

  /** The tuples acked, in order (once per call). */
  get acked(): Tuple[] {
    return this.tuplesOf('ack');
  }

  /** The tuples failed, in order (once per call). */
  get failed(): Tuple[] {
    return this.tuplesOf('fail');
  }

  /** The tuples whose timeout was reset, in order. */
  get resetTimeouts(): Tuple[] {
    return this.tuplesOf('resetTimeout');
  }

  /** The reported errors, in order (including what executeBasic caught). */
  get errors(): unknown[] {
    return this.events.flatMap((e) => (e.type === 'error' ? [e.error] : []));
  }

  /** True once `input` has been acked or failed through this collector. */
  isSettled(input: Tuple): boolean {
    return this.settled.has(input);
  }

  /** Forget everything recorded; the declared streams stay. */
  clear(): void {
    this.events.length = 0;
  }

  // --- checks, in the runtime's order ------------------------------------------

  private record(stream: string, values: unknown[], anchors: Anchors, directTask: number | null): void {
    const declared = this.streams?.get(stream);
    if (this.streams !== null) {
      if (declared === undefined) {
        const names = [...this.streams.keys()];
        throw this.error(
          'E_EMIT_UNDECLARED_STREAM',
          stream,
          `bolt '${this.component}' emitted on stream '${stream}', which it does not declare; declare it in declareOutputFields (declared: ${names.length ? names.join(', ') : 'none'})`,
        );
      }
      if (directTask !== null && !declared.direct) {
        throw this.error('E_EMIT_DIRECT', stream, `'${this.component}' called emitDirect on stream '${stream}', which is not direct; declare it with { direct: true } or use emit()`);
      }
    }
    if (directTask !== null && !(Number.isInteger(directTask) && directTask >= 1)) {
      throw this.error('E_EMIT_BAD_TASK', stream, `'${this.component}' emitted directly to task ${directTask} on stream '${stream}'; task ids are integers of 1 or more: use the subscribing bolt's task ids`);
    }
    if (!Array.isArray(values) || (declared !== undefined && values.length !== declared.fields.length)) {
      const got = Array.isArray(values) ? `${values.length} values` : 'a non-array';
      const want = declared === undefined ? '' : `, which declares ${declared.fields.length} fields (${declared.fields.join(', ')})`;
      throw this.error('E_EMIT_ARITY', stream, `'${this.component}' emitted ${got} on stream '${stream}'${want}; emit an array with one value per field`);
    }
    for (let i = 0; i < values.length; i++) {
      try {
        structuredClone(values[i]);
      } catch {
        const field = declared?.fields[i] ?? `#${i}`;
        throw this.error(
          'E_EMIT_NOT_CLONEABLE',
          stream,
          `'${this.component}' emitted a value that cannot be cloned on stream '${stream}' (field '${field}'); tuples must be plain values: keep connections, handles and functions in the component and create them in open()/prepare()`,
          { field },
        );
      }
    }
    if (directTask === null && declared?.direct === true) {
      throw this.error('E_EMIT_DIRECT', stream, `'${this.component}' emitted on direct stream '${stream}' with emit(); a direct stream takes emitDirect(taskId, ...)`);
    }
    const list: Tuple[] = anchors === undefined || anchors === null ? [] : anchors instanceof Tuple ? [anchors] : [...anchors];
    for (const anchor of list) {
      const state = this.settled.get(anchor);
      if (state !== undefined) {
        throw this.error(
          'E_EMIT_BAD_ANCHOR',
          stream,
          `bolt '${this.component}' emitted on '${stream}' anchored to a tuple it already ${state}; emit anchored tuples before acking the input`,
        );
      }
    }
    this.events.push({ type: 'emit', stream, values: [...values], anchors: list, directTask });
  }

  private error(code: ErrorCode, stream: string, message: string, details?: Record<string, unknown>): SquallError {
    return new SquallError({ code, component: this.component, stream, message, details });
  }

  private tuplesOf(type: 'ack' | 'fail' | 'resetTimeout'): Tuple[] {
    return this.events.flatMap((e) => (e.type === type ? [e.tuple] : []));
  }
}

/**
 * Run a BasicBolt's `execute` on one input as the runtime does: emits are
 * anchored to the input; when `execute` returns the input is acked; when it
 * throws the input is failed, and the error is reported unless it is a
 * {@link FailedError}. The throw does not propagate (the runtime's task goes
 * on): read it from `collector.errors`.
 *
 * @returns 'acked' or 'failed'.
 */
export function executeBasic(bolt: BasicBolt, input: Tuple, collector: RecordingCollector): 'acked' | 'failed' {
  try {
    bolt.execute(input, collector.basic(input));
  } catch (err) {
    collector.fail(input);
    if (!(err instanceof FailedError)) collector.reportError(err);
    return 'failed';
  }
  collector.ack(input);
  return 'acked';
}

/**
 * Run a plain Bolt's `execute` on one input as the runtime does: a throw
 * fails the input unless the bolt already acked or failed it, and is
 * reported unless it is a {@link FailedError}; it does not propagate. The
 * bolt must have been prepared with `collector` (see {@link prepareBolt}).
 */
export function executeBolt(bolt: Bolt, input: Tuple, collector: RecordingCollector): void {
  try {
    bolt.execute(input);
  } catch (err) {
    if (!collector.isSettled(input)) collector.fail(input);
    if (!(err instanceof FailedError)) collector.reportError(err);
  }
}

/** The task a test context describes; every option has a default. */
export interface TestContextOptions {
  /** Spouts: the component's declared event-time watermarks (context.watermarks); default none. */
  watermarks?: WatermarkOptions | null;
  /** The component's config, merged over squall's DEFAULT_CONFIG as the runtime merges it. */
  config?: Record<string, unknown>;
  /** Default: the component's class name. */
  componentId?: string;
  /** Default 1. */
  taskId?: number;
  /** Every task id of the component (default `[taskId]`); taskIndex is taskId's position in it. */
  componentTasks?: readonly number[];
  /** Default 'test'. */
  topologyName?: string;
  /** Default 'test-run'. */
  runId?: string;
  /** Default: a new SimulatedClock at 0; pass your own to advance it. */
  clock?: Clock;
  /** Default: a SeededRandom of `seed`. */
  random?: RandomSource;
  /** Seed of the default random source (default 1). */
  seed?: number;
}

/**
 * A minimal TopologyContext for one task of `component`, on a simulated
 * clock and seeded randomness, so `prepare` (or a spout's `open`) can be
 * called without a topology. `outputFields` answers from the component's
 * own declarations (E_UNKNOWN_STREAM for a stream it does not declare).
 */
export function testContext(component: Declaring, options: TestContextOptions = {}): TopologyContext {
  const taskId = options.taskId ?? 1;
  if (!Number.isInteger(taskId) || taskId < 1) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `testContext: taskId must be an integer of 1 or more; got ${String(taskId)}` });
  }
  const componentTasks = Object.freeze([...(options.componentTasks ?? [taskId])]);
  const taskIndex = componentTasks.indexOf(taskId);
  if (taskIndex < 0) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `testContext: componentTasks (${componentTasks.join(', ')}) must include taskId ${taskId}`,
    });
  }
  const componentId = options.componentId ?? nameOf(component);
  const streams = declaredStreams(component);
  const clock = options.clock ?? new SimulatedClock();
  const config = Object.freeze({ ...DEFAULT_CONFIG, ...options.config });
  let state: KeyedStateBackend | null = null;
  return {
    get state() {
      state ??= new KeyedStateBackend({
        component: componentId,
        maxParallelism: config.maxParallelism,
        now: () => clock.now(),
        schedule: (time, fn) => clock.after(Math.max(0, time - clock.now()), fn),
        hashKey: (key) => fieldsHashBits([key], [0]),
      });
      return state;
    },
    topologyName: options.topologyName ?? 'test',
    runId: options.runId ?? 'test-run',
    componentId,
    taskId,
    taskIndex,
    componentTasks,
    config,
    clock,
    watermarks: options.watermarks ?? null,
    random: options.random ?? new SeededRandom(options.seed ?? 1),
    outputFields(stream = DEFAULT_STREAM) {
      const s = streams.get(stream);
      if (!s) {
        throw new SquallError({
          code: 'E_UNKNOWN_STREAM',
          component: componentId,
          stream,
          message: `'${componentId}' declares no stream '${stream}'; it declares: ${[...streams.keys()].join(', ') || 'none'}`,
        });
      }
      return s.fields;
    },
  };
}

export interface PrepareOptions extends TestContextOptions {
  /** Default: `RecordingCollector.for(bolt)`. */
  collector?: RecordingCollector;
}

/**
 * Build a test context and collector for `bolt` and call its `prepare` (a
 * BasicBolt's `prepare(context)`, a Bolt's `prepare(context, collector)`),
 * awaiting it if it returns a promise.
 *
 * @example
 * const { collector } = await prepareBolt(bolt, { config: { threshold: 3 } });
 */
export async function prepareBolt(
  bolt: Bolt | BasicBolt,
  options: PrepareOptions = {},
): Promise<{ context: TopologyContext; collector: RecordingCollector }> {
  const context = testContext(bolt, options);
  const collector = options.collector ?? RecordingCollector.for(bolt, { component: context.componentId });
  if (isBasicBolt(bolt)) await bolt.prepare?.(context);
  else await bolt.prepare(context, collector);
  return { context, collector };
}

function nameOf(x: object): string {
  const name = (x as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name.length > 0 && name !== 'Object' ? name : 'bolt';
}
