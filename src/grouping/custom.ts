import { SquallError } from '../errors/index.ts';
import type { CustomGrouping, CustomGroupingContext, Router, RouterContext } from './types.ts';

/** How many valid task ids an error message lists before eliding the rest. */
const TASKS_SHOWN_MAX = 16;

/**
 * Runs a user's grouping and checks every answer against the target tasks,
 * through a byte-per-task-id table built once: a wrong task id is caught
 * here, naming the grouping, instead of as a lost tuple downstream.
 */
export class CustomRouter implements Router {
  private readonly isTarget: Uint8Array;

  constructor(
    private readonly grouping: CustomGrouping,
    private readonly ctx: RouterContext,
  ) {
    const tasks = ctx.targetTasks;
    this.isTarget = new Uint8Array(tasks[tasks.length - 1] + 1);
    for (let i = 0; i < tasks.length; i++) this.isTarget[tasks[i]] = 1;
    if (grouping.prepare !== undefined) {
      const context: CustomGroupingContext = {
        sourceComponent: ctx.sourceComponent,
        sourceStream: ctx.sourceStream,
        sourceTask: ctx.sourceTask,
        targetComponent: ctx.targetComponent,
        targetTasks: tasks,
        outputFields: ctx.outputFields,
      };
      grouping.prepare(context);
    }
  }

  chooseTasks(values: readonly unknown[]): readonly number[] {
    const chosen = this.grouping.chooseTasks(values);
    if (!Array.isArray(chosen)) this.reject(`returned ${describe(chosen)} instead of an array of task ids`);
    const isTarget = this.isTarget;
    for (let i = 0; i < chosen.length; i++) {
      const t = chosen[i];
      // A non-integer or out-of-range index reads undefined and fails too; the
      // typeof check stops "1" from reading index 1.
      if (typeof t !== 'number' || isTarget[t] !== 1) this.reject(`returned task ${describe(t)}`);
    }
    return chosen;
  }

  private reject(what: string): never {
    const { sourceComponent, sourceStream, targetComponent, targetTasks } = this.ctx;
    const shown = targetTasks.slice(0, TASKS_SHOWN_MAX).join(', ');
    const more = targetTasks.length > TASKS_SHOWN_MAX ? `, ... (${targetTasks.length} in all)` : '';
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      component: sourceComponent,
      stream: sourceStream,
      message:
        `custom grouping on stream '${sourceStream}' from '${sourceComponent}' to '${targetComponent}' ${what}; ` +
        `valid tasks are [${shown}${more}]; choose from context.targetTasks given to prepare()`,
      details: { targetComponent, targetTasks },
    });
  }
}

function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (Array.isArray(x)) return 'an array';
  return String(x);
}
