/**
 * The checkpoint coordinator, on the main thread: starts checkpoint n at
 * the spouts, collects every task's part, writes the checkpoint with its
 * metadata to the state store in one commit, then tells every task it is
 * complete (commit hooks). One checkpoint is in flight at a time; one that
 * is not complete within checkpointTimeoutMs, or that a task declines, is
 * aborted and reported, and the next starts at the next interval.
 *
 * And recovery: what each task of a plan restores from the newest
 * completed checkpoint, redistributed by key group when a component's
 * parallelism changed. See docs/state.md.
 */
import { SquallError } from '../errors/index.ts';
import type { CheckpointEvent, RestoredKeyGroup, TaskRestore, TaskSnapshot } from '../kernel/index.ts';
import type { Plan } from '../scheduler/index.ts';
import { keyGroupRangeOf } from '../state/index.ts';
import type { CheckpointWriter, StateStore } from '../state/index.ts';
import type { Topology } from '../topology/index.ts';
import type { Clock } from './clock.ts';

/** What the runtime keeps in a checkpoint's metadata. */
export interface CheckpointMeta {
  readonly format: 1;
  readonly topology: string;
  readonly maxParallelism: number;
  readonly components: { readonly [id: string]: ComponentMeta };
  /** Wall-clock time the checkpoint completed (ms since the epoch), for people. */
  readonly completedAt: number;
  /** The watermark each task had sent at its snapshot, by component and task index (event time only). */
  readonly watermarks?: { readonly [component: string]: { readonly [taskIndex: string]: number } };
}

export interface ComponentMeta {
  readonly kind: 'spout' | 'bolt';
  readonly parallelism: number;
  /** Has written keyed state (in this checkpoint or one it builds on). */
  readonly keyed: boolean;
  /** Has written operator state. */
  readonly operator: boolean;
  /** The fields its keyed inputs are grouped by ("component:stream(field,…)"), sorted: keyed state is only valid under the same key. */
  readonly keyedBy: readonly string[];
}

/** Checkpoint figures for metrics and the summary. */
export interface CheckpointStats {
  readonly completed: number;
  readonly aborted: number;
  /** The newest completed checkpoint (0: none yet; a restored run starts from the one it restored). */
  readonly lastCompletedId: number;
  /** The checkpoint in flight, or null. */
  readonly inFlight: number | null;
  /** Trigger to durable, of the last completed checkpoint, ms. */
  readonly lastDurationMs: number;
  /** Keyed entries (changes) written by the last completed checkpoint. */
  readonly lastEntries: number;
  /** Durations of completed checkpoints, ms, the newest 256. */
  readonly durationsMs: readonly number[];
  /** Why the last aborted checkpoint was aborted. */
  readonly lastAbortReason: string | null;
  /** The checkpoint this run restored from at its start or last rollback (null: none). */
  readonly restoredFrom: number | null;
  /** Times the run rolled back to a checkpoint after a crashed thread. */
  readonly rollbacks?: number;
}

export interface CoordinatorOptions {
  store: StateStore;
  topology: Topology;
  clock: Clock;
  /** Start checkpoint n at every spout task. */
  trigger(n: number): void;
  /** Tell every task that n completed (true) or was aborted (false). */
  notify(n: number, complete: boolean): void;
  /** Report an aborted checkpoint or a failed commit. */
  onError(error: SquallError): void;
}

interface InFlight {
  readonly id: number;
  readonly writer: CheckpointWriter;
  readonly startedAt: number;
  readonly waiting: Set<number>;
  readonly operator: Set<string>;
  readonly keyed: Set<string>;
  readonly watermarks: { [component: string]: { [taskIndex: string]: number } };
  entries: number;
  cancelTimeout: () => void;
  committing: boolean;
  aborting: boolean;
}

export class CheckpointCoordinator {
  private plan: Plan | null = null;
  private lastId = 0;
  /** The checkpoint the next one builds on (its deltas apply to it). */
  private base: number | null = null;
  private current: InFlight | null = null;
  /** The commit or abort of the checkpoint in flight, once one began: what stop() waits for. */
  private closing: Promise<void> | null = null;
  private cancelTimer: (() => void) | null = null;
  private completed = 0;
  private aborted = 0;
  private lastCompletedId = 0;
  private lastDurationMs = 0;
  private lastEntries = 0;
  private readonly durations: number[] = [];
  private lastAbortReason: string | null = null;
  private restoredFrom: number | null = null;
  /** Component facts carried from the checkpoint built on. */
  private carried: { [id: string]: ComponentMeta } = {};
  private readonly waiters: { id: number; resolve: (ok: boolean) => void }[] = [];
  private stopped = false;

  constructor(private readonly options: CoordinatorOptions) {}

  /** The newest completed checkpoint of the store, as restored from; checkpoints go on from it. */
  resumeFrom(latest: { id: number; meta: CheckpointMeta | null; skipped?: readonly number[] } | null): void {
    if (latest === null) return;
    // Ids go on above every checkpoint the store has, corrupt ones passed over included.
    this.lastId = Math.max(this.lastId, latest.id, ...(latest.skipped ?? []));
    this.base = latest.id;
    this.lastCompletedId = latest.id;
    this.restoredFrom = latest.id;
    this.carried = latest.meta !== null ? { ...latest.meta.components } : {};
  }

  /** Restore nothing: the next checkpoint is a full one, depending on none. */
  startFresh(): void {
    this.base = null;
    this.carried = {};
    this.restoredFrom = null;
  }

  /** The plan whose tasks take part (a rebalance or rollback brings a new one). */
  attach(plan: Plan): void {
    this.plan = plan;
  }

  /** Start checkpointing every intervalMs. */
  start(): void {
    this.stopped = false;
    const interval = this.options.topology.config.checkpointIntervalMs;
    if (interval > 0 && this.cancelTimer === null) this.cancelTimer = this.options.clock.every(interval, () => this.trigger());
  }

  /** Stop triggering, abort what is in flight (without notifying tasks: they are stopping). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    const c = this.current;
    if (c !== null && !c.committing && !c.aborting) {
      this.current = null;
      c.cancelTimeout();
      await c.writer.abort().catch(() => {});
      this.settleWaiters(c.id, false);
    }
    // A commit (or an abort) in flight finishes: it is durable or it is not; either way the store stays whole.
    await this.closing?.catch(() => {});
  }

  stats(): CheckpointStats {
    return {
      completed: this.completed,
      aborted: this.aborted,
      lastCompletedId: this.lastCompletedId,
      inFlight: this.current?.id ?? null,
      lastDurationMs: this.lastDurationMs,
      lastEntries: this.lastEntries,
      durationsMs: [...this.durations],
      lastAbortReason: this.lastAbortReason,
      restoredFrom: this.restoredFrom,
    };
  }

  /**
   * Start checkpoint n now, unless one is in flight. Returns its id, or
   * null when one was already in flight.
   */
  trigger(): number | null {
    if (this.current !== null || this.stopped || this.plan === null) return null;
    const id = ++this.lastId;
    let writer: CheckpointWriter;
    try {
      writer = this.options.store.begin(id, { base: this.base });
    } catch (err) {
      this.options.onError(asError(err, `checkpoint ${id} could not begin`));
      return null;
    }
    const waiting = new Set<number>();
    const tasks = this.plan.tasks;
    for (let t = 1; t < tasks.length; t++) if (this.options.topology.components.has(tasks[t]!.component)) waiting.add(t);
    const c: InFlight = {
      id,
      writer,
      startedAt: this.options.clock.now(),
      waiting,
      operator: new Set(),
      keyed: new Set(),
      watermarks: {},
      entries: 0,
      cancelTimeout: () => {},
      committing: false,
      aborting: false,
    };
    this.current = c;
    const timeout = this.options.topology.config.checkpointTimeoutMs;
    c.cancelTimeout = this.options.clock.after(timeout, () => {
      if (this.current === c && !c.committing && !c.aborting) {
        const late = [...c.waiting].map((t) => `${this.plan!.tasks[t]!.component}[${t}]`);
        this.closing = this.abort(c, `not complete within checkpointTimeoutMs (${timeout} ms); still waiting for ${late.slice(0, 8).join(', ')}${late.length > 8 ? ` and ${late.length - 8} more` : ''}`);
      }
    });
    this.options.trigger(id);
    return id;
  }

  /**
   * Trigger a checkpoint (or wait for the one in flight, then trigger) and
   * resolve with its id once it is complete; rejects if it is aborted.
   */
  async checkpointNow(): Promise<number> {
    for (;;) {
      if (this.stopped) throw new SquallError({ code: 'E_BAD_STATE', message: 'the checkpoint coordinator is stopped' });
      const inFlight = this.current?.id;
      if (inFlight !== undefined) {
        await this.waitFor(inFlight);
        continue;
      }
      const id = this.trigger();
      if (id === null) throw new SquallError({ code: 'E_CHECKPOINT_ABORTED', message: 'could not start a checkpoint (see the errors reported)' });
      if (await this.waitFor(id)) return id;
      throw new SquallError({ code: 'E_CHECKPOINT_ABORTED', message: `checkpoint ${id} was aborted: ${this.lastAbortReason ?? 'unknown reason'}` });
    }
  }

  private waitFor(id: number): Promise<boolean> {
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  private settleWaiters(id: number, ok: boolean): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.id === id) {
        this.waiters[i]!.resolve(ok);
        this.waiters.splice(i, 1);
      }
    }
  }

  /** A task's part, or its decline. */
  onEvent(e: CheckpointEvent): void {
    const c = this.current;
    if (e.t === 'decline') {
      if (c !== null && c.id === e.decline.checkpointId && !c.committing && !c.aborting) {
        this.closing = this.abort(c, `task ${e.decline.taskId} of '${e.decline.component}' declined it: ${e.decline.reason}`);
      }
      return;
    }
    const s = e.snapshot;
    // A late part of an aborted checkpoint: nothing waits for it.
    if (c === null || c.id !== s.checkpointId || c.committing || c.aborting || !c.waiting.has(s.taskId)) return;
    try {
      this.write(c, s);
    } catch (err) {
      this.closing = this.abort(c, `writing the state of task ${s.taskId} of '${s.component}' failed: ${describe(err)}`);
      return;
    }
    c.waiting.delete(s.taskId);
    if (c.waiting.size === 0) this.closing = this.complete(c);
  }

  private write(c: InFlight, s: TaskSnapshot): void {
    const w = c.writer;
    if (s.keyed !== null) {
      c.keyed.add(s.component);
      const { keyGroups, keys, values } = s.keyed;
      for (let i = 0; i < keys.length; i++) {
        const v = values[i];
        if (v === null || v === undefined) w.deleteKeyed(s.component, keyGroups[i]!, keys[i]!);
        else w.putKeyed(s.component, keyGroups[i]!, keys[i]!, v);
      }
      c.entries += keys.length;
    }
    if (s.operator !== null) {
      c.operator.add(s.component);
      w.putOperator(s.component, s.taskIndex, s.operator);
    }
    if (Number.isFinite(s.watermark)) {
      (c.watermarks[s.component] ??= {})[String(s.taskIndex)] = s.watermark;
    }
  }

  private async complete(c: InFlight): Promise<void> {
    c.committing = true;
    c.cancelTimeout();
    const meta = this.metadata(c);
    try {
      await c.writer.commit(meta as unknown as Record<string, unknown>);
    } catch (err) {
      c.committing = false;
      await this.abort(c, `the commit to the ${this.options.store.kind} store at ${this.options.store.location} failed: ${describe(err)}`);
      return;
    }
    this.current = null;
    this.base = c.id;
    this.carried = { ...meta.components };
    this.completed++;
    this.lastCompletedId = c.id;
    this.lastEntries = c.entries;
    this.lastDurationMs = this.options.clock.now() - c.startedAt;
    this.durations.push(this.lastDurationMs);
    if (this.durations.length > 256) this.durations.shift();
    this.settleWaiters(c.id, true);
    if (!this.stopped) this.options.notify(c.id, true);
  }

  /**
   * Give checkpoint c up: reported and told to the tasks at once (aligning
   * tasks let their input go), then its writer's staged data dropped; the
   * next checkpoint can begin once that is done.
   */
  private async abort(c: InFlight, reason: string): Promise<void> {
    if (this.current !== c || c.aborting) return;
    c.aborting = true;
    c.cancelTimeout();
    this.aborted++;
    this.lastAbortReason = reason;
    this.options.onError(new SquallError({ code: 'E_CHECKPOINT_ABORTED', details: { checkpoint: c.id }, message: `checkpoint ${c.id} aborted: ${reason}` }));
    if (!this.stopped) this.options.notify(c.id, false);
    await c.writer.abort().catch(() => {});
    this.current = null;
    this.settleWaiters(c.id, false);
  }

  private metadata(c: InFlight): CheckpointMeta {
    const { topology } = this.options;
    const plan = this.plan!;
    const components: { [id: string]: ComponentMeta } = {};
    for (const def of topology.components.values()) {
      const before = this.carried[def.id];
      components[def.id] = {
        kind: def.kind,
        parallelism: plan.componentTasks.get(def.id)!.length,
        keyed: c.keyed.has(def.id) || (before?.keyed ?? false),
        operator: c.operator.has(def.id) || (before?.operator ?? false),
        keyedBy: keyedBy(topology, def.id),
      };
    }
    return {
      format: 1,
      topology: topology.name,
      maxParallelism: topology.config.maxParallelism,
      components,
      completedAt: Date.now(),
      ...(Object.keys(c.watermarks).length > 0 ? { watermarks: c.watermarks } : {}),
    };
  }
}

/** The fields a component's keyed inputs are grouped by, as recorded in checkpoints. */
export function keyedBy(topology: Topology, component: string): string[] {
  const def = topology.components.get(component)!;
  const out: string[] = [];
  for (const i of def.inputs) if (i.grouping.type === 'fields') out.push(`${i.component}:${i.stream}(${i.grouping.fields.join(',')})`);
  return out.sort();
}

export interface RestoreOptions {
  /** Drop the state of components the topology no longer has (else E_STATE_UNKNOWN_COMPONENT). */
  dropUnknown?: boolean;
  /** Restore the newest checkpoint that verifies, passing over corrupt newer ones (else E_STATE_CORRUPT). */
  skipCorrupt?: boolean;
}

/** A checkpoint to restore: its id, metadata, and what each task of the plan gets. */
export interface RestorePoint {
  readonly id: number;
  readonly meta: CheckpointMeta;
  /** Newer checkpoints passed over as corrupt (skipCorrupt). */
  readonly skipped?: readonly number[];
}

/**
 * Read the newest completed checkpoint of the store and check that the
 * topology can restore it: null when there is none. E_STATE_INCOMPATIBLE
 * when maxParallelism or a component's keying changed;
 * E_STATE_UNKNOWN_COMPONENT for the state of a component the topology no
 * longer has, unless dropUnknown (then it is dropped from the store).
 */
export async function findRestorePoint(store: StateStore, topology: Topology, options: RestoreOptions = {}): Promise<RestorePoint | null> {
  const latest = await store.latest({ skipCorrupt: options.skipCorrupt === true });
  if (latest === null) return null;
  const meta = latest.metadata as unknown as CheckpointMeta;
  if (meta.format !== 1 || typeof meta.components !== 'object') {
    throw new SquallError({
      code: 'E_STATE_INCOMPATIBLE',
      message: `checkpoint ${latest.id} in ${store.location} was not written by this version of squall's checkpoints (no format 1 metadata); point the run at another state directory or store`,
    });
  }
  if (meta.maxParallelism !== topology.config.maxParallelism) {
    throw new SquallError({
      code: 'E_STATE_INCOMPATIBLE',
      message: `checkpoint ${latest.id} in ${store.location} has ${meta.maxParallelism} key groups (maxParallelism) and the topology asks for ${topology.config.maxParallelism}; keyed state cannot move to another number of key groups: set maxParallelism back to ${meta.maxParallelism}, or start from empty state elsewhere`,
    });
  }
  for (const [id, c] of Object.entries(meta.components)) {
    const def = topology.components.get(id);
    if (def === undefined) {
      if (!c.keyed && !c.operator) continue;
      if (options.dropUnknown === true) {
        await store.dropComponent(id);
        continue;
      }
      throw new SquallError({
        code: 'E_STATE_UNKNOWN_COMPONENT',
        component: id,
        message: `checkpoint ${latest.id} in ${store.location} holds state of component '${id}', which topology '${topology.name}' no longer has; rename the component back, or drop its state on purpose (squall run --drop-unknown-state, or submit(..., { state: { dropUnknown: true } }))`,
      });
    }
    if (c.keyed) {
      const now = keyedBy(topology, id);
      if (now.join(';') !== c.keyedBy.join(';')) {
        throw new SquallError({
          code: 'E_STATE_INCOMPATIBLE',
          component: id,
          message: `the keyed state of '${id}' in checkpoint ${latest.id} was keyed by ${c.keyedBy.join(', ') || 'nothing'} and the topology now groups its input by ${now.join(', ') || 'nothing'}; keys would land on the wrong tasks: restore the grouping, or rename the component to start its state afresh (and drop the old one)`,
        });
      }
    }
  }
  // The metadata read again after a drop.
  const after = options.dropUnknown === true ? ((await store.latest({ skipCorrupt: options.skipCorrupt === true }))?.metadata as unknown as CheckpointMeta | undefined) ?? meta : meta;
  return { id: latest.id, meta: after, skipped: latest.skipped.map((s) => s.id) };
}

/** What every task of `plan` restores from `point`: keyed state by its key-group range, operator state of its component. */
export async function loadRestore(store: StateStore, topology: Topology, plan: Plan, point: RestorePoint): Promise<Map<number, TaskRestore>> {
  const out = new Map<number, TaskRestore>();
  const max = topology.config.maxParallelism;
  for (const def of topology.components.values()) {
    const c = point.meta.components[def.id];
    if (c === undefined) continue;
    const tasks = plan.componentTasks.get(def.id)!;
    const operator = c.operator ? (await store.readOperator(point.id, def.id)).map((o) => ({ taskIndex: o.taskIndex, value: o.value })) : [];
    for (let i = 0; i < tasks.length; i++) {
      const keyed: RestoredKeyGroup[] = [];
      if (c.keyed) {
        const range = keyGroupRangeOf(i, tasks.length, max);
        for await (const b of store.readKeyed(point.id, def.id, range.start, range.end)) {
          // Copy out of shared buffers: the batch may be a view the store reuses.
          keyed.push({ keyGroup: b.keyGroup, keys: [...b.keys], values: b.values.map((v) => v.slice()) });
        }
      }
      const marks = point.meta.watermarks?.[def.id];
      let watermark = -Infinity;
      if (marks !== undefined) {
        const own = marks[String(i)];
        // The same tasks: each goes on from its own; another parallelism: from the least, so nothing turns late.
        watermark = tasks.length === c.parallelism && own !== undefined ? own : Math.min(...Object.values(marks));
      }
      out.set(tasks[i]!, { checkpointId: point.id, keyed, operator, previousParallelism: c.parallelism, watermark });
    }
  }
  return out;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function asError(err: unknown, what: string): SquallError {
  if (err instanceof SquallError) return err;
  return new SquallError({ code: 'E_STATE_UNAVAILABLE', message: `${what}: ${describe(err)}` }, { cause: err });
}
