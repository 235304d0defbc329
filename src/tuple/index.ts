/**
 * A tuple: the values one task emitted on one stream, as the receiving bolt
 * sees it. Inside one host a tuple's values are passed by reference, never
 * copied, so a bolt must treat them as read-only.
 */
export class Tuple {
  readonly values: readonly unknown[];
  readonly sourceComponent: string;
  readonly sourceStream: string;
  readonly sourceTask: number;
  /** Field name → index, shared by every tuple of the stream. */
  readonly fieldIndex: ReadonlyMap<string, number>;

  // Tracking state, owned by the runtime. `ids` holds, per root the tuple
  // belongs to, four u32s: rootLo, rootHi, idLo, idHi. `outLo/outHi` is the
  // XOR of the edge ids of every tuple anchored to this one (Storm's ack val).
  /** @internal */ ids: number[] | null;
  /** @internal */ outLo = 0;
  /** @internal */ outHi = 0;
  /** @internal 0 pending, 1 acked, 2 failed: a tuple is acked or failed once. */
  settled = 0;

  constructor(
    values: readonly unknown[],
    sourceComponent: string,
    sourceStream: string,
    sourceTask: number,
    fieldIndex: ReadonlyMap<string, number>,
    ids: number[] | null,
  ) {
    this.values = values;
    this.sourceComponent = sourceComponent;
    this.sourceStream = sourceStream;
    this.sourceTask = sourceTask;
    this.fieldIndex = fieldIndex;
    this.ids = ids;
  }

  get size(): number {
    return this.values.length;
  }

  get fields(): string[] {
    return [...this.fieldIndex.keys()];
  }

  contains(field: string): boolean {
    return this.fieldIndex.has(field);
  }

  getValue(index: number): unknown {
    return this.values[index];
  }

  /** The value of a declared field; throws a RangeError naming the stream's fields if there is no such field. */
  get(field: string): unknown {
    const i = this.fieldIndex.get(field);
    if (i === undefined) {
      throw new RangeError(
        `tuple from '${this.sourceComponent}' stream '${this.sourceStream}' has no field '${field}'; its fields are: ${this.fields.join(', ')}`,
      );
    }
    return this.values[i];
  }

  getString(field: string): string {
    return this.get(field) as string;
  }

  getNumber(field: string): number {
    return this.get(field) as number;
  }

  /** True for the system tick tuples a bolt receives at its tick frequency. */
  get isTick(): boolean {
    return this.sourceStream === TICK_STREAM && this.sourceComponent === SYSTEM_COMPONENT;
  }

  toString(): string {
    return `Tuple(${this.sourceComponent}:${this.sourceTask}/${this.sourceStream} ${JSON.stringify(this.values)})`;
  }
}

export const DEFAULT_STREAM = 'default';
export const SYSTEM_COMPONENT = '__system';
export const TICK_STREAM = '__tick';

/** Build the field → index map of a stream, once per stream. */
export function fieldIndexOf(fields: readonly string[]): ReadonlyMap<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < fields.length; i++) m.set(fields[i]!, i);
  return m;
}
