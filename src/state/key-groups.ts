/**
 * Key groups: the unit keyed state is stored, restored and moved in.
 *
 * A key's hash is mixed and reduced to one of `maxParallelism` key groups
 * (default 128); every task of a component owns a contiguous range of key
 * groups, as Flink's KeyGroupRangeAssignment assigns them:
 *
 *   keyGroup  = fmix32(keyHash) mod maxParallelism
 *   range(i)  = [ceil(i * max / p), ceil((i + 1) * max / p) - 1]
 *   task(kg)  = floor(kg * p / max)
 *
 * A key's group never depends on the parallelism, so rescaling from p to q
 * tasks moves whole key groups between tasks and never splits one: state is
 * redistributed by reading each task's new range. maxParallelism is the
 * upper bound of the parallelism and cannot change without rewriting state.
 *
 * fmix32 is MurmurHash3's 32-bit finalizer; it spreads hashes whose low bits
 * are poor (small integers, FNV of short strings) over the groups. Pure
 * functions, no state.
 */
import { SquallError } from '../errors/index.ts';

/** The default number of key groups. */
export const DEFAULT_MAX_PARALLELISM = 128;
/** The largest maxParallelism (2^15, as Flink). */
export const MAX_MAX_PARALLELISM = 32768;

/** A contiguous, inclusive range of key groups. */
export interface KeyGroupRange {
  /** The first key group of the range. */
  readonly start: number;
  /** The last key group of the range (inclusive). */
  readonly end: number;
}

/** MurmurHash3's fmix32, on a 32-bit integer; the result is unsigned. */
export function mixHash(keyHash: number): number {
  let h = keyHash | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The key group of a key whose hash is `keyHash` (any 32-bit integer, signed
 * or not, e.g. fieldsHash of the grouping fields). Not validated, for the
 * tuple path: check maxParallelism once with checkMaxParallelism.
 */
export function keyGroupOf(keyHash: number, maxParallelism: number): number {
  return mixHash(keyHash) % maxParallelism;
}

/** E_BAD_CONFIG unless maxParallelism is a whole number in 1..32768. */
export function checkMaxParallelism(maxParallelism: number): void {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > MAX_MAX_PARALLELISM) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `maxParallelism must be a whole number from 1 to ${MAX_MAX_PARALLELISM}, got ${String(maxParallelism)}`,
      details: { key: 'maxParallelism', value: maxParallelism },
    });
  }
}

/** E_BAD_CONFIG unless parallelism is a whole number in 1..maxParallelism. */
export function checkParallelism(parallelism: number, maxParallelism: number): void {
  checkMaxParallelism(maxParallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `parallelism must be a whole number from 1 to maxParallelism (${maxParallelism}), got ${String(parallelism)}: keyed state cannot be spread over more tasks than key groups; raise maxParallelism (a new state) or lower the parallelism`,
      details: { key: 'parallelism', value: parallelism, maxParallelism },
    });
  }
}

/** The key groups task `taskIndex` (0-based) of `parallelism` tasks owns. */
export function keyGroupRangeOf(taskIndex: number, parallelism: number, maxParallelism: number): KeyGroupRange {
  checkParallelism(parallelism, maxParallelism);
  if (!Number.isInteger(taskIndex) || taskIndex < 0 || taskIndex >= parallelism) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `task index must be a whole number from 0 to ${parallelism - 1}, got ${String(taskIndex)}`,
      details: { taskIndex, parallelism },
    });
  }
  const start = Math.ceil((taskIndex * maxParallelism) / parallelism);
  const end = Math.ceil(((taskIndex + 1) * maxParallelism) / parallelism) - 1;
  return { start, end };
}

/** The task index (0-based) that owns `keyGroup` among `parallelism` tasks. Not validated, for the tuple path. */
export function taskIndexForKeyGroup(keyGroup: number, parallelism: number, maxParallelism: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}
