import type { WatermarkOptions } from './types.ts';
import { isBasicBolt } from '../bolt/index.ts';
import { SquallError } from '../errors/index.ts';
import type { CustomGrouping, GroupingSpec } from '../grouping/index.ts';
import { DEFAULT_STREAM } from '../tuple/index.ts';
import type { OutputDeclarer } from './context.ts';
import type { BoltFactory, ComponentDef, InputDef, ResourceHints, SpoutFactory, StreamDef, Topology, TopologyConfig } from './types.ts';
import { DEFAULT_CONFIG } from './types.ts';
import { resolveResources, validateTopology } from './validate.ts';

export interface ComponentOptions {
  /** Number of tasks (default 1). */
  parallelism?: number;
  /** Component config, merged over the topology config for its tasks. */
  config?: Record<string, unknown>;
  /**
   * What ONE task needs, for the resource-aware scheduler: `cpu` in percent of
   * one core (100 = a whole core), `memoryMb` in MB. Defaults: DEFAULT_RESOURCES
   * (cpu 10, memoryMb 64). The even scheduler ignores them.
   */
  resources?: ResourceHints;
}

export interface SpoutOptions extends ComponentOptions {
  /** Event-time watermarks generated from what the spout emits (see WatermarkOptions). */
  watermarks?: WatermarkOptions;
}

export interface BoltOptions extends ComponentOptions {
  /** Deliver a tick tuple to every task of this bolt this often (ms). */
  tickFrequencyMs?: number;
}

interface PendingComponent {
  id: string;
  kind: 'spout' | 'bolt';
  factory: SpoutFactory | BoltFactory;
  options: BoltOptions & SpoutOptions;
  inputs: InputDef[];
}

/** Wires a bolt's inputs: one call per subscribed stream. */
export class InputDeclarer {
  constructor(private readonly inputs: InputDef[]) {}

  grouping(component: string, grouping: GroupingSpec, stream: string = DEFAULT_STREAM): this {
    this.inputs.push({ component, stream, grouping });
    return this;
  }
  shuffleGrouping(component: string, stream?: string): this {
    return this.grouping(component, { type: 'shuffle' }, stream);
  }
  fieldsGrouping(component: string, fields: readonly string[], stream?: string): this {
    return this.grouping(component, { type: 'fields', fields: [...fields] }, stream);
  }
  allGrouping(component: string, stream?: string): this {
    return this.grouping(component, { type: 'all' }, stream);
  }
  globalGrouping(component: string, stream?: string): this {
    return this.grouping(component, { type: 'global' }, stream);
  }
  noneGrouping(component: string, stream?: string): this {
    return this.grouping(component, { type: 'none' }, stream);
  }
  directGrouping(component: string, stream?: string): this {
    return this.grouping(component, { type: 'direct' }, stream);
  }
  localOrShuffleGrouping(component: string, stream?: string): this {
    return this.grouping(component, { type: 'localOrShuffle' }, stream);
  }
  partialKeyGrouping(component: string, fields: readonly string[], stream?: string): this {
    return this.grouping(component, { type: 'partialKey', fields: [...fields] }, stream);
  }
  customGrouping(component: string, grouping: CustomGrouping, stream?: string): this {
    return this.grouping(component, { type: 'custom', grouping }, stream);
  }
}

/**
 * Builds a topology. Components are given as factories: every host calls the
 * factory to make its own instances, so the same module runs on the main
 * thread or in any worker thread.
 *
 * @example
 * const b = new TopologyBuilder('word-count');
 * b.setSpout('sentences', () => new SentenceSpout(), { parallelism: 1 });
 * b.setBolt('split', () => new Split(), { parallelism: 2 }).shuffleGrouping('sentences');
 * b.setBolt('count', () => new Count(), { parallelism: 2 }).fieldsGrouping('split', ['word']);
 * export default b.build();
 */
export class TopologyBuilder {
  private readonly pending: PendingComponent[] = [];

  constructor(readonly name: string) {}

  /**
   * Add a spout. The declarer it returns exists so that a spout wired by
   * mistake is caught at build (E_SPOUT_INPUT): spouts take no inputs.
   */
  setSpout(id: string, factory: SpoutFactory, options: SpoutOptions = {}): InputDeclarer {
    const inputs: InputDef[] = [];
    this.pending.push({ id, kind: 'spout', factory, options, inputs });
    return new InputDeclarer(inputs);
  }

  setBolt(id: string, factory: BoltFactory, options: BoltOptions = {}): InputDeclarer {
    const inputs: InputDef[] = [];
    this.pending.push({ id, kind: 'bolt', factory, options, inputs });
    return new InputDeclarer(inputs);
  }

  /**
   * Validate and freeze the topology. Throws a SquallError with a stable code
   * (E_DUPLICATE_ID, E_UNKNOWN_STREAM, ...) naming what is wrong.
   */
  build(config: Partial<TopologyConfig> = {}): Topology {
    const components = new Map<string, ComponentDef>();
    const mergedConfig: TopologyConfig = { ...DEFAULT_CONFIG, ...config };
    const defs: ComponentDef[] = [];
    for (const p of this.pending) {
      defs.push({
        id: p.id,
        kind: p.kind,
        factory: p.factory,
        parallelism: p.options.parallelism ?? 1,
        config: Object.freeze({ ...(p.options.config ?? {}) }),
        tickFrequencyMs: p.options.tickFrequencyMs ?? 0,
        inputs: Object.freeze([...p.inputs]),
        streams: declaredStreams(p),
        resources: resolveResources(`${p.kind} '${p.id}'`, p.id, p.options.resources),
        watermarks: p.kind === 'spout' && p.options.watermarks !== undefined ? checkWatermarks(p.id, p.options.watermarks) : null,
      });
    }
    for (const d of defs) {
      const field = d.watermarks?.timestampField;
      if (field !== undefined && ![...d.streams.values()].some((st) => st.fields.includes(field))) {
        throw new SquallError({
          code: 'E_BAD_CONFIG',
          component: d.id,
          message: `spout '${d.id}' watermarks: timestampField '${field}' is not a field of any stream it declares (${[...d.streams.values()].map((st) => `${st.id}: ${st.fields.join(', ')}`).join('; ')})`,
        });
      }
    }
    validateTopology(this.name, defs, mergedConfig);
    for (const d of defs) components.set(d.id, d);
    return Object.freeze({ name: this.name, components, config: Object.freeze(mergedConfig) });
  }
}

/** Check a spout's watermark options: a timestamp source, and non-negative numbers. */
function checkWatermarks(id: string, w: WatermarkOptions): WatermarkOptions {
  const bad = (message: string) =>
    new SquallError({ code: 'E_BAD_CONFIG', component: id, message: `spout '${id}' watermarks: ${message}`, details: { key: 'watermarks' } });
  if (w === null || typeof w !== 'object') throw bad('give an object such as { timestampField: "ts", maxOutOfOrdernessMs: 5000 }');
  if (w.timestampField !== undefined && w.timestamp !== undefined) throw bad('give one of timestampField (a field name) and timestamp (a function of the values), not both (neither: the spout sends its own with collector.emitWatermark)');
  if (w.timestamp !== undefined && typeof w.timestamp !== 'function') throw bad('timestamp must be a function (values) => ms');
  for (const key of ['maxOutOfOrdernessMs', 'idleTimeoutMs', 'intervalMs'] as const) {
    const v = w[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (key === 'intervalMs' && v === 0)) throw bad(`${key} must be a ${key === 'intervalMs' ? 'positive' : 'non-negative'} number of ms; got ${String(v)}`);
  }
  return Object.freeze({ ...w });
}

/** Make one throwaway instance and ask it for its streams. */
function declaredStreams(p: PendingComponent): ReadonlyMap<string, StreamDef> {
  if (typeof p.factory !== 'function') {
    throw new SquallError({
      code: 'E_BAD_FACTORY',
      component: p.id,
      message: `${p.kind} '${p.id}' needs a factory function such as () => new MySpout(), got ${typeof p.factory}`,
    });
  }
  let instance: ReturnType<SpoutFactory | BoltFactory>;
  try {
    instance = p.factory();
  } catch (cause) {
    throw new SquallError(
      {
        code: 'E_BAD_FACTORY',
        component: p.id,
        message: `the factory of ${p.kind} '${p.id}' threw: ${String((cause as Error)?.message ?? cause)}; keep constructors cheap and open resources in ${p.kind === 'spout' ? 'open()' : 'prepare()'}`,
      },
      { cause },
    );
  }
  const ok =
    instance !== null &&
    typeof instance === 'object' &&
    typeof instance.declareOutputFields === 'function' &&
    (p.kind === 'spout'
      ? typeof (instance as { nextTuple?: unknown }).nextTuple === 'function'
      : typeof (instance as { execute?: unknown }).execute === 'function');
  if (!ok) {
    const want = p.kind === 'spout' ? 'declareOutputFields() and nextTuple()' : 'declareOutputFields() and execute()';
    throw new SquallError({
      code: 'E_BAD_FACTORY',
      component: p.id,
      message: `the factory of ${p.kind} '${p.id}' must return an object with ${want}`,
    });
  }
  if (p.kind === 'bolt' && !isBasicBolt(instance as never) && typeof (instance as { prepare?: unknown }).prepare !== 'function') {
    throw new SquallError({
      code: 'E_BAD_FACTORY',
      component: p.id,
      message: `bolt '${p.id}' has no prepare(context, collector); implement it to receive the collector, or extend BasicBolt`,
    });
  }
  const streams = new Map<string, StreamDef>();
  const add = (stream: string, fields: readonly string[], direct: boolean) => {
    if (streams.has(stream)) {
      throw new SquallError({
        code: 'E_DUPLICATE_STREAM',
        component: p.id,
        stream,
        message: `${p.kind} '${p.id}' declares stream '${stream}' twice; declare each stream once`,
      });
    }
    if (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string' || f.length === 0)) {
      throw new SquallError({
        code: 'E_UNKNOWN_FIELD',
        component: p.id,
        stream,
        message: `${p.kind} '${p.id}' stream '${stream}': fields must be an array of non-empty strings`,
      });
    }
    if (new Set(fields).size !== fields.length) {
      throw new SquallError({
        code: 'E_DUPLICATE_FIELD',
        component: p.id,
        stream,
        message: `${p.kind} '${p.id}' stream '${stream}' declares a field twice (${fields.join(', ')}); field names must be unique`,
      });
    }
    streams.set(stream, Object.freeze({ id: stream, fields: Object.freeze([...fields]), direct }));
  };
  const declarer: OutputDeclarer = {
    declare: (fields, options) => add(DEFAULT_STREAM, fields, options?.direct === true),
    declareStream: (stream, fields, options) => {
      if (typeof stream !== 'string' || stream.length === 0) {
        throw new SquallError({
          code: 'E_INVALID_ID',
          component: p.id,
          message: `${p.kind} '${p.id}' declares a stream with an empty or non-string id`,
        });
      }
      if (stream.startsWith('__')) {
        throw new SquallError({
          code: 'E_RESERVED_ID',
          component: p.id,
          stream,
          message: `${p.kind} '${p.id}' declares stream '${stream}': ids beginning with '__' are reserved for squall's system streams; rename it`,
        });
      }
      add(stream, fields, options?.direct === true);
    },
  };
  instance.declareOutputFields(declarer);
  return streams;
}
