import { SquallError } from '../errors/index.ts';

/**
 * One stream of one component, shared by every tuple on it: its names, its
 * fields, and its index in the topology's stream table (how a tuple names its
 * stream when it crosses to another thread).
 */
export class StreamDesc {
  readonly fieldIndex: ReadonlyMap<string, number>;
  constructor(
    readonly component: string,
    readonly stream: string,
    readonly fields: readonly string[],
    /** Position in the topology's stream table; -1 for system streams that never cross threads. */
    readonly index: number,
  ) {
    this.fieldIndex = fieldIndexOf(fields);
  }
}

/**
 * A tuple: the values one task emitted on one stream, as the receiving bolt
 * sees it. Inside one host a tuple's values are passed by reference, never
 * copied, so a bolt must treat them as read-only.
 */
export class Tuple {
  readonly values: readonly unknown[];
  /** @internal The stream it was emitted on. */
  readonly source: StreamDesc;
  readonly sourceTask: number;

  // Tracking state, owned by the runtime. A tracked tuple belongs to one
  // root or more: the first root and the tuple's id for it live in fields
  // (rootLo/rootHi, idLo/idHi; all zero when untracked, since no root id is
  // zero), further roots in `more` as groups of four u32s (rootLo, rootHi,
  // idLo, idHi). `outLo/outHi` is the XOR of the edge ids of every tuple
  // anchored to this one (Storm's ack val).
  /** @internal */ rootLo: number;
  /** @internal */ rootHi: number;
  /** @internal */ idLo: number;
  /** @internal */ idHi: number;
  /** @internal */ more: number[] | null;
  /** @internal */ outLo = 0;
  /** @internal */ outHi = 0;
  /** @internal 0 pending, 1 acked, 2 failed: a tuple is acked or failed once. */
  settled = 0;

  constructor(
    values: readonly unknown[],
    source: StreamDesc,
    sourceTask: number,
    rootLo = 0,
    rootHi = 0,
    idLo = 0,
    idHi = 0,
    more: number[] | null = null,
  ) {
    this.values = values;
    this.source = source;
    this.sourceTask = sourceTask;
    this.rootLo = rootLo;
    this.rootHi = rootHi;
    this.idLo = idLo;
    this.idHi = idHi;
    this.more = more;
  }

  /** @internal True when the tuple belongs to at least one tracked tree. */
  get tracked(): boolean {
    return (this.rootLo | this.rootHi) !== 0;
  }

  get sourceComponent(): string {
    return this.source.component;
  }

  get sourceStream(): string {
    return this.source.stream;
  }

  /** Field name → index, shared by every tuple of the stream. */
  get fieldIndex(): ReadonlyMap<string, number> {
    return this.source.fieldIndex;
  }

  get size(): number {
    return this.values.length;
  }

  get fields(): readonly string[] {
    return this.source.fields;
  }

  contains(field: string): boolean {
    return this.source.fieldIndex.has(field);
  }

  getValue(index: number): unknown {
    return this.values[index];
  }

  /** The value of a declared field; throws E_UNKNOWN_FIELD naming the stream's fields if there is no such field. */
  get(field: string): unknown {
    const i = this.source.fieldIndex.get(field);
    if (i === undefined) {
      throw new SquallError({
        code: 'E_UNKNOWN_FIELD',
        component: this.sourceComponent,
        stream: this.sourceStream,
        message: `tuple from '${this.sourceComponent}' stream '${this.sourceStream}' has no field '${field}'; its fields are: ${this.fields.join(', ')}`,
      });
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
    return this.source === TICK_DESC;
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

/** The stream of tick tuples: [clock time in ms]. */
export const TICK_DESC = new StreamDesc(SYSTEM_COMPONENT, TICK_STREAM, ['now'], -1);

export const BARRIER_STREAM = '__barrier';
/**
 * A checkpoint barrier: [checkpoint id], from the task in sourceTask. It
 * travels in the mailboxes and across threads in order with the tuples of
 * its channel; bolts never see it (the executor handles it).
 */
export const BARRIER_DESC = new StreamDesc(SYSTEM_COMPONENT, BARRIER_STREAM, ['checkpoint'], -2);

export const WATERMARK_STREAM = '__watermark';
/**
 * An event-time watermark: [time, idle (1 or 0)], from the task in
 * sourceTask: no tuple with an earlier event time follows on this channel
 * (those that do are late). Carried like a barrier; bolts never see it.
 */
export const WATERMARK_DESC = new StreamDesc(SYSTEM_COMPONENT, WATERMARK_STREAM, ['time', 'idle'], -3);
