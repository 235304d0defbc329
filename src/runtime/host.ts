import { IdSource } from '../acker/index.ts';
import { AckerExecutor, BoltExecutor, SpoutExecutor, TIMEOUT_BUCKETS } from '../executor/index.ts';
import type { BasicBolt, Bolt } from '../bolt/index.ts';
import type { Plan } from '../scheduler/index.ts';
import type { Spout } from '../spout/index.ts';
import type { Topology } from '../topology/index.ts';
import { TICK_DESC, Tuple } from '../tuple/index.ts';
import type { StreamDesc } from '../tuple/index.ts';
import type { Clock } from './clock.ts';
import type { Executor } from '../kernel/index.ts';
import { makeContext } from '../kernel/index.ts';
import type { CaptureSink, HostLink } from '../kernel/index.ts';
import type { Ctl } from '../kernel/index.ts';
import { ACTIVATE, DEACTIVATE, ROTATE } from '../kernel/index.ts';
import { buildOutputs, buildStreamTable } from '../kernel/index.ts';
import type { RandomSource } from './random.ts';
import { Transport } from './transport.ts';
import type { MessagePort } from 'node:worker_threads';

/**
 * How many messages an executor handles before the host moves to the next
 * one. Small enough that a fast spout cannot hold the thread for long,
 * large enough that the per-slice overhead (a few checks) disappears.
 */
const SLICE = 64;
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
}

/**
 * Runs the executors assigned to one thread. A turn gives every executor a
 * slice of work, round after round, until nothing moves or the turn's time
 * is up; then it yields to the event loop. With nothing to do it sleeps
 * until a message is delivered or an idle spout is due to be polled again.
 */
export class Host implements HostLink {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly ids: IdSource;
  readonly capture: CaptureSink | null;
  readonly ackerTasks: readonly number[];
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

  constructor(options: HostOptions) {
    this.options = options;
    this.clock = options.clock;
    this.random = options.random;
    this.capture = options.capture;
    this.ids = new IdSource(options.random);
    this.ackerTasks = options.plan.ackerTasks;
    const { topology, plan, runId } = options;
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
        const context = makeContext(topology, plan, def, taskId, runId, this, outputs);
        if (def.kind === 'spout') {
          const maxPending = Number(context.config['maxSpoutPending']);
          const idleMax = Number(context.config['spoutIdleMaxMs']);
          const s = new SpoutExecutor(taskId, def.id, this, def.factory as () => Spout, context, outputs, maxPending, idleMax, capacity);
          this.spouts.push(s);
          exec = s as Executor<unknown>;
        } else {
          exec = new BoltExecutor(taskId, def.id, this, def.factory as () => Bolt | BasicBolt, context, outputs, capacity) as Executor<unknown>;
        }
      }
      this.executors.push(exec);
      this.byTask[taskId] = exec;
    }
    const hostCount = plan.hosts.length;
    this.transport = hostCount > 1 ? new Transport(options.hostId, hostCount, plan.hostOfTask, this.streams, this) : null;
    for (const p of options.peers ?? []) this.transport!.connect(p.hostId, p.port);
    this.wireDownstream();
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
    }
  }

  // in critical path
  deliver(task: number, msg: Tuple | Ctl): void {
    const exec = this.byTask[task];
    if (exec !== undefined) exec.mailbox.push(msg);
    else this.transport!.send(task, msg);
    if (!this.inTurn && !this.scheduled && this.running) this.wake();
  }

  wakeUp(): void {
    if (!this.inTurn && !this.scheduled && this.running) this.wake();
  }

  /** A message from another host for a task here. */
  deliverLocal(task: number, msg: Tuple | Ctl): Executor<unknown> {
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
    const rotating = this.executors.filter((e) => e.kind === 'acker' || e.kind === 'spout');
    if (rotating.length > 0) {
      this.cancels.push(this.clock.every(rotateEvery, () => {
        for (const e of rotating) this.deliver(e.taskId, ROTATE);
      }));
    }
    for (const def of topology.components.values()) {
      if (def.kind !== 'bolt' || def.tickFrequencyMs <= 0) continue;
      const local = plan.componentTasks.get(def.id)!.filter((t) => this.byTask[t] !== undefined);
      if (local.length === 0) continue;
      this.cancels.push(this.clock.every(def.tickFrequencyMs, () => {
        for (const t of local) this.deliver(t, new Tuple([this.clock.now()], TICK_DESC, -1, null));
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
    if (this.scheduled) return;
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
    const execs = this.executors;
    const deadline = performance.now() + TURN_MS;
    let pass: number;
    try {
      do {
        pass = 0;
        for (let i = 0; i < execs.length; i++) pass += execs[i]!.runSlice(SLICE);
      } while (pass > 0 && performance.now() < deadline);
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

  /** True when no turn is due and every mailbox is empty. */
  isQuiet(): boolean {
    if (this.scheduled || this.inTurn) return false;
    if (this.transport !== null && this.transport.hasUnsent()) return false;
    for (const e of this.executors) if (e.mailbox.size > 0) return false;
    return true;
  }
}
