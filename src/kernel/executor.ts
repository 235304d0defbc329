import type { Plan } from '../scheduler/index.ts';
import type { ComponentDef, Topology, TopologyConfig } from '../topology/index.ts';
import type { TopologyContext } from '../topology/index.ts';
import { SquallError } from '../errors/index.ts';
import { serialize, deserialize } from 'node:v8';
import type { CheckpointHooks } from '../state/index.ts';
import type { HostLink } from './host-link.ts';
import { KeyedHolder } from './checkpoint.ts';
import type { TaskRestore } from './checkpoint.ts';
import { BARRIER_DESC, Tuple, WATERMARK_DESC } from '../tuple/index.ts';
import { Mailbox } from './mailbox.ts';
import { ackerTaskFor } from '../acker/index.ts';
import { Histogram } from './histogram.ts';
import { TRACE_BIT, TRACK_HOLD } from './messages.ts';
import type { OutStream } from './outputs.ts';
import { TrackOutbox } from './track-outbox.ts';

/**
 * An executor is an actor: it owns one task's state and mailbox and handles
 * one message at a time. The host calls `runSlice` to let it work through a
 * bounded number of messages, sized from the task's measured cost per
 * message so that every task gets a fair share of time, not of messages.
 * Tracking records it produces go out in batches at the end of the slice.
 */
export abstract class Executor<M> {
  readonly mailbox: Mailbox<M>;
  /** Mailboxes of the local tasks this task emits to, and links to the hosts of remote ones: a full one holds it back. */
  downstream: { hasRoom(): boolean }[] = [];
  /** Emit calls. */
  emitted = 0;
  /** Tuples delivered to tasks (an emit to three tasks counts three). */
  transferred = 0;
  executed = 0;
  acked = 0;
  failed = 0;
  /** Sampled execute times (bolts): their sum and count, and their distribution. */
  sampledMs = 0;
  samples = 0;
  readonly executeLatency = new Histogram();
  /** Stuck detection (bolts): acked + failed at the last check that saw it change, and when (topology clock). */
  private ackMark = -1;
  private ackMarkAt = 0;
  /** When the task was last seen acking (it has acked nothing since, with input waiting), or -1: not stuck. */
  private stuckSince = -1;
  /** Outgoing tracking records, flushed at the end of each slice. */
  readonly track: TrackOutbox;
  /** The host's estimate of what one message (or nextTuple call) costs this task, in ms. */
  msPerMessage = 0.001;
  /** Every task of every subscriber, once: where this task's checkpoint barriers go. */
  barrierTargets: readonly number[] = [];
  /** What this task restores from when it starts (null: a fresh start). */
  restore: TaskRestore | null = null;
  /** A snapshotState promise is pending: the task takes no input until it settles. */
  paused = false;
  /** The checkpoint whose snapshotState promise the task waits for (0: none). */
  private pausedFor = 0;
  /** Checkpoints taken and declined by this task. */
  checkpoints = 0;
  checkpointsDeclined = 0;
  /** The task's keyed state (made on first use of context.state). */
  keyed: KeyedHolder;

  constructor(
    readonly taskId: number,
    readonly component: string,
    readonly kind: 'spout' | 'bolt' | 'acker',
    protected readonly host: HostLink,
    capacity: number,
  ) {
    this.mailbox = new Mailbox<M>(capacity);
    this.track = new TrackOutbox(host, host.taskCount);
    this.keyed = new KeyedHolder(component, host.maxParallelism, host.clock);
    this.keyed.onDue = () => host.wakeUp();
  }

  /** The user's instance, once started: its checkpoint hooks. */
  protected abstract hooks(): CheckpointHooks | null;

  /**
   * Restore into a freshly made instance, before open/prepare: keyed
   * entries into the state backend, operator state through restoreState.
   */
  protected async restoreInto(instance: CheckpointHooks, taskIndex: number): Promise<void> {
    const r = this.restore;
    if (r === null) return;
    if (r.keyed.length > 0) {
      const backend = this.keyed.get();
      for (const g of r.keyed) backend.restore(g.keyGroup, g.keys, g.values);
    }
    if (instance.restoreState === undefined) return;
    const all = r.operator.map((o) => ({ taskIndex: o.taskIndex, value: deserialize(o.value) as unknown }));
    const own = all.find((o) => o.taskIndex === taskIndex)?.value;
    try {
      await instance.restoreState({ checkpointId: r.checkpointId, own, all, previousParallelism: r.previousParallelism });
    } catch (err) {
      throw new SquallError(
        {
          code: err instanceof SquallError ? err.code : 'E_COMPONENT_THREW',
          component: this.component,
          message: `${this.kind} '${this.component}' (task ${this.taskId}) threw in restoreState() restoring checkpoint ${r.checkpointId}: ${describe(err)}`,
        },
        { cause: err },
      );
    }
  }

  /** After open/prepare: restored timers start running. */
  protected afterStart(): void {
    this.keyed.backend?.restored$();
    this.restore = null;
  }

  /**
   * Take this task's part of checkpoint n: the operator state
   * snapshotState returns, then its changed keyed state (with what
   * snapshotState wrote to it); report it, then call `then`
   * (which forwards the barrier). A promise from snapshotState pauses the
   * task until it settles. A throw, a rejection or a value that cannot be
   * serialized declines the checkpoint (it is aborted and reported).
   */
  protected snapshot(n: number, then: () => void): void {
    const hooks = this.hooks();
    let value: unknown;
    try {
      value = hooks?.snapshotState?.(n);
    } catch (err) {
      this.decline(n, `snapshotState threw: ${describe(err)}`);
      then();
      return;
    }
    // After snapshotState's synchronous part (keyed state it writes is in this checkpoint), before any input.
    const keyedChanges = this.keyed.backend !== null ? this.keyed.backend.snapshot(false) : null;
    if (value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function') {
      this.paused = true;
      this.pausedFor = n;
      // Settled after the checkpoint was aborted (checkpointAborted unpaused the task): too late, ignored.
      (value as PromiseLike<unknown>).then(
        (v) => {
          if (this.pausedFor !== n) return;
          this.unpause();
          this.finishSnapshot(n, keyedChanges, v);
          then();
        },
        (err: unknown) => {
          if (this.pausedFor !== n) return;
          this.unpause();
          this.decline(n, `snapshotState rejected: ${describe(err)}`);
          then();
        },
      );
      return;
    }
    this.finishSnapshot(n, keyedChanges, value);
    then();
  }

  private finishSnapshot(n: number, keyedChanges: ReturnType<NonNullable<KeyedHolder['backend']>['snapshot']> | null, value: unknown): void {
    let operator: Uint8Array | null = null;
    if (value !== undefined) {
      try {
        operator = serialize(value);
      } catch (err) {
        this.decline(n, `snapshotState returned a value that cannot be serialized (${describe(err)}); return plain data (numbers, strings, arrays, objects, Maps, Buffers)`);
        return;
      }
    }
    this.checkpoints++;
    const info = this.host.taskInfo(this.taskId);
    this.host.checkpointEvent({
      t: 'ack',
      snapshot: { checkpointId: n, taskId: this.taskId, component: this.component, taskIndex: info.taskIndex, keyed: keyedChanges, operator, watermark: this.watermarkOut },
    });
  }

  protected decline(n: number, reason: string): void {
    this.checkpointsDeclined++;
    this.host.checkpointEvent({ t: 'decline', decline: { checkpointId: n, taskId: this.taskId, component: this.component, reason } });
  }

  /** Send barrier n to every task downstream, in order with this task's tuples. */
  protected forwardBarrier(n: number): void {
    const targets = this.barrierTargets;
    for (let i = 0; i < targets.length; i++) this.host.deliver(targets[i]!, new Tuple([n], BARRIER_DESC, this.taskId));
  }

  /** Time back-pressured so far (ms), and since when it is now (-1: it is not). */
  private backPressuredMs = 0;
  private backPressuredSince = -1;

  /**
   * Once a slice: was the task held back by a full task downstream while it
   * had work? Reads the clock only when that changes.
   */
  protected noteBackPressure(blocked: boolean): void {
    if (blocked === this.backPressuredSince >= 0) return;
    const now = performance.now();
    if (blocked) this.backPressuredSince = now;
    else {
      this.backPressuredMs += now - this.backPressuredSince;
      this.backPressuredSince = -1;
    }
  }

  /** Time back-pressured up to now, ms. */
  backPressuredNow(): number {
    return this.backPressuredMs + (this.backPressuredSince >= 0 ? performance.now() - this.backPressuredSince : 0);
  }

  /** The last watermark this task sent downstream, and whether it said idle. */
  watermarkOut = -Infinity;
  idleOut = false;

  /** Send a watermark downstream (never backwards), in order with this task's tuples. */
  protected forwardWatermark(time: number, idle: boolean): void {
    if (time < this.watermarkOut || (time === this.watermarkOut && idle === this.idleOut)) return;
    this.watermarkOut = time;
    this.idleOut = idle;
    const targets = this.barrierTargets;
    const v = [time, idle ? 1 : 0];
    for (let i = 0; i < targets.length; i++) this.host.deliver(targets[i]!, new Tuple(v, WATERMARK_DESC, this.taskId));
  }

  /** Checkpoint n is durable: commit hooks. */
  checkpointComplete(n: number): void {
    const hooks = this.hooks();
    if (hooks?.notifyCheckpointComplete === undefined) return;
    this.callHook(() => hooks.notifyCheckpointComplete!(n));
  }

  private unpause(): void {
    this.paused = false;
    this.pausedFor = 0;
    this.host.wakeUp();
  }

  /** Checkpoint n was given up: a task still waiting for its snapshotState goes on without it. */
  checkpointAborted(n: number): void {
    if (this.paused && this.pausedFor <= n) this.unpause();
    const hooks = this.hooks();
    if (hooks?.notifyCheckpointAborted === undefined) return;
    this.callHook(() => hooks.notifyCheckpointAborted!(n));
  }

  private callHook(fn: () => void | Promise<void>): void {
    try {
      const r = fn();
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, (err: unknown) => this.host.reportError(this.component, this.taskId, err));
    } catch (err) {
      this.host.reportError(this.component, this.taskId, err);
    }
  }

  /** Work through at most `budget` messages or emits; return how many. */
  abstract runSlice(budget: number): number;
  /** Create the user instance and open/prepare it. */
  abstract start(): Promise<void>;
  /** Close/cleanup the user instance. */
  abstract stop(): Promise<void>;

  /**
   * Build the user's instance with `make`, then open or prepare it with
   * `init`, turning a throw into an error that names the component: the
   * factory's as E_BAD_FACTORY, open/prepare's as E_COMPONENT_THREW (a
   * SquallError of the user's own keeps its code). The same in local and
   * threaded mode.
   */
  protected async startInstance<T>(make: () => T, phase: string, init: (instance: T) => void | Promise<void>): Promise<T> {
    let instance: T;
    try {
      instance = make();
    } catch (err) {
      throw new SquallError(
        {
          code: 'E_BAD_FACTORY',
          component: this.component,
          message: `the factory of ${this.kind} '${this.component}' threw when task ${this.taskId} started: ${describe(err)}; a factory should only construct the component (open connections in open()/prepare())`,
        },
        { cause: err },
      );
    }
    try {
      await init(instance);
    } catch (err) {
      if (err instanceof SquallError && err.component !== undefined) throw err;
      throw new SquallError(
        {
          code: err instanceof SquallError ? err.code : 'E_COMPONENT_THREW',
          component: this.component,
          message: `${this.kind} '${this.component}' (task ${this.taskId}) threw in ${phase}(): ${describe(err)}`,
          // A coded error keeps what it says in its details (E_KAFKA_UNREACHABLE: the brokers tried).
          details: err instanceof SquallError ? err.details : undefined,
        },
        { cause: err },
      );
    }
    return instance;
  }

  /** One sampled execute time (ms): its mean and its histogram. */
  protected executeSample(ms: number): void {
    this.sampledMs += ms;
    this.samples++;
    this.executeLatency.recordMs(ms);
  }

  /**
   * Tell the acker of each traced root of `t` that `target` now holds it
   * (TRACK_HOLD; see src/acker/trace.ts). Called only for a tuple whose
   * first root is traced: a tuple of several trees has a traced root first
   * when it has one (tracedRootFirst).
   */
  protected traceHold(target: number, t: Tuple): void {
    const ackers = this.host.ackerTasks;
    this.track.add(ackerTaskFor(t.rootLo, t.rootHi, ackers), TRACK_HOLD, target, t.rootLo, t.rootHi, t.idLo, this.taskId);
    const more = t.more;
    if (more === null) return;
    for (let i = 0; i < more.length; i += 4) {
      if ((more[i]! & TRACE_BIT) !== 0) this.track.add(ackerTaskFor(more[i]!, more[i + 1]!, ackers), TRACK_HOLD, target, more[i]!, more[i + 1]!, more[i + 2]!, this.taskId);
    }
  }

  /**
   * Stuck detection, called by the host on each timeout rotation (every
   * messageTimeoutMs / 2 of the topology clock): a task that has input (a
   * message in its mailbox, or an input executed and neither acked nor
   * failed) and has acked nothing for messageTimeoutMs is stuck.
   */
  checkStuck(now: number, timeoutMs: number): void {
    const settled = this.acked + this.failed;
    if (settled !== this.ackMark) {
      this.ackMark = settled;
      this.ackMarkAt = now;
      this.stuckSince = -1;
      return;
    }
    const hasInput = this.mailbox.size > 0 || this.executed > settled;
    if (!hasInput) this.stuckSince = -1;
    else if (this.stuckSince < 0 && now - this.ackMarkAt >= timeoutMs) this.stuckSince = this.ackMarkAt;
  }

  /** How long (ms) the task has acked nothing while it had input, when it is stuck; -1 when it is not (or acked since the last check). */
  stuckForMs(): number {
    if (this.stuckSince < 0 || this.acked + this.failed !== this.ackMark) return -1;
    return Math.max(0, this.host.clock.now() - this.stuckSince);
  }

  downstreamHasRoom(): boolean {
    const d = this.downstream;
    for (let i = 0; i < d.length; i++) if (!d[i]!.hasRoom()) return false;
    return true;
  }
}

/**
 * A tuple of several trees built from `ids` ([rootLo, rootHi, idLo, idHi]
 * per root): move a traced root to the front, so that one test of the first
 * root tells whether the tuple needs hold records.
 */
export function tracedRootFirst(ids: number[]): void {
  if ((ids[0]! & TRACE_BIT) !== 0) return;
  for (let i = 4; i < ids.length; i += 4) {
    if ((ids[i]! & TRACE_BIT) === 0) continue;
    for (let k = 0; k < 4; k++) {
      const x = ids[k]!;
      ids[k] = ids[i + k]!;
      ids[i + k] = x;
    }
    return;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function makeContext(
  topology: Topology,
  plan: Plan,
  def: ComponentDef,
  taskId: number,
  runId: string,
  host: HostLink,
  outputs: Map<string, OutStream>,
  keyed: KeyedHolder,
): TopologyContext {
  const config: Readonly<Record<string, unknown>> = Object.freeze({ ...topology.config, ...def.config } as TopologyConfig);
  return {
    topologyName: topology.name,
    runId,
    componentId: def.id,
    taskId,
    taskIndex: plan.tasks[taskId]!.index,
    componentTasks: plan.componentTasks.get(def.id)!,
    config,
    clock: host.clock,
    random: host.random,
    get state() {
      return keyed.get();
    },
    watermarks: def.watermarks,
    outputFields(stream = 'default') {
      const s = outputs.get(stream);
      if (!s) {
        throw new SquallError({
          code: 'E_UNKNOWN_STREAM',
          component: def.id,
          stream,
          message: `'${def.id}' declares no stream '${stream}'; it declares: ${[...outputs.keys()].join(', ') || 'none'}`,
        });
      }
      return s.fields;
    },
  };
}
