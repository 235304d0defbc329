/**
 * Keyed state of one bolt task, on the heap: what `context.state` is.
 *
 * Each state is a Map from key to value. The executor names the current
 * key before each execute (setInput: the key is read from the input only
 * when a state is touched) and the states read and write that key's entry.
 * What changed since the last checkpoint is remembered per state (dirty
 * keys), so a checkpoint writes only those: incremental. Timers are keyed
 * state too (one entry per key with its due times).
 *
 * Store keys are `<state name>\u001f<key>`; values are encoded by
 * value-codec.ts (plain values as JSON, anything else as node:v8's
 * structured clone). See docs/state.md.
 */
import { SquallError } from '../errors/index.ts';
import type {
  AggregatingState,
  Aggregator,
  KeyedStateContext,
  ListState,
  MapState,
  ReducingState,
  StateOptions,
  TimeDomain,
  TimerService,
  ValueState,
} from './api.ts';
import { keyGroupOf } from './key-groups.ts';
import { decodeValue, encodeValue } from './value-codec.ts';

/** Separates the state name from the key in a store key. */
export const KEY_SEPARATOR = '\u001f';
/** The internal state that keeps timers: key -> [processing times, event times]. */
const TIMERS_STATE = '__timers';

/** What the backend needs from the input being executed to find its key. */
export interface KeyedInput {
  readonly values: readonly unknown[];
}

/** How the key of an input is read: the grouping's field indexes, and the key's hash as the router computes it. */
export interface KeySelector {
  readonly fieldIndexes: readonly number[];
  hash(values: readonly unknown[]): number;
}

/** One changed entry of a snapshot: a value, or null for a delete. */
export interface KeyedChanges {
  readonly keyGroups: number[];
  readonly keys: string[];
  readonly values: (Uint8Array | null)[];
}

interface Entry<T> {
  value: T;
  /** Clock time of the last write (for time to live). */
  written: number;
  /** The backend's snapshot epoch when the key last went into its slot's dirty set (-1: not since it was restored). */
  epoch: number;
}

/** One declared state: its entries and the keys changed since the last snapshot. */
class Slot {
  readonly entries = new Map<string, Entry<unknown>>();
  readonly dirty = new Set<string>();
  constructor(
    readonly name: string,
    readonly kind: string,
    readonly ttlMs: number,
  ) {}
}

/** A due timer. */
interface Timer {
  time: number;
  key: string;
  keyGroup: number;
  domain: TimeDomain;
}

/** What the executor does when timers are due: set the key, call the bolt's onTimer. */
export type TimerFire = (time: number, domain: TimeDomain) => void;

export interface KeyedStateBackendOptions {
  component: string;
  maxParallelism: number;
  now(): number;
  /** Ask the clock to call back at `time` (processing time); returns a cancel. */
  schedule(time: number, fn: () => void): () => void;
  /** The hash of a key given as a string (withKey of a key this task has not seen): as the fields grouping hashes one string field. */
  hashKey?: (key: string) => number;
}

export class KeyedStateBackend implements KeyedStateContext {
  private readonly slots = new Map<string, Slot>();
  /** Restored entries of states not declared yet: name -> key -> [keyGroup, value]. */
  private readonly restored = new Map<string, Map<string, [number, unknown]>>();
  /** The key group of every key with state. */
  private readonly keyGroups = new Map<string, number>();
  private input: KeyedInput | null = null;
  private selector: KeySelector | null = null;
  private key: string | undefined = undefined;
  private keyGroup = -1;
  private readonly timerSlot: Slot;
  private processingTimers: Timer[] = [];
  private eventTimers: Timer[] = [];
  private cancelWake: (() => void) | null = null;
  private wakeAt = Infinity;
  private watermark = -Infinity;
  /** Counts snapshots: an entry written since the last one carries it (see Entry.epoch). */
  private epoch = 0;
  /** Set by the executor: runs due timers with their key current. */
  onTimer: TimerFire | null = null;
  /** Called when a processing-time timer falls due (the executor wakes its host). */
  onDue: (() => void) | null = null;
  readonly timers: TimerService;

  constructor(private readonly options: KeyedStateBackendOptions) {
    this.timerSlot = new Slot(TIMERS_STATE, 'timers', 0);
    this.slots.set(TIMERS_STATE, this.timerSlot);
    const self = this;
    this.timers = {
      currentProcessingTime: () => options.now(),
      currentWatermark: () => self.watermark,
      registerProcessingTimeTimer: (time) => self.setTimer(time, 'processing', true),
      deleteProcessingTimeTimer: (time) => self.setTimer(time, 'processing', false),
      registerEventTimeTimer: (time) => self.setTimer(time, 'event', true),
      deleteEventTimeTimer: (time) => self.setTimer(time, 'event', false),
    };
  }

  // --- the executor's side -------------------------------------------------

  /** The input about to be executed (null after): its key is read only if a state is touched. */
  setInput(input: KeyedInput | null, selector: KeySelector | null): void {
    this.input = input;
    this.selector = selector;
    this.key = undefined;
    this.keyGroup = -1;
  }

  get currentKey(): string | undefined {
    if (this.key === undefined && this.input !== null && this.selector !== null) this.resolve();
    return this.key;
  }

  private resolve(): void {
    this.key = keyString(this.input!.values, this.selector!.fieldIndexes);
  }

  /** The current key's group: hashed from the input only when first needed (a write to a key this task has not written). */
  private groupOf(): number {
    if (this.keyGroup < 0) this.keyGroup = keyGroupOf(this.selector!.hash(this.input!.values), this.options.maxParallelism);
    return this.keyGroup;
  }

  /** Remember the current key's group, for snapshots, the first time the key is written. */
  private remember(key: string): void {
    if (!this.keyGroups.has(key)) this.keyGroups.set(key, this.groupOf());
  }

  /** The current key and its group, or E_STATE_NO_KEY. */
  private current(state: string): string {
    if (this.key === undefined) {
      if (this.input !== null && this.selector !== null) this.resolve();
      else {
        throw new SquallError({
          code: 'E_STATE_NO_KEY',
          component: this.options.component,
          message: `bolt '${this.options.component}' used keyed state '${state}' outside a keyed input: keyed state is read and written in execute() of a fields-grouped input (the key is the grouping's fields) or in onTimer(); use withKey() elsewhere`,
        });
      }
    }
    return this.key!;
  }

  withKey<R>(key: string, fn: () => R): R {
    let kg = this.keyGroups.get(key);
    if (kg === undefined && typeof key === 'string' && this.options.hashKey !== undefined) {
      kg = keyGroupOf(this.options.hashKey(key), this.options.maxParallelism);
    }
    if (kg === undefined) {
      throw new SquallError({
        code: 'E_STATE_NO_KEY',
        component: this.options.component,
        message: `bolt '${this.options.component}' asked for key '${key}', which has no state in this task; withKey() reaches keys this task has seen (context.state.keys(name) lists them)`,
      });
    }
    const saved = [this.input, this.selector, this.key, this.keyGroup] as const;
    this.input = null;
    this.selector = null;
    this.key = key;
    this.keyGroup = kg;
    try {
      return fn();
    } finally {
      [this.input, this.selector, this.key, this.keyGroup] = saved;
    }
  }

  keys(state: string): string[] {
    const slot = this.slots.get(state);
    if (slot === undefined) throw this.undeclared(state);
    return [...slot.entries.keys()];
  }

  // --- declaring states ----------------------------------------------------

  private declare(name: string, kind: string, options: StateOptions | undefined): Slot {
    if (typeof name !== 'string' || name === '' || name.includes(KEY_SEPARATOR) || name.startsWith('__')) {
      throw new SquallError({
        code: 'E_STATE_BAD_NAME',
        component: this.options.component,
        message: `bolt '${this.options.component}' declared a state named ${JSON.stringify(name)}; a state name is a non-empty string that does not start with '__' or contain U+001F`,
      });
    }
    const ttl = options?.ttlMs ?? 0;
    if (typeof ttl !== 'number' || !(ttl >= 0) || !Number.isFinite(ttl)) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        component: this.options.component,
        message: `state '${name}' of bolt '${this.options.component}' has ttlMs ${String(ttl)}; give a positive number of ms, or leave it out for no expiry`,
      });
    }
    const old = this.slots.get(name);
    if (old !== undefined) {
      throw new SquallError({
        code: 'E_STATE_BAD_NAME',
        component: this.options.component,
        message: `bolt '${this.options.component}' declared state '${name}' twice (as ${old.kind} and ${kind}); declare each state once, in prepare()`,
      });
    }
    const slot = new Slot(name, kind, ttl);
    const back = this.restored.get(name);
    if (back !== undefined) {
      const now = this.options.now();
      for (const [key, [kg, value]] of back) {
        slot.entries.set(key, { value, written: now, epoch: -1 });
        this.keyGroups.set(key, kg);
      }
      this.restored.delete(name);
    }
    this.slots.set(name, slot);
    return slot;
  }

  private undeclared(state: string): SquallError {
    return new SquallError({
      code: 'E_STATE_BAD_NAME',
      component: this.options.component,
      message: `bolt '${this.options.component}' has no state '${state}'; declare it in prepare() (context.state.value('${state}'), map, list...)`,
    });
  }

  private read<T>(slot: Slot): T | undefined {
    const key = this.current(slot.name);
    const e = slot.entries.get(key);
    if (e === undefined) return undefined;
    if (slot.ttlMs > 0 && this.options.now() - e.written >= slot.ttlMs) {
      slot.entries.delete(key);
      slot.dirty.add(key);
      return undefined;
    }
    return e.value as T;
  }

  private write(slot: Slot, value: unknown): void {
    const key = this.current(slot.name);
    const e = slot.entries.get(key);
    const now = slot.ttlMs > 0 ? this.options.now() : 0;
    if (e === undefined) {
      this.remember(key);
      slot.entries.set(key, { value, written: now, epoch: this.epoch });
      slot.dirty.add(key);
      return;
    }
    e.value = value;
    e.written = now;
    // Into the dirty set once per key between two snapshots: the entry knows whether it is there already.
    if (e.epoch !== this.epoch) {
      e.epoch = this.epoch;
      slot.dirty.add(key);
    }
  }

  private remove(slot: Slot): void {
    const key = this.current(slot.name);
    if (slot.entries.delete(key)) slot.dirty.add(key);
  }

  value<T>(name: string, options?: StateOptions): ValueState<T> {
    const slot = this.declare(name, 'value', options);
    return {
      get: () => this.read<T>(slot),
      set: (value: T) => this.write(slot, value),
      clear: () => this.remove(slot),
    };
  }

  map<V>(name: string, options?: StateOptions): MapState<V> {
    const slot = this.declare(name, 'map', options);
    const self = this;
    const mapOf = (): Map<string, V> | undefined => self.read<Map<string, V>>(slot);
    return {
      get: (k) => mapOf()?.get(k),
      set(k, v) {
        const m = mapOf() ?? new Map<string, V>();
        m.set(k, v);
        self.write(slot, m);
      },
      has: (k) => mapOf()?.has(k) ?? false,
      delete(k) {
        const m = mapOf();
        if (m === undefined || !m.delete(k)) return false;
        if (m.size === 0) self.remove(slot);
        else self.write(slot, m);
        return true;
      },
      entries: () => [...(mapOf() ?? new Map<string, V>())],
      get size() {
        return mapOf()?.size ?? 0;
      },
      clear: () => this.remove(slot),
    };
  }

  list<T>(name: string, options?: StateOptions): ListState<T> {
    const slot = this.declare(name, 'list', options);
    return {
      get: () => [...(this.read<T[]>(slot) ?? [])],
      add: (value: T) => {
        const l = this.read<T[]>(slot) ?? [];
        l.push(value);
        this.write(slot, l);
      },
      update: (values: readonly T[]) => {
        if (values.length === 0) this.remove(slot);
        else this.write(slot, [...values]);
      },
      clear: () => this.remove(slot),
    };
  }

  reducing<T>(name: string, reduce: (a: T, b: T) => T, options?: StateOptions): ReducingState<T> {
    const slot = this.declare(name, 'reducing', options);
    return {
      get: () => this.read<T>(slot),
      add: (value: T) => {
        const old = this.read<T>(slot);
        this.write(slot, old === undefined ? value : reduce(old, value));
      },
      clear: () => this.remove(slot),
    };
  }

  aggregating<IN, ACC, OUT>(name: string, aggregator: Aggregator<IN, ACC, OUT>, options?: StateOptions): AggregatingState<IN, OUT> {
    const slot = this.declare(name, 'aggregating', options);
    return {
      get: () => {
        const acc = this.read<ACC>(slot);
        return acc === undefined ? undefined : aggregator.result(acc);
      },
      add: (value: IN) => {
        const acc = this.read<ACC>(slot) ?? aggregator.create();
        this.write(slot, aggregator.add(acc, value));
      },
      clear: () => this.remove(slot),
    };
  }

  // --- timers --------------------------------------------------------------

  private setTimer(time: number, domain: TimeDomain, on: boolean): void {
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw new SquallError({
        code: 'E_BAD_ARGUMENT',
        component: this.options.component,
        message: `a timer's time must be a finite number of ms; got ${String(time)}`,
      });
    }
    const key = this.current('timers');
    this.remember(key);
    const kg = this.keyGroups.get(key)!;
    const e = this.timerSlot.entries.get(key);
    const pair = (e?.value as [number[], number[]] | undefined) ?? [[], []];
    const list = domain === 'processing' ? pair[0] : pair[1];
    const at = list.indexOf(time);
    if (on === (at >= 0)) return;
    if (on) list.push(time);
    else list.splice(at, 1);
    if (pair[0].length === 0 && pair[1].length === 0) this.timerSlot.entries.delete(key);
    else this.timerSlot.entries.set(key, { value: pair, written: 0, epoch: -1 });
    this.timerSlot.dirty.add(key);
    if (on) this.queue({ time, key, keyGroup: kg, domain });
    if (domain === 'processing') this.armWake();
  }

  private queue(t: Timer): void {
    const q = t.domain === 'processing' ? this.processingTimers : this.eventTimers;
    // Sorted insert: timers are few next to tuples.
    let i = q.length;
    while (i > 0 && q[i - 1]!.time > t.time) i--;
    q.splice(i, 0, t);
  }

  private armWake(): void {
    const next = this.processingTimers[0]?.time ?? Infinity;
    if (next === this.wakeAt) return;
    this.cancelWake?.();
    this.cancelWake = null;
    this.wakeAt = next;
    if (next !== Infinity) this.cancelWake = this.options.schedule(next, () => {
      this.cancelWake = null;
      this.wakeAt = Infinity;
      this.onDue?.();
    });
  }

  /** True when a processing-time timer is due. */
  hasDueTimers(): boolean {
    const t = this.processingTimers[0];
    return t !== undefined && t.time <= this.options.now();
  }

  /** Fire the processing-time timers due now; returns how many fired. */
  fireProcessingTimers(): number {
    const n = this.fire(this.processingTimers, this.options.now(), 'processing');
    this.armWake();
    return n;
  }

  /** Move the event-time watermark and fire the event-time timers it passed. */
  advanceWatermark(watermark: number): number {
    if (!(watermark > this.watermark)) return 0;
    this.watermark = watermark;
    return this.fire(this.eventTimers, watermark, 'event');
  }

  private fire(q: Timer[], upTo: number, domain: TimeDomain): number {
    let n = 0;
    while (q.length > 0 && q[0]!.time <= upTo) {
      const t = q.shift()!;
      // Deleted since it was queued? The keyed entry is the truth.
      const e = this.timerSlot.entries.get(t.key);
      const pair = e?.value as [number[], number[]] | undefined;
      const list = pair === undefined ? undefined : domain === 'processing' ? pair[0] : pair[1];
      const at = list === undefined ? -1 : list.indexOf(t.time);
      if (at < 0) continue;
      list!.splice(at, 1);
      if (pair![0].length === 0 && pair![1].length === 0) this.timerSlot.entries.delete(t.key);
      this.timerSlot.dirty.add(t.key);
      n++;
      this.keyGroups.set(t.key, t.keyGroup);
      this.withKey(t.key, () => this.onTimer?.(t.time, domain));
    }
    return n;
  }

  // --- checkpoints ---------------------------------------------------------

  /** True when there is anything to write: a declared state or restored entries. */
  get hasState(): boolean {
    return this.slots.size > 1 || this.timerSlot.entries.size > 0 || this.restored.size > 0 || this.timerSlot.dirty.size > 0;
  }

  /**
   * What changed since the last snapshot, serialized now (so later writes
   * cannot reach it), and the changes forgotten. Entries past their time to
   * live are dropped (and written as deletes). `full` writes every entry.
   */
  snapshot(full: boolean): KeyedChanges {
    const out: KeyedChanges = { keyGroups: [], keys: [], values: [] };
    // Entries marked with the epoch before are not in the (cleared) dirty sets any more.
    this.epoch++;
    const now = this.options.now();
    for (const slot of this.slots.values()) {
      if (slot.ttlMs > 0) {
        for (const [key, e] of slot.entries) {
          if (now - e.written >= slot.ttlMs) {
            slot.entries.delete(key);
            slot.dirty.add(key);
          }
        }
      }
      const keys = full ? slot.entries.keys() : slot.dirty.values();
      for (const key of keys) {
        const e = slot.entries.get(key);
        out.keyGroups.push(this.keyGroups.get(key)!);
        out.keys.push(slot.name + KEY_SEPARATOR + key);
        out.values.push(e === undefined ? null : encodeValue(e.value));
      }
      slot.dirty.clear();
    }
    // Restored entries of states never declared again are kept as they are.
    if (full) {
      for (const [name, m] of this.restored) {
        for (const [key, [kg, value]] of m) {
          out.keyGroups.push(kg);
          out.keys.push(name + KEY_SEPARATOR + key);
          out.values.push(encodeValue(value));
        }
      }
    }
    return out;
  }

  /** Load entries read from a checkpoint (before prepare): a state takes its entries when it is declared. */
  restore(keyGroup: number, storeKeys: readonly string[], values: readonly Uint8Array[]): void {
    for (let i = 0; i < storeKeys.length; i++) {
      const sk = storeKeys[i]!;
      const cut = sk.indexOf(KEY_SEPARATOR);
      if (cut < 0) continue;
      const name = sk.slice(0, cut);
      const key = sk.slice(cut + 1);
      const value = decodeValue(values[i]!);
      this.keyGroups.set(key, keyGroup);
      if (name === TIMERS_STATE) {
        const pair = value as [number[], number[]];
        this.timerSlot.entries.set(key, { value: pair, written: 0, epoch: -1 });
        for (const time of pair[0]) this.queue({ time, key, keyGroup, domain: 'processing' });
        for (const time of pair[1]) this.queue({ time, key, keyGroup, domain: 'event' });
        continue;
      }
      let m = this.restored.get(name);
      if (m === undefined) this.restored.set(name, (m = new Map()));
      m.set(key, [keyGroup, value]);
    }
  }

  /** After restoring: arm the processing-time timers. */
  restored$(): void {
    this.armWake();
  }

  /** Stop the timer wake-up (the task is stopping). */
  close(): void {
    this.cancelWake?.();
    this.cancelWake = null;
  }
}

/**
 * The key of an input as a string: one string field is the key itself;
 * anything else is the JSON of the key fields, behind U+0001 so it never
 * equals a string key.
 */
export function keyString(values: readonly unknown[], fieldIndexes: readonly number[]): string {
  if (fieldIndexes.length === 1) {
    const v = values[fieldIndexes[0]!];
    if (typeof v === 'string' && v.charCodeAt(0) !== 1) return v;
  }
  const parts: unknown[] = [];
  for (let i = 0; i < fieldIndexes.length; i++) {
    const v = values[fieldIndexes[i]!];
    parts.push(typeof v === 'bigint' ? `${v}n` : v);
  }
  return '\u0001' + JSON.stringify(parts);
}
