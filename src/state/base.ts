/**
 * What every store shares: argument checks, the writer that buffers one
 * checkpoint's delta in memory, the store's view of its newest checkpoint,
 * and the lifecycle. A store implements the I/O: commitDelta and friends.
 */
import { MAX_MAX_PARALLELISM } from './key-groups.ts';
import { badArgument, badState, noCheckpoint, oldCheckpoint } from './errors.ts';
import type {
  BeginOptions,
  CheckpointMetadata,
  CheckpointWriter,
  FaultHook,
  KeyedBatch,
  LatestCheckpoint,
  LatestOptions,
  OperatorEntry,
  StateStore,
} from './types.ts';

/** The keyed entries of one component and key group: key -> value, null for a delete. */
export type KeyGroupDelta = Map<string, Uint8Array | null>;

/** One checkpoint's writes, deduplicated (the last write of a key wins). */
export interface Delta {
  /** component -> key group -> key -> value (null: deleted). */
  readonly keyed: Map<string, Map<number, KeyGroupDelta>>;
  /** component -> task index -> value. */
  readonly operator: Map<string, Map<number, Uint8Array>>;
}

/** What a store gets to commit. */
export interface PendingCheckpoint {
  readonly checkpointId: number;
  /** The checkpoint the keyed deltas apply to (null: full). */
  readonly base: number | null;
  /** The newest checkpoint when the writer began, as this instance saw it: fencing. */
  readonly expected: number | null;
  readonly delta: Delta;
}

export interface StoreOptionsBase {
  /** How many completed checkpoints to keep (default 2, at least 1). */
  readonly retain?: number;
  /** Fault injection for crash tests (see FaultHook). */
  readonly faults?: FaultHook;
}

export const DEFAULT_RETAIN = 2;

export function checkComponent(component: string): void {
  if (typeof component !== 'string' || component.length === 0 || component.includes('\0')) {
    throw badArgument(`a component id must be a non-empty string without NUL, got ${JSON.stringify(component)}`);
  }
}

export function checkKeyGroup(keyGroup: number): void {
  if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= MAX_MAX_PARALLELISM) {
    throw badArgument(`a key group must be a whole number from 0 to ${MAX_MAX_PARALLELISM - 1}, got ${String(keyGroup)}`);
  }
}

const isWellFormed = (String.prototype as unknown as { isWellFormed?: () => boolean }).isWellFormed;

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.includes('\0') || (isWellFormed !== undefined && !isWellFormed.call(key))) {
    throw badArgument(
      `a state key must be a well-formed string without NUL (it is stored as UTF-8 text), got ${JSON.stringify(String(key)).slice(0, 80)}`,
    );
  }
}

export function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw badArgument('a state value must be a Uint8Array (serialize it first)');
}

export function checkCheckpointId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 1) {
    throw badArgument(`a checkpoint id must be a whole number >= 1, got ${String(id)}`);
  }
}

export function checkRange(from: number, to: number): void {
  checkKeyGroup(from);
  checkKeyGroup(to);
  if (to < from) throw badArgument(`key group range ${from}..${to} is empty: the end comes before the start`);
}

/** The metadata as stored: a JSON object, stringified. */
export function metadataJson(metadata: CheckpointMetadata): string {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw badArgument('checkpoint metadata must be a JSON object');
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(metadata);
  } catch (e) {
    throw badArgument(`checkpoint metadata must be JSON: ${(e as Error).message}`);
  }
  return json!;
}

function emptyDelta(): Delta {
  return { keyed: new Map(), operator: new Map() };
}

/** Count of keyed entries (puts and deletes) in a delta. */
export function keyedCount(delta: Delta): number {
  let n = 0;
  for (const groups of delta.keyed.values()) for (const g of groups.values()) n += g.size;
  return n;
}

type WriterStatus = 'open' | 'committing' | 'committed' | 'aborted' | 'failed';

class BufferedWriter implements CheckpointWriter {
  private status: WriterStatus = 'open';
  private delta: Delta = emptyDelta();
  private entries = 0;
  // The last component / key group written, to skip two map lookups per entry in runs.
  private lastComponent: string | undefined;
  private lastKeyGroup = -1;
  private lastGroups: Map<number, KeyGroupDelta> | undefined;
  private lastGroup: KeyGroupDelta | undefined;

  constructor(
    private readonly store: StoreBase,
    readonly checkpointId: number,
    readonly base: number | null,
    private readonly expected: number | null,
  ) {}

  get size(): number {
    return this.entries;
  }

  private group(component: string, keyGroup: number): KeyGroupDelta {
    if (this.status !== 'open') throw badState(`checkpoint ${this.checkpointId} is ${this.status}: no more writes`);
    if (component === this.lastComponent && keyGroup === this.lastKeyGroup) return this.lastGroup!;
    checkComponent(component);
    checkKeyGroup(keyGroup);
    let groups = component === this.lastComponent ? this.lastGroups! : this.delta.keyed.get(component);
    if (groups === undefined) {
      groups = new Map();
      this.delta.keyed.set(component, groups);
    }
    let g = groups.get(keyGroup);
    if (g === undefined) {
      g = new Map();
      groups.set(keyGroup, g);
    }
    this.lastComponent = component;
    this.lastKeyGroup = keyGroup;
    this.lastGroups = groups;
    this.lastGroup = g;
    return g;
  }

  putKeyed(component: string, keyGroup: number, key: string, value: Uint8Array): void {
    const g = this.group(component, keyGroup);
    checkKey(key);
    checkValue(value);
    const before = g.size;
    g.set(key, value);
    this.entries += g.size - before;
  }

  deleteKeyed(component: string, keyGroup: number, key: string): void {
    const g = this.group(component, keyGroup);
    checkKey(key);
    const before = g.size;
    g.set(key, null);
    this.entries += g.size - before;
  }

  putOperator(component: string, taskIndex: number, value: Uint8Array): void {
    if (this.status !== 'open') throw badState(`checkpoint ${this.checkpointId} is ${this.status}: no more writes`);
    checkComponent(component);
    if (!Number.isInteger(taskIndex) || taskIndex < 0) throw badArgument(`a task index must be a whole number >= 0, got ${String(taskIndex)}`);
    checkValue(value);
    let tasks = this.delta.operator.get(component);
    if (tasks === undefined) {
      tasks = new Map();
      this.delta.operator.set(component, tasks);
    }
    const before = tasks.size;
    tasks.set(taskIndex, value);
    this.entries += tasks.size - before;
  }

  async commit(metadata: CheckpointMetadata): Promise<void> {
    if (this.status !== 'open') throw badState(`checkpoint ${this.checkpointId} is ${this.status}: it cannot be committed`);
    const json = metadataJson(metadata);
    this.status = 'committing';
    const delta = this.delta;
    this.delta = emptyDelta();
    this.lastComponent = undefined;
    this.lastGroups = undefined;
    this.lastGroup = undefined;
    try {
      await this.store.commitWriter({ checkpointId: this.checkpointId, base: this.base, expected: this.expected, delta }, json);
      this.status = 'committed';
    } catch (e) {
      this.status = 'failed';
      throw e;
    } finally {
      this.store.writerDone(this);
    }
  }

  async abort(): Promise<void> {
    if (this.status !== 'open') return;
    this.status = 'aborted';
    this.delta = emptyDelta();
    this.lastGroup = undefined;
    this.lastGroups = undefined;
    this.store.writerDone(this);
    await this.store.abortWriter(this.checkpointId);
  }
}

type StoreStatus = 'new' | 'opening' | 'open' | 'closed';

/** The lifecycle, the view of the newest checkpoint, and the writer; stores supply the I/O. */
export abstract class StoreBase implements StateStore {
  abstract readonly kind: StateStore['kind'];
  abstract readonly location: string;
  protected readonly retain: number;
  protected readonly faults: FaultHook | undefined;
  private status: StoreStatus = 'new';
  private writer: BufferedWriter | undefined;
  /** The newest checkpoint this instance has seen (at open, and its own commits), and the retained ones then. */
  protected seenLatest: number | null = null;
  protected seenRetained: number[] = [];

  constructor(options: StoreOptionsBase) {
    const retain = options.retain ?? DEFAULT_RETAIN;
    if (!Number.isInteger(retain) || retain < 1) throw badArgument(`retain must be a whole number >= 1, got ${String(retain)}`);
    this.retain = retain;
    this.faults = options.faults;
  }

  /** Call the fault hook for a step. */
  protected step(name: string): void {
    if (this.faults !== undefined) this.faults(name);
  }

  /** Set when a commit failed where what is durable is unknown: the instance must be reopened. */
  protected broken: Error | undefined;

  protected checkOpen(): void {
    if (this.broken !== undefined) {
      throw badState(
        `the state store ${this.location} failed where what is durable is unknown (${this.broken.message}): close it and open it again to read what was committed`,
      );
    }
    if (this.status !== 'open') throw badState(`the state store ${this.location} is ${this.status === 'new' ? 'not open yet' : this.status}`);
  }

  async open(): Promise<void> {
    if (this.status !== 'new') throw badState(`the state store ${this.location} was opened already`);
    this.status = 'opening';
    try {
      const view = await this.doOpen();
      this.seenLatest = view.latest;
      this.seenRetained = view.retained;
      this.status = 'open';
    } catch (e) {
      this.status = 'closed';
      await this.doAbandon().catch(() => undefined);
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.status === 'closed') return;
    const was = this.status;
    this.status = 'closed';
    if (this.writer !== undefined) await this.writer.abort().catch(() => undefined);
    if (was === 'open') await this.doClose();
    else await this.doAbandon();
  }

  async abandon(): Promise<void> {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.writer = undefined;
    await this.doAbandon();
  }

  begin(checkpointId: number, options: BeginOptions = {}): CheckpointWriter {
    this.checkOpen();
    checkCheckpointId(checkpointId);
    if (this.writer !== undefined) {
      throw badState(`checkpoint ${this.writer.checkpointId} is still being written to ${this.location}: commit or abort it before beginning ${checkpointId}`);
    }
    if (checkpointId <= (this.seenLatest ?? 0)) throw oldCheckpoint(checkpointId, this.seenLatest!, this.location);
    const base = options.base === undefined ? this.seenLatest : options.base;
    if (base !== null && !this.seenRetained.includes(base)) throw noCheckpoint(base, this.seenRetained, this.location);
    const w = new BufferedWriter(this, checkpointId, base, this.seenLatest);
    this.writer = w;
    return w;
  }

  /** @internal the writer commits through here. */
  async commitWriter(pending: PendingCheckpoint, metadata: string): Promise<void> {
    this.checkOpen();
    const retained = await this.commitDelta(pending, metadata);
    this.seenLatest = pending.checkpointId;
    this.seenRetained = retained;
  }

  /** @internal */
  writerDone(w: BufferedWriter): void {
    if (this.writer === w) this.writer = undefined;
  }

  /** @internal */
  async abortWriter(checkpointId: number): Promise<void> {
    if (this.status !== 'open') return;
    await this.abortDelta(checkpointId);
  }

  async latest(options: LatestOptions = {}): Promise<LatestCheckpoint | null> {
    this.checkOpen();
    return this.doLatest(options);
  }

  async checkpoints(): Promise<number[]> {
    this.checkOpen();
    return this.doCheckpoints();
  }

  readKeyed(checkpointId: number, component: string, keyGroupFrom: number, keyGroupTo: number): AsyncIterable<KeyedBatch> {
    this.checkOpen();
    checkCheckpointId(checkpointId);
    checkComponent(component);
    checkRange(keyGroupFrom, keyGroupTo);
    return this.doReadKeyed(checkpointId, component, keyGroupFrom, keyGroupTo);
  }

  async readOperator(checkpointId: number, component: string): Promise<OperatorEntry[]> {
    this.checkOpen();
    checkCheckpointId(checkpointId);
    checkComponent(component);
    const entries = await this.doReadOperator(checkpointId, component);
    return entries.sort((a, b) => a.taskIndex - b.taskIndex);
  }

  async dropComponent(component: string): Promise<void> {
    this.checkOpen();
    checkComponent(component);
    await this.doDropComponent(component);
  }

  async compact(): Promise<void> {
    this.checkOpen();
    await this.doCompact();
  }

  /** Connect, create what is missing, and say what the newest checkpoint is. */
  protected abstract doOpen(): Promise<{ latest: number | null; retained: number[] }>;
  protected abstract doClose(): Promise<void>;
  protected abstract doAbandon(): Promise<void>;
  /** Commit atomically, fencing on pending.expected; returns the retained ids after. */
  protected abstract commitDelta(pending: PendingCheckpoint, metadata: string): Promise<number[]>;
  protected abstract abortDelta(checkpointId: number): Promise<void>;
  protected abstract doLatest(options: LatestOptions): Promise<LatestCheckpoint | null>;
  protected abstract doCheckpoints(): Promise<number[]>;
  protected abstract doReadKeyed(checkpointId: number, component: string, from: number, to: number): AsyncIterable<KeyedBatch>;
  protected abstract doReadOperator(checkpointId: number, component: string): Promise<OperatorEntry[]>;
  protected abstract doDropComponent(component: string): Promise<void>;
  protected abstract doCompact(): Promise<void>;
}
