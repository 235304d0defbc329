import { keyGroupOf, taskIndexForKeyGroup } from '../state/index.ts';
import { SquallError, invariant } from '../errors/index.ts';
import { CustomRouter } from './custom.ts';
import { fieldsHashBits, stringKeyHashBits } from './hash.ts';
import { PartialKeyRouter } from './partial-key.ts';
import { ShuffleRouter, singletons } from './shuffle.ts';
import type { GroupingSpec, Router, RouterContext } from './types.ts';

/**
 * Make a grouping concrete for one source task. Called at plan/start time,
 * never per tuple: everything a router needs per tuple is computed here.
 */
export function createRouter(spec: GroupingSpec, ctx: RouterContext): Router {
  checkContext(ctx);
  switch (spec.type) {
    case 'shuffle':
    case 'none':
      return new ShuffleRouter(ctx.targetTasks, ctx.random);
    case 'localOrShuffle':
      return new ShuffleRouter(ctx.localTasks.length > 0 ? ctx.localTasks : ctx.targetTasks, ctx.random);
    case 'fields':
      checkFieldIndexes(spec.type, ctx);
      return ctx.keyGroups !== undefined ? new KeyGroupRouter(ctx.targetTasks, ctx.fieldIndexes, ctx.keyGroups) : new FieldsRouter(ctx.targetTasks, ctx.fieldIndexes);
    case 'partialKey':
      checkFieldIndexes(spec.type, ctx);
      return new PartialKeyRouter(ctx.targetTasks, ctx.fieldIndexes);
    case 'all':
      return new FixedRouter(ctx.targetTasks);
    case 'global':
      return new FixedRouter(singletons(ctx.targetTasks)[0]);
    case 'direct':
      return new DirectRouter(ctx);
    case 'custom':
      return new CustomRouter(spec.grouping, ctx);
    default: {
      const unknown: { type?: unknown } = spec;
      throw new SquallError({
        code: 'E_BAD_GROUPING',
        component: ctx.sourceComponent,
        stream: ctx.sourceStream,
        message: `unknown grouping type ${String(unknown.type)} on stream '${ctx.sourceStream}' to '${ctx.targetComponent}'; build groupings with shuffle(), fields(...), all(), global(), none(), direct(), localOrShuffle(), partialKey(...) or custom(...)`,
      });
    }
  }
}

/** Hash partitioning: equal keys, same task, on every host. */
class FieldsRouter implements Router {
  private readonly singles: readonly (readonly number[])[];

  constructor(
    tasks: readonly number[],
    private readonly fieldIndexes: readonly number[],
  ) {
    this.singles = singletons(tasks);
  }

  chooseTasks(values: readonly unknown[]): readonly number[] {
    const fi = this.fieldIndexes;
    if (fi.length === 1) {
      const key = values[fi[0]!];
      if (typeof key === 'string') return this.singles[(stringKeyHashBits(key) >>> 0) % this.singles.length]!;
    }
    return this.singles[(fieldsHashBits(values, fi) >>> 0) % this.singles.length]!;
  }
}

/**
 * The fields grouping of a topology that checkpoints: the key's hash picks
 * a key group, and the task that owns the key group gets the tuple (task i
 * of p owns a contiguous range of the maxParallelism groups; see
 * src/state/key-groups.ts). The hash is the same as the plain fields
 * grouping's.
 */
class KeyGroupRouter implements Router {
  private readonly singles: readonly (readonly number[])[];

  constructor(
    tasks: readonly number[],
    private readonly fieldIndexes: readonly number[],
    private readonly maxParallelism: number,
  ) {
    this.singles = singletons(tasks);
  }

  chooseTasks(values: readonly unknown[]): readonly number[] {
    const fi = this.fieldIndexes;
    let h: number;
    if (fi.length === 1 && typeof values[fi[0]!] === 'string') h = stringKeyHashBits(values[fi[0]!] as string);
    else h = fieldsHashBits(values, fi);
    const max = this.maxParallelism;
    return this.singles[taskIndexForKeyGroup(keyGroupOf(h, max), this.singles.length, max)]!;
  }
}

/** all and global: the same answer for every tuple. */
class FixedRouter implements Router {
  constructor(private readonly tasks: readonly number[]) {}

  chooseTasks(_values: readonly unknown[]): readonly number[] {
    return this.tasks;
  }
}

class DirectRouter implements Router {
  constructor(private readonly ctx: RouterContext) {}

  chooseTasks(_values: readonly unknown[]): readonly number[] {
    const { sourceComponent, sourceStream, targetComponent } = this.ctx;
    throw new SquallError({
      code: 'E_EMIT_DIRECT',
      component: sourceComponent,
      stream: sourceStream,
      message: `'${sourceComponent}' emitted on stream '${sourceStream}' with emit(), but '${targetComponent}' subscribes to it with direct grouping; use emitDirect(taskId, ...)`,
    });
  }
}

function checkFieldIndexes(type: string, ctx: RouterContext): void {
  const { fieldIndexes, outputFields } = ctx;
  if (fieldIndexes.length === 0) {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      component: ctx.sourceComponent,
      stream: ctx.sourceStream,
      message: `${type} grouping from '${ctx.sourceComponent}' stream '${ctx.sourceStream}' to '${ctx.targetComponent}' has no fields; name at least one, e.g. ${type}('${outputFields[0] ?? 'word'}')`,
    });
  }
  for (let i = 0; i < fieldIndexes.length; i++) {
    const f = fieldIndexes[i];
    invariant(
      Number.isInteger(f) && f >= 0 && f < outputFields.length,
      `field index ${f} is outside the ${outputFields.length} output fields of '${ctx.sourceComponent}' stream '${ctx.sourceStream}'`,
    );
  }
}

/** The planner builds the context: anything wrong here is a bug in squall. */
function checkContext(ctx: RouterContext): void {
  const tasks = ctx.targetTasks;
  invariant(tasks.length > 0, `'${ctx.targetComponent}' has no tasks`);
  for (let i = 0; i < tasks.length; i++) {
    invariant(Number.isInteger(tasks[i]) && tasks[i] >= 0, `task id ${tasks[i]} of '${ctx.targetComponent}' is not a non-negative integer`);
    invariant(i === 0 || tasks[i - 1] < tasks[i], `target tasks of '${ctx.targetComponent}' are not sorted ascending and distinct`);
  }
  for (let i = 0; i < ctx.localTasks.length; i++) {
    invariant(tasks.includes(ctx.localTasks[i]), `local task ${ctx.localTasks[i]} is not a task of '${ctx.targetComponent}'`);
  }
}
