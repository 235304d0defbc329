import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { nanoid } from 'nanoid';
import { Piscina } from 'piscina';
import { SquallError } from '../errors/index.ts';
import { planTopology } from '../scheduler/index.ts';
import type { Plan, SchedulingStrategy } from '../scheduler/index.ts';
import type { Topology, TopologyConfig } from '../topology/index.ts';
import { validateConfig } from '../topology/index.ts';
import type { CaptureSink } from '../kernel/index.ts';
import { ErrorLog, snapshot } from './metrics.ts';
import type { HostReport, MetricsSnapshot } from './metrics.ts';
import type { MockedSources } from './mocks.ts';
import type { HostStatus, TopologyRun } from './run.ts';
import { RunLifecycle } from './lifecycle.ts';
import { createSupervisor } from './supervisor.ts';
import type { HostState, Supervisor } from './supervisor.ts';
import type { CaptureRecord, FromHost, HostExit, HostInit, ToHost } from './worker/protocol.ts';

export interface ThreadedOptions {
  threads: number;
  config?: Partial<TopologyConfig>;
  active?: boolean;
  capture?: CaptureSink;
  mocks?: MockedSources;
  seed?: number;
  strategy?: SchedulingStrategy;
  /** V8 old-generation heap limit per worker thread (MB). */
  threadHeapMb?: number;
  /** Restarts of one host, without a stable minute between, before it is given up. */
  maxHostRestarts?: number;
}

/** How often hosts send their counters to the main thread. */
const REPORT_EVERY_MS = 200;
/** A host that answers no report request within this time is skipped for that refresh. */
const REPORT_WAIT_MS = 2_000;
const START_WAIT_MS = 60_000;

class HostSlot {
  generation = -1;
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
 * A topology spread over worker threads kept by piscina: one long-lived host
 * task per thread, ports between every pair of hosts, and a supervisor state
 * machine per host that restarts a host whose thread died. The trees that
 * were in flight on a dead host time out at their spouts and are replayed.
 */
export class ThreadedRun extends RunLifecycle implements TopologyRun {
  readonly mode = 'threads' as const;
  readonly id = nanoid(10);
  readonly topology: Topology;
  plan!: Plan;
  private pool!: Piscina;
  private slots: HostSlot[] = [];
  private readonly startedAt = performance.now();
  /** Last reports of hosts that crashed: their counts stay in the totals. */
  private readonly retired: HostReport[] = [];
  private readonly hostErrors = new ErrorLog();
  private readonly options: ThreadedOptions & { strategy?: SchedulingStrategy };
  private readonly overrides: Partial<TopologyConfig>;
  private reqId = 0;
  private active: boolean;

  constructor(topology: Topology, options: ThreadedOptions) {
    super();
    if (topology.source === undefined) {
      throw new SquallError({
        code: 'E_BAD_ARGUMENT',
        message: `topology '${topology.name}' was not loaded from a module, so worker threads cannot build it; load it with loadTopologyModule(path) (the CLI does) to run it with threads`,
      });
    }
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `threads must be a whole number, at least 1; got ${String(options.threads)}` });
    }
    this.options = options;
    this.overrides = options.config ?? {};
    const config: TopologyConfig = { ...topology.config, ...this.overrides };
    validateConfig(config);
    this.topology = Object.freeze({ ...topology, config: Object.freeze(config) });
    this.active = options.active ?? true;
    this.setUp(options.threads);
  }

  /** A pool of `threads` workers, the plan for them, and a supervised slot per host. */
  private setUp(threads: number): void {
    const options = this.options;
    this.plan = planTopology(this.topology, { hosts: threads, ...(options.strategy ? { strategy: options.strategy } : {}) });
    this.pool = new Piscina({
      filename: new URL('./worker/entry.mjs', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // 'sync' would park an idle worker in Atomics.wait, freezing its timers.
      atomics: 'disabled',
      resourceLimits: { maxOldGenerationSizeMb: options.threadHeapMb ?? 1024 },
    });
    // With no task in flight piscina reports worker failures here; the tasks' own rejections are what we act on.
    this.pool.on('error', () => {});
    this.slots = this.plan.hosts.map((h) => new HostSlot(h.hostId));
    for (const slot of this.slots) {
      slot.supervisor = createSupervisor({
        maxRestarts: options.maxHostRestarts ?? 10,
        stableAfterMs: 60_000,
        backoffInitialMs: 100,
        backoffMaxMs: 5_000,
        restart: () => this.restart(slot),
        giveUp: () => this.giveUp(slot),
      });
    }
  }

  /** @internal */
  async start(): Promise<void> {
    const failure = await this.startHosts();
    if (failure) {
      await this.shutdown();
      this.status$.send({ type: 'START_FAILED' });
      throw failure;
    }
    this.status$.send({ type: 'STARTED', active: this.active });
  }

  /** Launch every slot's host with ports to all the others; resolves with the first start failure, if any. */
  private async startHosts(): Promise<SquallError | null> {
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
    const timeout = new Promise<SquallError>((resolve) =>
      setTimeout(() => resolve(new SquallError({ code: 'E_BAD_STATE', message: `worker hosts did not start within ${START_WAIT_MS / 1000} s` })), START_WAIT_MS).unref(),
    );
    const results = await Promise.all(readies.map((r) => Promise.race([r, timeout])));
    return results.find((r) => r !== null) ?? null;
  }

  private launch(slot: HostSlot, peers: { hostId: number; port: MessagePort }[]): void {
    slot.generation++;
    slot.ready = false;
    const { port1, port2 } = new MessageChannel();
    slot.ctl = port1;
    port1.on('message', (m: FromHost) => this.onMessage(slot, m));
    const src = this.topology.source!;
    const init: HostInit = {
      runId: this.id,
      hostId: slot.hostId,
      generation: slot.generation,
      file: src.file,
      exportName: src.exportName,
      config: this.overrides,
      mocks: this.options.mocks ?? null,
      plan: this.plan,
      active: this.active,
      capture: this.options.capture !== undefined,
      seed: this.options.seed ?? null,
      reportEveryMs: REPORT_EVERY_MS,
      ctl: port2,
      peers,
    };
    const generation = slot.generation;
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

  private onMessage(slot: HostSlot, m: FromHost): void {
    switch (m.t) {
      case 'ready':
        slot.ready = true;
        slot.supervisor.send({ type: 'READY' });
        slot.onReady?.(null);
        slot.onReady = null;
        return;
      case 'start-failed': {
        const err = SquallError.fromData(m.error);
        slot.lastError = `${m.error.code}: ${m.error.message}`;
        if (slot.onReady) {
          slot.onReady(err);
          slot.onReady = null;
        } else {
          this.hostErrors.report(hostComponent(slot.hostId), slot.hostId, err);
        }
        return;
      }
      case 'report':
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
    if (slot.stopping || generation !== slot.generation) return;
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
    if (slot.onReady) {
      slot.onReady(new SquallError({ code: 'E_BAD_STATE', message: `host ${slot.hostId} died while starting: ${error}` }));
      slot.onReady = null;
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
      new SquallError({ code: 'E_BAD_STATE', message: `host ${slot.hostId} crashed more than ${this.options.maxHostRestarts ?? 10} times in a row; gave up on it (last: ${slot.lastError})` }),
    );
  }

  /**
   * Fault injection, for tests and drills: terminate one host's thread at
   * once, as a crash would. Its supervisor restarts it; the trees it had in
   * flight time out at their spouts and are replayed.
   */
  crashHost(hostId: number): void {
    const slot = this.slots[hostId];
    if (slot === undefined) {
      throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `no host ${hostId}: this run has hosts 0..${this.slots.length - 1}` });
    }
    slot.abort?.abort();
  }

  /**
   * Move the topology to `threads` worker threads (or re-place its tasks with
   * the current count): deactivate the spouts, let trees in flight finish,
   * stop every host, and start them again on a new plan. Spouts are closed
   * and opened again, so a spout that keeps its position only in memory
   * starts over: back spouts with a durable source (their pending trees are
   * drained first, so nothing is lost either way).
   */
  async rebalance(options: { threads?: number; strategy?: SchedulingStrategy; waitMs?: number } = {}): Promise<void> {
    this.expect(['active', 'inactive'], 'rebalance');
    const threads = options.threads ?? this.slots.length;
    if (!Number.isInteger(threads) || threads < 1) {
      throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `rebalance needs a whole number of threads, at least 1; got ${String(threads)}` });
    }
    const wasActive = this.active;
    if (options.strategy) this.options.strategy = options.strategy;
    this.status$.send({ type: 'REBALANCE' });
    this.post({ t: 'deactivate' });
    await this.drain(options.waitMs ?? this.topology.config.killWaitMs);
    await this.shutdown();
    for (const slot of this.slots) if (slot.report) this.retire(slot.report);
    this.active = wasActive;
    this.setUp(threads);
    const failure = await this.startHosts();
    if (failure) {
      await this.shutdown();
      this.status$.send({ type: 'REBALANCE_FAILED' });
      throw failure;
    }
    this.status$.send({ type: 'REBALANCED', active: wasActive });
  }

  private async drain(waitMs: number): Promise<void> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      await this.refresh();
      if (this.pending() === 0 || performance.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private post(m: ToHost): void {
    for (const slot of this.slots) slot.ctl?.postMessage(m);
  }

  activate(): void {
    this.expect(['active', 'inactive'], 'activate');
    this.status$.send({ type: 'ACTIVATE' });
    this.active = true;
    this.post({ t: 'activate' });
  }

  deactivate(): void {
    this.expect(['active', 'inactive'], 'deactivate');
    this.status$.send({ type: 'DEACTIVATE' });
    this.active = false;
    this.post({ t: 'deactivate' });
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

  protected async doKill(waitMs: number): Promise<MetricsSnapshot> {
    this.active = false;
    this.post({ t: 'deactivate' });
    await this.drain(waitMs);
    await this.shutdown();
    return this.metrics();
  }

  /** Stop every host, then the pool: stopping hosts first lets close() finish at once. */
  private async shutdown(): Promise<void> {
    for (const slot of this.slots) {
      slot.stopping = true;
      slot.supervisor.send({ type: 'STOP' });
      slot.ctl?.postMessage({ t: 'stop' } satisfies ToHost);
    }
    const exits = Promise.all(this.slots.map((s) => s.exit?.catch(() => {})));
    await Promise.race([exits, new Promise((r) => setTimeout(r, 10_000).unref())]);
    await this.pool.destroy();
  }

  pending(): number {
    let n = 0;
    for (const slot of this.slots) for (const e of slot.report?.executors ?? []) n += e.pending;
    return n;
  }

  metrics(): MetricsSnapshot {
    const reports: HostReport[] = [...this.retired];
    for (const slot of this.slots) if (slot.report) reports.push(slot.report);
    const hostErrors: HostReport = {
      host: -1,
      executors: [],
      errors: this.hostErrors.list(),
      errorCounts: Object.fromEntries(this.hostErrors.perComponent),
      errorsDropped: this.hostErrors.dropped,
    };
    reports.push(hostErrors);
    return snapshot(reports, performance.now() - this.startedAt);
  }

  hosts(): HostStatus[] {
    return this.slots.map((s) => ({ host: s.hostId, state: s.state, restarts: s.restarts, lastError: s.lastError, tasks: this.plan.hosts[s.hostId]!.tasks.length }));
  }

  /** Threads run on the real clock: nothing here waits for simulated time. */
  isQuiet(): boolean {
    return false;
  }

  /** From the latest reports: call refresh() first for an up-to-date answer. */
  isDone(): boolean {
    let spouts = 0;
    for (const slot of this.slots) {
      if (!slot.report) return false;
      for (const e of slot.report.executors) {
        if (e.kind !== 'spout') continue;
        spouts++;
        if (e.done === null) {
          throw new SquallError({
            code: 'E_BAD_STATE',
            component: e.component,
            message: `spout '${e.component}' has no isDone(), so a run to completion cannot tell when it has finished; mock it with fixed input or implement isDone()`,
          });
        }
        if (!e.done || e.pending > 0) return false;
      }
    }
    return spouts > 0;
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
  return String(err);
}
