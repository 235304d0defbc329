import { SquallError } from '../errors/index.ts';
import { DEFAULT_STREAM, StreamDesc, TICK_DESC, Tuple } from '../tuple/index.ts';

/** Where a test tuple claims to come from; every option has a default. */
export interface TestTupleOptions {
  /** Field names, one per value (default `field1` … `fieldN`, as Storm's Testing.testTuple). */
  fields?: readonly string[];
  /** The source component (default `'component'`, as in Storm). */
  component?: string;
  /** The source stream (default `'default'`). */
  stream?: string;
  /** The source task id, 1 or more (default 1). */
  task?: number;
}

/**
 * A real {@link Tuple}, as a bolt's `execute` receives it, built without a
 * topology (Storm's `Testing.testTuple`). Field access by name works
 * (`get`, `getString`, …). It is untracked: acking or failing it in a
 * running topology would tell no acker anything, and in a unit test the
 * RecordingCollector records it.
 *
 * @example
 * const t = testTuple(['the cow'], { fields: ['sentence'] });
 * t.getString('sentence'); // 'the cow'
 */
export function testTuple(values: readonly unknown[], options: TestTupleOptions = {}): Tuple {
  if (!Array.isArray(values)) {
    throw badArgument(`testTuple(values) takes an array of values, one per field; got ${describe(values)}`);
  }
  const fields = options.fields ?? values.map((_, i) => `field${i + 1}`);
  if (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string' || f.length === 0)) {
    throw badArgument('testTuple: options.fields must be an array of non-empty strings');
  }
  if (fields.length !== values.length) {
    throw badArgument(
      `testTuple got ${values.length} values for ${fields.length} fields (${fields.join(', ')}); pass one value per field, or leave out options.fields to get field1..fieldN`,
    );
  }
  if (new Set(fields).size !== fields.length) {
    throw badArgument(`testTuple: options.fields names a field twice (${fields.join(', ')}); field names must be unique`);
  }
  const component = options.component ?? 'component';
  if (typeof component !== 'string' || component.length === 0) {
    throw badArgument('testTuple: options.component must be a non-empty string');
  }
  const stream = options.stream ?? DEFAULT_STREAM;
  if (typeof stream !== 'string' || stream.length === 0) {
    throw badArgument('testTuple: options.stream must be a non-empty string');
  }
  if (stream.startsWith('__')) {
    throw badArgument(`testTuple: stream '${stream}' is reserved for squall's system streams; use tickTuple() for a tick tuple, or another stream name`);
  }
  const task = options.task ?? 1;
  if (!Number.isInteger(task) || task < 1) {
    throw badArgument(`testTuple: options.task must be an integer task id of 1 or more; got ${describe(task)}`);
  }
  // Index -1: the stream is in no topology's stream table; a test tuple never crosses threads.
  const desc = new StreamDesc(component, stream, Object.freeze([...fields]), -1);
  return makeTuple([...values], desc, task);
}

/**
 * A tick tuple, as a bolt with `tickFrequencyMs` receives it: `isTick` is
 * true and its one field, `now`, is the clock time in ms.
 *
 * @example
 * bolt.execute(tickTuple(1_000)); // flush, expire, …
 */
export function tickTuple(nowMs = 0): Tuple {
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
    throw badArgument(`tickTuple(nowMs) takes the clock time in ms as a finite number; got ${describe(nowMs)}`);
  }
  // Source task -1, as the runtime's ticks: they come from no task.
  return makeTuple([nowMs], TICK_DESC, -1);
}

/**
 * The one place a testing tuple is constructed: the Tuple constructor's
 * tracking parameters belong to the runtime and may change. Test tuples
 * are untracked: the tracking arguments are left at their defaults.
 */
function makeTuple(values: readonly unknown[], desc: StreamDesc, sourceTask: number): Tuple {
  return new Tuple(values, desc, sourceTask);
}

function badArgument(message: string): SquallError {
  return new SquallError({ code: 'E_BAD_ARGUMENT', message });
}

function describe(x: unknown): string {
  return Array.isArray(x) ? 'an array' : x === null ? 'null' : typeof x === 'number' ? String(x) : typeof x;
}
