import { IdSource } from '../acker/index.ts';
import type { TracedTimeout } from '../acker/index.ts';
import type { BasicBolt, Bolt } from '../bolt/index.ts';
import { AckerExecutor, BoltExecutor, SpoutExecutor, TIMEOUT_BUCKETS } from '../executor/index.ts';
import { ACTIVATE, buildOutputs, buildStreamTable, DEACTIVATE, makeContext, ROTATE, TrackPool } from '../kernel/index.ts';
import type { CaptureSink, CheckpointEvent, Executor, HostLink, Message, TaskRestore } from '../kernel/index.ts';
import { KeyedHolder } from '../kernel/index.ts';
import { fieldsHashBits } from '../grouping/index.ts';
import type { KeySelector } from '../state/index.ts';
import type { Plan } from '../scheduler/index.ts';
import type { Spout } from '../spout/index.ts';
import type { Topology } from '../topology/index.ts';
import { TICK_DESC, Tuple } from '../tuple/index.ts';
import type { StreamDesc } from '../tuple/index.ts';
import type { Clock } from './clock.ts';
import type { RandomSource } from './random.ts';
import { Transport } from './transport.ts';
import { MAX_TRACES } from './metrics.ts';
import type { HostTraces, TraceReport } from './metrics.ts';
import type { MessagePort } from 'node:worker_threads';

/**
 * The time one executor may work before the host moves on to the next, in
 * ms. Tasks get fair shares of time, not of messages: a bolt that takes
 * 1 ms a tuple gets one tuple a slice, a null bolt a few thousand. Short
 * enough that a slow bolt cannot hold tracking back for long (an acker runs
 * between any two slices), long enough that the clock reads around a slice
 * cost nothing next to it.
 */
const SLICE_MS = 0.25;
/** Most messages in one slice, however cheap: bounds a slice while the estimate is still warming up. */
const SLICE_MAX = 4096;
/** Messages a slice takes in manual stepping, where no clock is read. */
const MANUAL_SLICE = 64;
/** How long one turn may run before yielding to the event loop (timers, I/O, control). */
const TURN_MS = 8;

export interface PeerPort {
  hostId: number;
  port: MessagePort;
}

export interface HostOptions {
  hostId: number;
  topology: Topology;
  plan: Plan;
  runId: string;
  clock: Clock;
  random: RandomSource;
  capture: CaptureSink | null;
  onError(component: string, task: number, error: unknown): void;
  /** Ports to the other hosts, when the plan has more than one. */
  peers?: readonly PeerPort[];
  /**
   * Manual stepping: the host never schedules itself; the caller runs it
   * with `settle()`. Slices are counted in messages and idle spouts are not
   * backed off, so a run on a simulated clock and a seeded random source is
   * the same every time.
   */
  manual?: boolean;
  /** What each task restores from (by task id), when the run restores a checkpoint. */
  restore?: ReadonlyMap<number, TaskRestore> | null;
  /** Tasks' parts of checkpoints, and declines: to the coordinator. */
  onCheckpoint?(event: CheckpointEvent): void;
  /** A task asks for a rollback (checkpoint mode, a failed tuple). */
  onRollback?(component: string, task: number, reason: string): void;
}

/**
 * Runs the executors assigned to one thread. A turn gives every executor a
 * slice of work, round after round, until nothing moves or the turn's time
 * is up; then it yields to the event loop. Ackers go first in every round
 * and take their whole mailbox, so tracking never waits behind user work.
 * With nothing to do it sleeps until a message is delivered or an idle
 * spout is due to be polled again. In manual stepping the caller runs
 * rounds with `settle()` instead.
 */
export class Host implements HostLink {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly ids: IdSource;
  readonly capture: CaptureSink | null;
  readonly ackerTasks: readonly number[];
  readonly trackPool = new TrackPool();
  readonly taskCount: number;
  readonly manual: boolean;
  readonly maxParallelism: number;
  readonly bolts: BoltExecutor[] = [];
  /** Ackers first, then the rest in plan order: the order of every round. */
  readonly executors: Executor<unknown>[] = [];
  readonly spouts: SpoutExecutor[] = [];
  /** The topology's streams by index, as every host numbers them. */
  readonly streams: readonly StreamDesc[];
  private readonly byTask: (Executor<unknown> | undefined)[] = [];
  private readonly options: HostOptions;
  private inTurn = false;
  private scheduled = false;
  private sleepTimer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly cancels: (() => void)[] = [];
  /** To the other hosts; null when this is the only one. */
  readonly transport: Transport | null;
  /** Traced timeouts this host's ackers reported: how many, and the latest. */
  readonly traces: HostTraces = { count: 0, latest: [] };

  constructor(options: HostOptions) {
    this.options = options;
    this.clock = options.clock;
    this.random = options.random;
    this.capture = options.capture;
    this.ids = new IdSource(options.random);
    this.ackerTasks = options.plan.ackerTasks;
    this.manual = options.manual === true;
    const { topology, plan, runId } = options;
    this.maxParallelism = topology.config.maxParallelism;
    this.taskCount = plan.tasks.length - 1;
    const capacity = topology.config.mailboxCapacity;
    this.streams = buildStreamTable(topology);
    for (const taskId of plan.hosts[options.hostId]!.tasks) {
      const info = plan.tasks[taskId]!;
      let exec: Executor<unknown>;
      const def = topology.components.get(info.component);
      if (def === undefined) {
        exec = new AckerExecutor(taskId, this, capacity, TIMEOUT_BUCKETS) as Executor<unknown>;
      } else {
        const outputs = buildOutputs(topology, plan, def, taskId, this.random, this.streams);
        const keyed = new KeyedHolder(def.id, this.maxParallelism, this.clock);
        const context = makeContext(topology, plan, def, taskId, runId, this, outputs, keyed);
        if (def.kind === 'spout') {
          const maxPending = Number(context.config['maxSpoutPending']);
          const idleMax = Number(context.config['spoutIdleMaxMs']);
          const s = new SpoutExecutor(taskId, def.id, this, def.factory as () => Spout, context, outputs, maxPending, idleMax, capacity);
          s.watermarks = def.watermarks;
          s.traceSample = Number(context.config['traceSample'] ?? 0);
          this.spouts.push(s);
          exec = s as Executor<unknown>;
        } else {
          const b = new BoltExecutor(taskId, def.id, this, def.factory as () => Bolt | BasicBolt, context, outputs, capacity);
          b.selectors = this.keySelectors(def.id);
          b.eventTimeInputs = eventTimeInputs(topology, plan, def.id);
          if (topology.config.checkpointIntervalMs > 0) {
            b.checkpointing = {
              inputChannels: upstreamTasks(topology, plan, def.id).length,
              align: topology.config.checkpointMode === 'exactly-once',
              maxAligned: topology.config.checkpointMaxAlignedTuples,
            };
          }
          this.bolts.push(b);
          exec = b as Executor<unknown>;
        }
        exec.keyed = keyed;
        keyed.onDue = () => this.wakeUp();
        exec.restore = options.restore?.get(taskId) ?? null;
      }
      if (exec.kind === 'acker') this.executors.unshift(exec);
      else this.executors.push(exec);
      this.byTask[taskId] = exec;
    }
    const hostCount = plan.hosts.length;
    this.transport = hostCount > 1 ? new Transport(options.hostId, hostCount, plan.hostOfTask, this.streams, this) : null;
    for (const p of options.peers ?? []) this.transport!.connect(p.hostId, p.port);
    this.wireDownstream();
  }

  /** How a bolt's keyed state finds the key of each fields-grouped input: by stream index. */
  private keySelectors(component: string): (KeySelector | null)[] {
    const def = this.options.topology.components.get(component)!;
    const out: (KeySelector | null)[] = [];
    for (const input of def.inputs) {
      const g = input.grouping;
      if (g.type !== 'fields') continue;
      const desc = this.streams.find((d) => d.component === input.component && d.stream === input.stream);
      if (desc === undefined) continue;
      const fieldIndexes = g.fields.map((f) => desc.fields.indexOf(f));
      out[desc.index] = { fieldIndexes, hash: (values) => fieldsHashBits(values, fieldIndexes) };
    }
    return out;
  }

  /** Backpressure: each task watches the mailboxes of the local tasks it emits to. */
  private wireDownstream(): void {
    const { topology, plan } = this.options;
    for (const exec of this.executors) {
      if (exec.kind === 'acker') continue;
      const seen = new Set<number>();
      for (const target of topology.components.values()) {
        if (!target.inputs.some((i) => i.component === exec.component)) continue;
        for (const t of plan.componentTasks.get(target.id)!) {
          const local = this.byTask[t];
          if (local !== undefined) {
            if (!seen.has(t)) exec.downstream.push(local.mailbox as never);
            seen.add(t);
          } else if (!seen.has(t)) {
            // Remote: a gate per target task, open while that task has credit.
            seen.add(t);
            exec.downstream.push(this.transport!.gate(t));
          }
        }
      }
      exec.barrierTargets = [...seen].sort((a, b) => a - b);
    }
  }

  /** What each task restores from when it starts (by task id); null for a fresh start. */
  setRestore(restore: ReadonlyMap<number, TaskRestore> | null): void {
    for (const e of this.executors) if (e.kind !== 'acker') e.restore = restore?.get(e.taskId) ?? null;
  }

  taskInfo(taskId: number): { readonly taskIndex: number } {
    return { taskIndex: this.options.plan.tasks[taskId]!.index };
  }

  /** An acker here timed out a traced tree: name the tasks, add the queue depths of those on this host. */
  traceTimedOut(t: TracedTimeout): void {
    const tasks = this.options.plan.tasks;
    const report: TraceReport = {
      spout: tasks[t.spoutTask]?.component ?? `task ${t.spoutTask}`,
      spoutTask: t.spoutTask,
      atMs: this.clock.now(),
      wallMs: Date.now(),
      ageMs: Math.round(t.ageMs),
      holders: t.holders.map((h) => ({
        component: tasks[h.task]?.component ?? `task ${h.task}`,
        task: h.task,
        heldMs: Math.round(h.heldMs),
        exact: h.exact,
        // -1: on another host; the snapshot fills it in from that host's report.
        queued: this.byTask[h.task]?.mailbox.size ?? -1,
      })),
      truncated: t.truncated,
    };
    this.traces.count++;
    this.traces.latest.push(report);
    if (this.traces.latest.length > MAX_TRACES) this.traces.latest.shift();
  }

  requestRollback(component: string, task: number, reason: string): void {
    this.options.onRollback?.(component, task, reason);
  }

  checkpointEvent(event: CheckpointEvent): void {
    this.options.onCheckpoint?.(event);
  }

  /** Checkpoint n starts at this host's spouts: each records its position and sends barrier n downstream. */
  triggerCheckpoint(n: number): void {
    for (const s of this.spouts) s.triggerCheckpoint(n);
    this.wakeUp();
  }

  /** Checkpoint n is durable: every task's commit hook. */
  checkpointComplete(n: number): void {
    for (const e of this.executors) if (e.kind !== 'acker') e.checkpointComplete(n);
    this.wakeUp();
  }

  /** Checkpoint n was given up: aligning tasks let their held input go. */
  checkpointAborted(n: number): void {
    for (const e of this.executors) if (e.kind !== 'acker') e.checkpointAborted(n);
    this.wakeUp();
  }

  // in critical path
  deliver(task: number, msg: Message): void {
    const exec = this.byTask[task];
    if (exec !== undefined) exec.mailbox.push(msg);
    else this.transport!.send(task, msg);
    if (!this.inTurn && !this.scheduled && this.running) this.wake();
  }

  wakeUp(): void {
    if (!this.inTurn && !this.scheduled && this.running) this.wake();
  }

  /** A message from another host for a task here. */
  deliverLocal(task: number, msg: Message): Executor<unknown> {
    const exec = this.byTask[task]!;
    exec.mailbox.push(msg);
    if (!this.inTurn && !this.scheduled && this.running) this.wake();
    return exec;
  }

  reportError(component: string, task: number, error: unknown): void {
    this.options.onError(component, task, error);
  }

  /** Create and open every instance, then start the timers. */
  async start(): Promise<void> {
    for (const e of this.executors) await e.start();
    const { topology, plan } = this.options;
    const timeout = topology.config.messageTimeoutMs;
    const rotateEvery = timeout / (TIMEOUT_BUCKETS - 1);
    // Without ackers nothing is pending, so there is nothing to time out.
    const rotating = this.ackerTasks.length === 0 ? [] : this.executors.filter((e) => e.kind === 'acker' || e.kind === 'spout');
    if (rotating.length > 0) {
      this.cancels.push(this.clock.every(rotateEvery, () => {
        for (const e of rotating) this.deliver(e.taskId, ROTATE);
        // Once per rotation, not per tuple: a bolt with input that acked nothing for a whole timeout is stuck.
        const now = this.clock.now();
        for (const b of this.bolts) b.checkStuck(now, timeout);
      }));
    }
    for (const def of topology.components.values()) {
      if (def.kind !== 'bolt' || def.tickFrequencyMs <= 0) continue;
      const local = plan.componentTasks.get(def.id)!.filter((t) => this.byTask[t] !== undefined);
      if (local.length === 0) continue;
      this.cancels.push(this.clock.every(def.tickFrequencyMs, () => {
        for (const t of local) this.deliver(t, new Tuple([this.clock.now()], TICK_DESC, -1));
      }));
    }
    this.running = true;
    this.wake();
  }

  setActive(active: boolean): void {
    for (const s of this.spouts) this.deliver(s.taskId, active ? ACTIVATE : DEACTIVATE);
  }

  pending(): number {
    let n = 0;
    for (const s of this.spouts) n += s.pending;
    return n;
  }

  /** Stop the loop and timers, then close spouts and clean up bolts. */
  async stop(): Promise<void> {
    this.running = false;
    this.transport?.close();
    for (const c of this.cancels.splice(0)) c();
    if (this.sleepTimer !== null) clearTimeout(this.sleepTimer);
    this.sleepTimer = null;
    for (const e of this.executors) {
      try {
        await e.stop();
      } catch (err) {
        this.reportError(e.component, e.taskId, err);
      }
    }
  }

  private wake(): void {
    if (this.scheduled || this.manual) return;
    if (this.sleepTimer !== null) {
      clearTimeout(this.sleepTimer);
      this.sleepTimer = null;
    }
    this.scheduled = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = false;
    this.sleepTimer = null;
    if (!this.running) return;
    this.inTurn = true;
    const deadline = performance.now() + TURN_MS;
    let pass: number;
    try {
      do pass = this.round();
      while (pass > 0 && performance.now() < deadline);
    } finally {
      this.inTurn = false;
    }
    if (this.transport !== null) this.transport.flush();
    if (pass > 0) {
      this.wake();
      return;
    }
    // Nothing moved: sleep until a delivery wakes us or an idle spout is due.
    let due = Infinity;
    for (const s of this.spouts) if (s.active && s.idleUntil > 0 && s.idleUntil < due) due = s.idleUntil;
    if (due !== Infinity) {
      this.sleepTimer = setTimeout(() => this.wake(), Math.max(0, due - performance.now()));
    }
  };

  /**
   * One slice for every executor; returns the messages handled. A slice's
   * size comes from what the executor's messages have cost so far, so each
   * gets about SLICE_MS; one clock read per slice measures it.
   */
  private round(): number {
    const execs = this.executors;
    let pass = 0;
    if (this.manual) {
      for (let i = 0; i < execs.length; i++) {
        const e = execs[i]!;
        pass += e.runSlice(e.kind === 'acker' ? e.mailbox.size : MANUAL_SLICE);
      }
      return pass;
    }
    let t0 = performance.now();
    for (let i = 0; i < execs.length; i++) {
      const e = execs[i]!;
      const budget = e.kind === 'acker' ? e.mailbox.size : Math.max(1, Math.min(SLICE_MAX, Math.floor(SLICE_MS / e.msPerMessage)));
      const n = e.runSlice(budget);
      if (n === 0) continue;
      pass += n;
      const t1 = performance.now();
      // Smoothed, so one slow message (a GC pause) does not shrink the next slices to one.
      e.msPerMessage = 0.75 * e.msPerMessage + (0.25 * (t1 - t0)) / n;
      t0 = t1;
    }
    return pass;
  }

  /**
   * Manual stepping: run rounds until one moves nothing (or `maxRounds`),
   * sending what is bound for other hosts at the end. Returns the messages
   * handled. Timers on the clock fire only when the caller moves it.
   */
  settle(maxRounds = 1_000_000): number {
    let total = 0;
    this.inTurn = true;
    try {
      for (let r = 0; r < maxRounds; r++) {
        const pass = this.round();
        total += pass;
        if (pass === 0) break;
      }
    } finally {
      this.inTurn = false;
    }
    if (this.transport !== null) this.transport.flush();
    return total;
  }

  /** True when no turn is due and every mailbox is empty. */
  isQuiet(): boolean {
    if (this.scheduled || this.inTurn) return false;
    if (this.transport !== null && this.transport.hasUnsent()) return false;
    for (const e of this.executors) if (e.mailbox.size > 0 || e.track.pending) return false;
    return true;
  }
}

/** The distinct tasks whose output a bolt subscribes to: its input channels for barriers. */
export function upstreamTasks(topology: Topology, plan: Plan, component: string): number[] {
  const def = topology.components.get(component)!;
  const tasks = new Set<number>();
  for (const input of def.inputs) for (const t of plan.componentTasks.get(input.component) ?? []) tasks.add(t);
  return [...tasks];
}

/** Components that carry event time: spouts with watermarks, and every bolt downstream of one. */
export function eventTimeComponents(topology: Topology): Set<string> {
  const out = new Set<string>();
  for (const def of topology.components.values()) if (def.kind === 'spout' && def.watermarks !== null) out.add(def.id);
  for (let grew = true; grew; ) {
    grew = false;
    for (const def of topology.components.values()) {
      if (out.has(def.id) || !def.inputs.some((i) => out.has(i.component))) continue;
      out.add(def.id);
      grew = true;
    }
  }
  return out;
}

/** The upstream tasks whose watermarks a bolt's watermark waits for. */
function eventTimeInputs(topology: Topology, plan: Plan, component: string): number[] {
  const carriers = eventTimeComponents(topology);
  const def = topology.components.get(component)!;
  const tasks = new Set<number>();
  for (const input of def.inputs) if (carriers.has(input.component)) for (const t of plan.componentTasks.get(input.component) ?? []) tasks.add(t);
  return [...tasks];
}
