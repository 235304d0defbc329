import { SquallError } from '../errors/index.ts';
import type { CustomGrouping, GroupingSpec } from './types.ts';

/** Balanced random spread: over k*n tuples each of the n tasks gets exactly k. */
export function shuffle(): GroupingSpec {
  return SHUFFLE;
}

/** Equal values of these fields always reach the same task (hash partitioning). */
export function fields(...names: string[]): GroupingSpec {
  return Object.freeze({ type: 'fields', fields: checkFieldNames('fields', names) });
}

/** Every task gets every tuple (broadcast). */
export function all(): GroupingSpec {
  return ALL;
}

/** Every tuple goes to the task with the lowest id. */
export function global(): GroupingSpec {
  return GLOBAL;
}

/** The user does not care; today it is a shuffle, as in Storm. */
export function none(): GroupingSpec {
  return NONE;
}

/** The emitter picks the task with emitDirect(taskId, ...). */
export function direct(): GroupingSpec {
  return DIRECT;
}

/** Shuffle among target tasks on the emitter's host (no transfer), or over all if none are local. */
export function localOrShuffle(): GroupingSpec {
  return LOCAL_OR_SHUFFLE;
}

/**
 * Like fields, but each key may go to either of two tasks, whichever this
 * source task has sent fewer tuples to: balanced under skewed keys, at the
 * cost of a key's state being split over two tasks (combine downstream).
 */
export function partialKey(...names: string[]): GroupingSpec {
  return Object.freeze({ type: 'partialKey', fields: checkFieldNames('partialKey', names) });
}

/** A grouping written by the user. */
export function custom(grouping: CustomGrouping): GroupingSpec {
  if (grouping === null || typeof grouping !== 'object' || typeof grouping.chooseTasks !== 'function') {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      message: 'custom(grouping) needs an object with a chooseTasks(values) method',
    });
  }
  if (grouping.prepare !== undefined && typeof grouping.prepare !== 'function') {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      message: 'custom(grouping): prepare must be a function when it is given',
    });
  }
  return Object.freeze({ type: 'custom', grouping });
}

/** True when the stream is routed by emitDirect's task id rather than by a Router. */
export function isDirect(spec: GroupingSpec): boolean {
  return spec.type === 'direct';
}

const SHUFFLE: GroupingSpec = Object.freeze({ type: 'shuffle' });
const ALL: GroupingSpec = Object.freeze({ type: 'all' });
const GLOBAL: GroupingSpec = Object.freeze({ type: 'global' });
const NONE: GroupingSpec = Object.freeze({ type: 'none' });
const DIRECT: GroupingSpec = Object.freeze({ type: 'direct' });
const LOCAL_OR_SHUFFLE: GroupingSpec = Object.freeze({ type: 'localOrShuffle' });

function checkFieldNames(kind: string, names: string[]): readonly string[] {
  if (names.length === 0) {
    throw new SquallError({
      code: 'E_BAD_GROUPING',
      message: `${kind}() needs at least one field name, e.g. ${kind}('word')`,
    });
  }
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (typeof name !== 'string' || name.length === 0) {
      throw new SquallError({
        code: 'E_BAD_GROUPING',
        message: `${kind}(): field name #${i + 1} must be a non-empty string, got ${String(name)}`,
      });
    }
    if (names.indexOf(name) !== i) {
      throw new SquallError({
        code: 'E_BAD_GROUPING',
        message: `${kind}(): field '${name}' is named twice`,
      });
    }
  }
  return Object.freeze(names.slice());
}
