import { SquallError } from '../errors/index.ts';
import { createRouter } from '../grouping/index.ts';
import type { Router } from '../grouping/index.ts';
import type { RandomSource } from '../runtime/index.ts';
import type { Plan } from '../scheduler/index.ts';
import type { ComponentDef, Topology } from '../topology/index.ts';
import { StreamDesc } from '../tuple/index.ts';

/** One declared output stream of one task, with its routes built at plan time. */
export class OutStream {
  readonly id: string;
  readonly fields: readonly string[];
  /** One router per subscribing bolt; empty on a direct stream. */
  readonly routers: Router[] = [];
  /** Direct streams: 1 at the task ids that subscribe, indexed by task id. */
  readonly directTargets: Uint8Array;
  /** Cloneability is checked on the first emit, where it is cheap to do once. */
  cloneChecked = false;
  private readonly one = [0];

  constructor(
    readonly desc: StreamDesc,
    readonly direct: boolean,
    taskCount: number,
  ) {
    this.id = desc.stream;
    this.fields = desc.fields;
    this.directTargets = new Uint8Array(direct ? taskCount + 1 : 0);
  }

  /** How many routes an emit takes: one per subscriber, or the one task of an emitDirect. */
  routeCount(directTask: number): number {
    return directTask >= 0 ? 1 : this.routers.length;
  }

  /** The target tasks of route r (read at once: the array is reused). */
  route(r: number, values: readonly unknown[], directTask: number): readonly number[] {
    if (directTask >= 0) {
      this.one[0] = directTask;
      return this.one;
    }
    return this.routers[r]!.chooseTasks(values);
  }
}

/**
 * Every stream of the topology, numbered in a fixed order (components by id,
 * streams in declaration order), so all hosts agree on the numbers.
 */
export function buildStreamTable(topology: Topology): StreamDesc[] {
  const table: StreamDesc[] = [];
  for (const id of [...topology.components.keys()].sort()) {
    for (const s of topology.components.get(id)!.streams.values()) table.push(new StreamDesc(id, s.id, s.fields, table.length));
  }
  return table;
}

/** Build every output stream of one task with a router per subscriber. */
export function buildOutputs(
  topology: Topology,
  plan: Plan,
  def: ComponentDef,
  taskId: number,
  random: RandomSource,
  table: readonly StreamDesc[],
): Map<string, OutStream> {
  const out = new Map<string, OutStream>();
  const taskCount = plan.tasks.length - 1;
  for (const s of def.streams.values()) {
    const desc = table.find((d) => d.component === def.id && d.stream === s.id)!;
    out.set(s.id, new OutStream(desc, s.direct, taskCount));
  }
  const myHost = plan.hostOfTask[taskId];
  for (const target of [...topology.components.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const input of target.inputs) {
      if (input.component !== def.id) continue;
      const stream = out.get(input.stream)!;
      const targetTasks = plan.componentTasks.get(target.id)!;
      if (stream.direct) {
        for (const t of targetTasks) stream.directTargets[t] = 1;
        continue;
      }
      const g = input.grouping;
      const fields = g.type === 'fields' || g.type === 'partialKey' ? g.fields : [];
      stream.routers.push(
        createRouter(g, {
          sourceComponent: def.id,
          sourceStream: stream.id,
          sourceTask: taskId,
          targetComponent: target.id,
          targetTasks,
          outputFields: stream.fields,
          fieldIndexes: fields.map((f) => stream.fields.indexOf(f)),
          localTasks: targetTasks.filter((t) => plan.hostOfTask[t] === myHost),
          random,
          ...(topology.config.checkpointIntervalMs > 0 ? { keyGroups: topology.config.maxParallelism } : {}),
        }),
      );
    }
  }
  return out;
}

export function undeclaredStream(component: string, kind: string, stream: string, declared: Iterable<string>): SquallError {
  const names = [...declared];
  return new SquallError({
    code: 'E_EMIT_UNDECLARED_STREAM',
    component,
    stream,
    message: `${kind} '${component}' emitted on stream '${stream}', which it does not declare; declare it in declareOutputFields (declared: ${names.length ? names.join(', ') : 'none'})`,
  });
}

/** Checks made on every emit (arity, cheap) and on the first emit per stream (cloneability). */
export function checkEmit(component: string, stream: OutStream, values: unknown[]): void {
  if (!Array.isArray(values) || values.length !== stream.fields.length) {
    throw new SquallError({
      code: 'E_EMIT_ARITY',
      component,
      stream: stream.id,
      message: `'${component}' emitted ${Array.isArray(values) ? `${values.length} values` : 'a non-array'} on stream '${stream.id}', which declares ${stream.fields.length} fields (${stream.fields.join(', ')}); emit an array with one value per field`,
    });
  }
  if (!stream.cloneChecked) {
    checkCloneable(component, stream, values);
    stream.cloneChecked = true;
  }
}

function checkCloneable(component: string, stream: OutStream, values: unknown[]): void {
  for (let i = 0; i < values.length; i++) {
    try {
      structuredClone(values[i]);
    } catch {
      const field = stream.fields[i]!;
      throw new SquallError({
        code: 'E_EMIT_NOT_CLONEABLE',
        component,
        stream: stream.id,
        details: { field },
        message: `'${component}' emitted a value that cannot be cloned on stream '${stream.id}' (field '${field}'); tuples must be plain values: keep connections, handles and functions in the component and create them in open()/prepare()`,
      });
    }
  }
}

export function directTaskError(component: string, stream: OutStream, task: number): SquallError {
  if (!stream.direct) {
    return new SquallError({
      code: 'E_EMIT_DIRECT',
      component,
      stream: stream.id,
      message: `'${component}' called emitDirect on stream '${stream.id}', which is not direct; declare it with { direct: true } or use emit()`,
    });
  }
  return new SquallError({
    code: 'E_EMIT_BAD_TASK',
    component,
    stream: stream.id,
    details: { task },
    message: `'${component}' emitted directly to task ${task} on stream '${stream.id}', but no task with that id subscribes to it; use context task ids of the subscribing bolt`,
  });
}

export function notDirectError(component: string, stream: OutStream): SquallError {
  return new SquallError({
    code: 'E_EMIT_DIRECT',
    component,
    stream: stream.id,
    message: `'${component}' emitted on direct stream '${stream.id}' with emit(); a direct stream takes emitDirect(taskId, ...)`,
  });
}
