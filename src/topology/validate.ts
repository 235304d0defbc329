import { SquallError } from '../errors/index.ts';
import type { GroupingSpec } from '../grouping/index.ts';
import type { ComponentDef, ComponentResources, TopologyConfig } from './types.ts';
import { ACKER_COMPONENT, DEFAULT_ACKER_RESOURCES, DEFAULT_RESOURCES, RESERVED_PREFIX } from './types.ts';

const GROUPING_TYPES = new Set(['shuffle', 'fields', 'all', 'global', 'none', 'direct', 'localOrShuffle', 'partialKey', 'custom']);

/**
 * Check a topology before it runs. Each problem is a SquallError with a stable
 * code, the component and stream involved, and what to do about it.
 */
export function validateTopology(name: string, defs: readonly ComponentDef[], config: TopologyConfig): void {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new SquallError({ code: 'E_INVALID_ID', message: 'a topology needs a non-empty name: new TopologyBuilder("my-topology")' });
  }
  validateConfig(config);
  const byId = new Map<string, ComponentDef>();
  for (const d of defs) {
    if (typeof d.id !== 'string' || d.id.trim() === '') {
      throw new SquallError({ code: 'E_INVALID_ID', message: `a ${d.kind} has an empty or non-string id; give every component a name` });
    }
    if (d.id.startsWith(RESERVED_PREFIX)) {
      throw new SquallError({
        code: 'E_RESERVED_ID',
        component: d.id,
        message: `component id '${d.id}' begins with '${RESERVED_PREFIX}', which is reserved for system components such as __acker; rename it`,
      });
    }
    if (byId.has(d.id)) {
      throw new SquallError({
        code: 'E_DUPLICATE_ID',
        component: d.id,
        message: `two components are named '${d.id}'; component ids must be unique across spouts and bolts`,
      });
    }
    byId.set(d.id, d);
    if (!Number.isInteger(d.parallelism) || d.parallelism < 1) {
      throw new SquallError({
        code: 'E_BAD_PARALLELISM',
        component: d.id,
        message: `${d.kind} '${d.id}' has parallelism ${String(d.parallelism)}; it must be a whole number of tasks, at least 1`,
      });
    }
    if (!Number.isFinite(d.tickFrequencyMs) || d.tickFrequencyMs < 0) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        component: d.id,
        message: `bolt '${d.id}' has tickFrequencyMs ${String(d.tickFrequencyMs)}; use a positive number of milliseconds, or 0 for no ticks`,
      });
    }
    try {
      validateConfig({ ...config, ...d.config });
    } catch (err) {
      const e = err as SquallError;
      throw new SquallError({ code: e.code, component: d.id, details: e.details, message: `${d.kind} '${d.id}': ${e.message}` });
    }
    if (d.kind === 'spout' && d.inputs.length > 0) {
      throw new SquallError({
        code: 'E_SPOUT_INPUT',
        component: d.id,
        message: `spout '${d.id}' was given inputs; spouts only produce tuples: make '${d.id}' a bolt (setBolt) to subscribe to streams`,
      });
    }
  }
  if (!defs.some((d) => d.kind === 'spout')) {
    throw new SquallError({ code: 'E_TOPOLOGY_EMPTY', message: `topology '${name}' has no spout; add one with setSpout()` });
  }
  for (const d of defs) {
    for (const input of d.inputs) validateInput(d, input.component, input.stream, input.grouping, byId);
  }
}

function validateInput(bolt: ComponentDef, source: string, stream: string, grouping: GroupingSpec, byId: Map<string, ComponentDef>): void {
  const src = byId.get(source);
  if (src === undefined) {
    throw new SquallError({
      code: 'E_UNKNOWN_COMPONENT',
      component: bolt.id,
      stream,
      message: `bolt '${bolt.id}' subscribes to '${source}', which is not a component of this topology; known components: ${[...byId.keys()].join(', ')}`,
    });
  }
  const def = src.streams.get(stream);
  if (def === undefined) {
    const declared = [...src.streams.keys()];
    throw new SquallError({
      code: 'E_UNKNOWN_STREAM',
      component: bolt.id,
      stream,
      message: `bolt '${bolt.id}' subscribes to stream '${stream}' of '${source}', which '${source}' does not declare; it declares: ${declared.length ? declared.join(', ') : '(no streams)'}`,
    });
  }
  if (grouping === null || typeof grouping !== 'object' || !GROUPING_TYPES.has(grouping.type)) {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      component: bolt.id,
      stream,
      message: `bolt '${bolt.id}' input from '${source}' has an unknown grouping; use one of ${[...GROUPING_TYPES].join(', ')}`,
    });
  }
  if (grouping.type === 'fields' || grouping.type === 'partialKey') {
    if (!Array.isArray(grouping.fields) || grouping.fields.length === 0) {
      throw new SquallError({
        code: 'E_BAD_GROUPING',
        component: bolt.id,
        stream,
        message: `bolt '${bolt.id}' ${grouping.type} grouping on '${source}' names no field; name at least one of: ${def.fields.join(', ')}`,
      });
    }
    for (const f of grouping.fields) {
      if (!def.fields.includes(f)) {
        throw new SquallError({
          code: 'E_UNKNOWN_FIELD',
          component: bolt.id,
          stream,
          message: `bolt '${bolt.id}' groups on field '${f}', which stream '${stream}' of '${source}' does not declare; its fields are: ${def.fields.join(', ')}`,
        });
      }
    }
  }
  if (grouping.type === 'custom' && typeof grouping.grouping?.chooseTasks !== 'function') {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      component: bolt.id,
      stream,
      message: `bolt '${bolt.id}' custom grouping on '${source}' needs an object with chooseTasks(values)`,
    });
  }
  if (grouping.type === 'direct' && !def.direct) {
    throw new SquallError({
      code: 'E_DIRECT_GROUPING',
      component: bolt.id,
      stream,
      message: `bolt '${bolt.id}' uses direct grouping on stream '${stream}' of '${source}', which is not declared direct; declare it with { direct: true }`,
    });
  }
  if (grouping.type !== 'direct' && def.direct) {
    throw new SquallError({
      code: 'E_DIRECT_GROUPING',
      component: bolt.id,
      stream,
      message: `stream '${stream}' of '${source}' is direct, so bolt '${bolt.id}' must subscribe with directGrouping()`,
    });
  }
}

function positiveInt(config: TopologyConfig, key: string, min: number): void {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `config ${key} is ${JSON.stringify(v)}; it must be a whole number, at least ${min}`,
      details: { key, value: v },
    });
  }
}

export function validateConfig(config: TopologyConfig): void {
  positiveInt(config, 'ackers', 0);
  positiveInt(config, 'messageTimeoutMs', 1);
  positiveInt(config, 'maxSpoutPending', 1);
  positiveInt(config, 'mailboxCapacity', 1);
  positiveInt(config, 'killWaitMs', 0);
  positiveInt(config, 'spoutIdleMaxMs', 1);
  positiveInt(config, 'checkpointIntervalMs', 0);
  positiveInt(config, 'checkpointTimeoutMs', 1);
  positiveInt(config, 'checkpointMaxAlignedTuples', 1);
  positiveInt(config, 'maxParallelism', 1);
  if (config.maxParallelism > 32768) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `maxParallelism must be at most 32768; got ${config.maxParallelism}`, details: { key: 'maxParallelism', value: config.maxParallelism } });
  }
  const trace = config.traceSample;
  if (typeof trace !== 'number' || !(trace >= 0 && trace <= 1)) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `config traceSample is ${JSON.stringify(trace)}; it must be a number from 0 (trace only the first trees and those after a timeout) to 1 (trace every tree), such as 0.01`,
      details: { key: 'traceSample', value: trace },
    });
  }
  if (config.checkpointMode !== 'exactly-once' && config.checkpointMode !== 'at-least-once') {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `checkpointMode must be 'exactly-once' or 'at-least-once'; got ${JSON.stringify(config.checkpointMode)}`,
      details: { key: 'checkpointMode', value: config.checkpointMode },
    });
  }
  if (config.ackerResources !== undefined) resolveResources('the ackers (config ackerResources)', ACKER_COMPONENT, config.ackerResources, DEFAULT_ACKER_RESOURCES);
}

const RESOURCE_KEYS = ['cpu', 'memoryMb'] as const;

/**
 * Check the resource hints of one component (`where` names it in messages,
 * e.g. "bolt 'count'") and fill in the defaults. Each hint is a non-negative
 * finite number; an unknown key is a typo, not something to ignore.
 */
export function resolveResources(
  where: string,
  component: string,
  hints: unknown,
  defaults: Readonly<ComponentResources> = DEFAULT_RESOURCES,
): ComponentResources {
  if (hints === undefined) return defaults;
  if (hints === null || typeof hints !== 'object' || Array.isArray(hints)) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      component,
      message: `${where} has resources ${JSON.stringify(hints)}; give an object such as { cpu: 50, memoryMb: 256 } (cpu in percent of one core, memory in MB, per task)`,
      details: { key: 'resources', value: hints },
    });
  }
  const h = hints as Record<string, unknown>;
  for (const key of Object.keys(h)) {
    if (!(RESOURCE_KEYS as readonly string[]).includes(key)) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        component,
        message: `${where} has an unknown resource hint '${key}'; the hints are ${RESOURCE_KEYS.join(' and ')}`,
        details: { key: `resources.${key}`, value: h[key] },
      });
    }
  }
  const out = { ...defaults };
  for (const key of RESOURCE_KEYS) {
    const v = h[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      const unit = key === 'cpu' ? 'percent of one core (100 = a whole core)' : 'MB';
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        component,
        message: `${where} has resources.${key} ${typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v))}; it must be a non-negative finite number, in ${unit} per task`,
        details: { key: `resources.${key}`, value: v },
      });
    }
    out[key] = v;
  }
  return Object.freeze(out);
}
