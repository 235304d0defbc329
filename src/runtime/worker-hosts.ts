import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { SquallError } from '../errors/index.ts';
import type { CaptureSink, CheckpointEvent, TaskRestore } from '../kernel/index.ts';
import type { Plan } from '../scheduler/index.ts';
import type { Topology, TopologyConfig } from '../topology/index.ts';
import type { HostGroup, HostStatus } from './host-group.ts';
import { ErrorLog } from './metrics.ts';
import type { HostReport } from './metrics.ts';
import type { MockedSources } from './mocks.ts';
import { createSupervisor } from './supervisor.ts';
import type { HostState, Supervisor } from './supervisor.ts';
import type { CaptureRecord, FromHost, HostExit, HostInit, ToHost } from './worker/protocol.ts';

export interface WorkerHostsOptions {
  topology: Topology;
  plan: Plan;
  runId: string;
  /** The submit's config overrides: each worker applies them to the module it loads. */
  overrides: Partial<TopologyConfig>;
  mocks: MockedSources | null;
  capture: CaptureSink | null;
  seed: number | null;
  threadHeapMb: number;
  maxHostRestarts: number;
  /** Tasks' parts of checkpoints and declines, from every host. */
  onCheckpoint?: (event: CheckpointEvent) => void;
  /**
   * A host crashed: when given, the run rolls back (every host is stopped
   * and started again from the last checkpoint) instead of the supervisor
   * restarting the one host.
   */
  onCrash?: (hostId: number, error: string) => void;
  /** A task asked for a rollback (checkpoint mode, a failed tuple). */
  onRollback?: (component: string, task: number, reason: string) => void;
}

/** How often hosts send their counters to the main thread. */
const REPORT_EVERY_MS = 200;
/** A host that answers no report request within this time is skipped for that refresh. */
const REPORT_WAIT_MS = 2_000;
/** Hosts that are not all up by then fail the start with E_HOST_START_TIMEOUT. */
const START_WAIT_MS = 60_000;

class HostSlot {
  generation = -1;
  /** The last generation that crashed: a generation crashes once, however many ways its end is heard of. */
  crashedGeneration = -1;
  ctl: MessagePort | null = null;
  report: HostReport | null = null;
  ready = false;
  stopping = false;
  restarts = 0;
  lastError: string | null = null;
  exit: Promise<void> | null = null;
  abort: AbortController | null = null;
  readonly waiters = new Map<number, () => void>();
  onReady: ((error: SquallError | null) => void) | null = null;
  supervisor!: Supervisor;
  constructor(readonly hostId: number) {}

  get state(): HostState {
    return this.supervisor.getSnapshot().value as HostState;
  }
}

/**
 * A plan's hosts on worker threads kept by piscina: one long-lived host task
 * per thread, ports between every pair of hosts, and a supervisor state
 * machine per host that restarts a host whose thread died or whose restart
 * failed. The trees that were in flight on a dead host time out at their
 * spouts and are replayed.
 */
export class WorkerHosts implements HostGroup {
  readonly plan: Plan;
  private readonly pool: Piscina;
  private readonly slots: HostSlot[];
  /** Last reports of hosts that crashed: their counts stay in the totals. */
  private readonly retired: HostReport[] = [];
  private readonly hostErrors = new ErrorLog();
  private reqId = 0;
  private active = false;
  private restore: ReadonlyMap<number, TaskRestore> | null = null;

  constructor(private readonly options: WorkerHostsOptions) {
    this.plan = options.plan;
    const threads = options.plan.hosts.length;
    this.pool = new Piscina({
      filename: new URL('./worker/entry.mjs', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // 'sync' would park an idle worker in Atomics.wait, freezing its timers.
      atomics: 'disabled',
      resourceLimits: { maxOldGenerationSizeMb: options.threadHeapMb },
    });
    // With no task in flight piscina reports worker failures here; the tasks' own rejections are what we act on.
    this.pool.on('error', () => {});
    this.slots = this.plan.hosts.map((h) => new HostSlot(h.hostId));
    for (const slot of this.slots) {
      slot.supervisor = createSupervisor({
        maxRestarts: options.maxHostRestarts,
        stableAfterMs: 60_000,
        backoffInitialMs: 100,
        backoffMaxMs: 5_000,
        restart: () => this.restart(slot),
        giveUp: () => this.giveUp(slot),
      });
    }
  }

  /** Launch every slot's host with ports to all the others; resolves with the first start failure, if any. */
  async start(active: boolean, restore: ReadonlyMap<number, TaskRestore> | null = null): Promise<SquallError | null> {
    this.active = active;
    this.restore = restore;
    const peers = this.slots.map(() => [] as { hostId: number; port: MessagePort }[]);
    for (let a = 0; a < this.slots.length; a++) {
      for (let b = a + 1; b < this.slots.length; b++) {
        const ch = new MessageChannel();
        peers[a]!.push({ hostId: b, port: ch.port1 });
        peers[b]!.push({ hostId: a, port: ch.port2 });
      }
    }
    const readies = this.slots.map(
      (slot, i) =>
        new Promise<SquallError | null>((resolve) => {
          slot.onReady = resolve;
          this.launch(slot, peers[i]!);
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<SquallError>((resolve) => {
      timer = setTimeout(() => {
        const late = this.slots.filter((s) => !s.ready).map((s) => s.hostId);
        resolve(
          new SquallError({
            code: 'E_HOST_START_TIMEOUT',
            details: { hosts: late },
            message: `worker hosts ${late.join(', ')} did not start within ${START_WAIT_MS / 1000} s; a component's open()/prepare() may be waiting on something that never answers`,
          }),
        );
      }, START_WAIT_MS);
      timer.unref();
    });
    const results = await Promise.all(readies.map((r) => Promise.race([r, timeout])));
    clearTimeout(timer);
    const failure = results.find((r) => r !== null) ?? null;
    if (failure !== null) await this.stop();
    return failure;
  }

  private launch(slot: HostSlot, peers: { hostId: number; port: MessagePort }[]): void {
    slot.generation++;
    slot.ready = false;
    const { port1, port2 } = new MessageChannel();
    slot.ctl = port1;
    const generation = slot.generation;
    port1.on('message', (m: FromHost) => this.onMessage(slot, generation, m));
    const src = this.options.topology.source!;
    const init: HostInit = {
      runId: this.options.runId,
      hostId: slot.hostId,
      generation: slot.generation,
      file: src.file,
      exportName: src.exportName,
      config: this.options.overrides,
      mocks: this.options.mocks,
      plan: this.plan,
      active: this.active,
      capture: this.options.capture !== null,
      seed: this.options.seed,
      reportEveryMs: REPORT_EVERY_MS,
      ctl: port2,
      peers,
      restore: this.restoreOf(slot.hostId),
    };
    slot.abort = new AbortController();
    slot.exit = this.pool.run(init, { transferList: [port2, ...peers.map((p) => p.port)] as never, signal: slot.abort.signal }).then(
      (exit: HostExit | null) => {
        if (exit) this.absorbExit(slot, exit);
        if (!slot.stopping && generation === slot.generation && exit !== null) this.crashed(slot, generation, new Error('host task ended without being told to stop'));
      },
      (err: unknown) => {
        if (generation === slot.generation) this.crashed(slot, generation, err);
      },
    );
  }

  /** The restore entries of one host's tasks (a restarted host restores from what the run started with). */
  private restoreOf(hostId: number): [number, TaskRestore][] | null {
    if (this.restore === null) return null;
    const out: [number, TaskRestore][] = [];
    for (const t of this.plan.hosts[hostId]!.tasks) {
      const r = this.restore.get(t);
      if (r !== undefined) out.push([t, r]);
    }
    return out;
  }

  triggerCheckpoint(n: number): void {
    for (const slot of this.slots) slot.ctl?.postMessage({ t: 'checkpoint', id: n } satisfies ToHost);
  }

  notifyCheckpoint(n: number, complete: boolean): void {
    for (const slot of this.slots) slot.ctl?.postMessage({ t: 'checkpoint-done', id: n, complete } satisfies ToHost);
  }

  private onMessage(slot: HostSlot, generation: number, m: FromHost): void {
    switch (m.t) {
      case 'checkpoint-event':
        if (generation === slot.generation) this.options.onCheckpoint?.(m.event);
        return;
      case 'rollback':
        if (generation === slot.generation) this.options.onRollback?.(m.component, m.task, m.reason);
        return;
      case 'ready':
        slot.ready = true;
        slot.supervisor.send({ type: 'READY' });
        slot.onReady?.(null);
        slot.onReady = null;
        return;
      case 'start-failed': {
        const err = SquallError.fromData(m.error);
        if (slot.onReady) {
          slot.lastError = `${m.error.code}: ${m.error.message}`;
          slot.onReady(err);
          slot.onReady = null;
          return;
        }
        // A restart that fails in open()/prepare() is a crash like any other:
        // the supervisor backs off and tries again, and gives up after its limit.
        this.crashed(slot, generation, err);
        return;
      }
      case 'report':
        if (generation !== slot.generation) return;
        slot.report = m.report;
        this.absorbCaptured(m.captured);
        if (m.id !== null) {
          slot.waiters.get(m.id)?.();
          slot.waiters.delete(m.id);
        }
        return;
    }
  }

  private absorbExit(slot: HostSlot, exit: HostExit): void {
    slot.report = exit.report;
    this.absorbCaptured(exit.captured);
  }

  private absorbCaptured(records: CaptureRecord[] | null): void {
    const sink = this.options.capture;
    if (!records || !sink) return;
    for (const [component, stream, task, values] of records) sink.record(component, stream, task, values);
  }

  private crashed(slot: HostSlot, generation: number, cause: unknown): void {
    // A restart that failed in open()/prepare() is a crash, and so is the
    // abort of its thread that follows: count it once, with the first cause.
    if (slot.stopping || generation !== slot.generation || generation === slot.crashedGeneration) return;
    slot.crashedGeneration = generation;
    const error = describeCrash(cause);
    slot.ready = false;
    if (slot.report) this.retire(slot.report);
    slot.report = null;
    slot.ctl?.close();
    slot.ctl = null;
    for (const w of slot.waiters.values()) w();
    slot.waiters.clear();
    slot.lastError = error;
    const report = new SquallError({ code: 'E_HOST_CRASHED', message: `host ${slot.hostId} crashed: ${error}`, details: { host: slot.hostId } });
    // The stack of what killed the thread (an uncaught throw in a component) says where it came from.
    if (cause instanceof Error && cause.stack) report.stack = `${report.message}\n    caused by: ${cause.stack}`;
    this.hostErrors.report(hostComponent(slot.hostId), slot.hostId, report);
    // A host whose restart failed may still have its thread: end it, so it holds no ports and no tasks.
    slot.abort?.abort();
    if (slot.onReady) {
      slot.onReady(new SquallError({ code: 'E_HOST_CRASHED', details: { host: slot.hostId }, message: `host ${slot.hostId} died while starting: ${error}` }));
      slot.onReady = null;
      return;
    }
    if (this.options.onCrash !== undefined) {
      slot.restarts++;
      this.options.onCrash(slot.hostId, error);
      return;
    }
    slot.supervisor.send({ type: 'CRASH', error });
  }

  /** Start a crashed host again on a fresh thread, with new ports to every live peer. */
  private restart(slot: HostSlot): void {
    if (slot.stopping) return;
    slot.restarts++;
    const peers: { hostId: number; port: MessagePort }[] = [];
    for (const other of this.slots) {
      if (other === slot || other.ctl === null) continue;
      const ch = new MessageChannel();
      peers.push({ hostId: other.hostId, port: ch.port1 });
      other.ctl.postMessage({ t: 'peer', hostId: slot.hostId, port: ch.port2 } satisfies ToHost, [ch.port2]);
    }
    this.launch(slot, peers);
  }

  /** Keep a gone host's counts in the totals; what it had pending or queued is gone with it. */
  private retire(report: HostReport): void {
    this.retired.push({ ...report, retired: true, executors: report.executors.map((e) => ({ ...e, pending: 0, queued: 0, done: null })) });
  }

  private giveUp(slot: HostSlot): void {
    this.hostErrors.report(
      hostComponent(slot.hostId),
      slot.hostId,
      new SquallError({
        code: 'E_HOST_CRASHED',
        details: { host: slot.hostId, gaveUp: true },
        message: `host ${slot.hostId} crashed more than ${this.options.maxHostRestarts} times in a row; gave up on it (last: ${slot.lastError})`,
      }),
    );
  }

  crashHost(hostId: number): void {
    const slot = this.slots[hostId];
    if (slot === undefined) {
      throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `no host ${hostId}: this run has hosts 0..${this.slots.length - 1}` });
    }
    slot.abort?.abort();
  }

  setActive(active: boolean): void {
    this.active = active;
    for (const slot of this.slots) slot.ctl?.postMessage({ t: active ? 'activate' : 'deactivate' } satisfies ToHost);
  }

  /** Ask every live host for fresh counters. */
  async refresh(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.ctl === null || !slot.ready) continue;
      const id = ++this.reqId;
      waits.push(
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, REPORT_WAIT_MS);
          slot.waiters.set(id, () => {
            clearTimeout(t);
            resolve();
          });
          slot.ctl!.postMessage({ t: 'report?', id } satisfies ToHost);
        }),
      );
    }
    await Promise.all(waits);
  }

  reports(): HostReport[] {
    const reports: HostReport[] = [...this.retired];
    for (const slot of this.slots) if (slot.report) reports.push(slot.report);
    reports.push({
      host: -1,
      executors: [],
      errors: this.hostErrors.list(),
      errorCounts: Object.fromEntries(this.hostErrors.perComponent),
      errorsDropped: this.hostErrors.dropped,
    });
    return reports;
  }

  hosts(): HostStatus[] {
    return this.slots.map((s) => ({ host: s.hostId, state: s.state, restarts: s.restarts, lastError: s.lastError, tasks: this.plan.hosts[s.hostId]!.tasks.length }));
  }

  /** Stop every host, then the pool: stopping hosts first lets close() finish at once. Their last reports stay. */
  async stop(): Promise<void> {
    for (const slot of this.slots) {
      slot.stopping = true;
      // A host given up on is final already: xstate warns of events sent to a stopped actor.
      if (slot.supervisor.getSnapshot().status === 'active') slot.supervisor.send({ type: 'STOP' });
      slot.ctl?.postMessage({ t: 'stop' } satisfies ToHost);
    }
    const exits = Promise.all(this.slots.map((s) => s.exit?.catch(() => {})));
    await Promise.race([exits, new Promise((r) => setTimeout(r, 10_000).unref())]);
    await this.pool.destroy();
  }

  /** Threads run on the real clock: nothing here waits for simulated time. */
  isQuiet(): boolean {
    return false;
  }

  settle(): number {
    return 0;
  }
}

function hostComponent(hostId: number): string {
  return `__host${hostId}`;
}

function describeCrash(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}`;
  }
  if (err !== null && typeof err === 'object') {
    // An error that lost its class crossing from the thread: say what is left of it.
    const { name, message } = err as { name?: unknown; message?: unknown };
    if (typeof message === 'string') return `${typeof name === 'string' ? `${name}: ` : ''}${message}`;
    // A DOMException (DataCloneError, say) that killed the thread arrives as {}: nothing left to quote.
    if (Object.keys(err).length === 0) return 'the thread died of a thrown value that arrived empty (a DOMException, such as a DataCloneError, loses its name and message on the way out of a worker)';
  }
  return String(err);
}
