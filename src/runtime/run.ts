import { nanoid } from 'nanoid';
import { SquallError } from '../errors/index.ts';
import type { CaptureSink } from '../kernel/index.ts';
import { planTopology } from '../scheduler/index.ts';
import type { Plan, SchedulingStrategy } from '../scheduler/index.ts';
import type { Topology, TopologyConfig } from '../topology/index.ts';
import { validateConfig } from '../topology/index.ts';
import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import type { HostGroup, HostStatus } from './host-group.ts';
import { RunLifecycle } from './lifecycle.ts';
import { LocalHosts } from './local-hosts.ts';
import type { HostReport, MetricsSnapshot } from './metrics.ts';
import { snapshot } from './metrics.ts';
import { withMocks } from './mocks.ts';
import type { MockedSources } from './mocks.ts';
import type { RandomSource } from './random.ts';
import { cryptoRandom, SeededRandom } from './random.ts';
import { WorkerHosts } from './worker-hosts.ts';
import { CheckpointCoordinator, findRestorePoint, loadRestore } from './checkpoints.ts';
import type { CheckpointStats } from './checkpoints.ts';
import { ErrorLog } from './metrics.ts';
import { defaultStateDir, EmbeddedStore } from '../state/index.ts';
import type { StateStore } from '../state/index.ts';
import type { CheckpointEvent, TaskRestore } from '../kernel/index.ts';

export type { HostStatus } from './host-group.ts';

export interface SubmitOptions {
  /** Overrides of the topology's config (the CLI's --set). */
  config?: Partial<TopologyConfig>;
  /**
   * Worker threads to spread the topology over; 0 (the default) runs every
   * task on this thread (local mode). Threads need a topology loaded from a
   * module (loadTopologyModule) and run on the real clock.
   */
  threads?: number;
  /** Local mode: semantic time (timeouts, ticks, latency). Default: the real clock. */
  clock?: Clock;
  /** Local mode: the random source (ids, shuffle, partial key). Give `random` or `seed`, not both. */
  random?: RandomSource;
  /**
   * Seed every random source from this (default: crypto randomness): in
   * local mode the one host's, with threads each host's from the seed and
   * its host id. With a simulated clock and manual stepping a local run is
   * then the same every time.
   */
  seed?: number;
  /**
   * Local mode: 'auto' (the default) runs the host on the event loop;
   * 'manual' runs it only when the caller calls settle(), so a test drives
   * every step and never waits on real time.
   */
  stepping?: 'auto' | 'manual';
  /** Threads: how tasks are placed on hosts (default: even). */
  strategy?: SchedulingStrategy;
  /** Threads: V8 old-generation heap limit per worker thread, in MB (default 1024). */
  threadHeapMb?: number;
  /** Threads: restarts of a host without a stable minute between before it is given up (default 10). */
  maxHostRestarts?: number;
  /** Replace spouts by fixed input (the testing kit). */
  mocks?: MockedSources;
  /** Start active (default) or inactive. */
  active?: boolean;
  /** Receives every emitted tuple (the testing kit uses it). */
  capture?: CaptureSink;
  /** Where checkpoints go and come from, when the topology checkpoints (checkpointIntervalMs > 0). */
  state?: RunStateOptions;
}

/** The state store of a run that checkpoints. See docs/state.md. */
export interface RunStateOptions {
  /** The store (opened by the run, closed when it is killed). Default: an EmbeddedStore in `dir`. */
  store?: StateStore;
  /** The embedded store's directory (default .squall/state/<topology>, under the working directory). */
  dir?: string;
  /** Restore from the newest completed checkpoint at start (default true); false starts from empty state and checkpoints over it. */
  restore?: boolean;
  /** Drop the state of components the topology no longer has, instead of failing with E_STATE_UNKNOWN_COMPONENT. */
  dropUnknown?: boolean;
  /**
   * When the newest checkpoint is corrupt (E_STATE_CORRUPT), restore the
   * newest one that verifies instead; the corrupt ones are discarded by the
   * next checkpoint. Without it the run refuses to start.
   */
  skipCorrupt?: boolean;
}

/** A submitted topology, running in this process: created by {@link submit}. */
export interface TopologyRun {
  readonly id: string;
  readonly mode: 'local' | 'threads';
  readonly topology: Topology;
  readonly plan: Plan;
  readonly status: import('./status.ts').TopologyStatus;
  activate(): void;
  deactivate(): void;
  kill(options?: KillOptions): Promise<MetricsSnapshot>;
  /** Trees in flight across every spout task. */
  pending(): number;
  /**
   * Checkpoint now (or after the one in flight) and resolve with its id
   * once it is durable; E_CHECKPOINT_ABORTED if it is aborted, E_BAD_STATE
   * when the topology does not checkpoint.
   */
  checkpoint(): Promise<number>;
  /** Checkpoint figures; null when the topology does not checkpoint. */
  checkpoints(): CheckpointStats | null;
  metrics(): MetricsSnapshot;
  /** Bring metrics() up to date: threads ask every host; local mode is always current. */
  refresh(): Promise<void>;
  /**
   * Threads: move to `threads` worker threads, or move executors with another
   * `strategy`, without losing tuples (drain, stop, start on a new plan).
   * Local mode has one host: E_BAD_STATE.
   */
  rebalance(options?: { threads?: number; strategy?: SchedulingStrategy; waitMs?: number }): Promise<void>;
  /** Fault injection (threads): terminate one host's thread as a crash would; its supervisor restarts it. */
  crashHost(hostId: number): void;
  hosts(): HostStatus[];
  /** True when no host has work queued or a turn due (local mode; threads: always false). */
  isQuiet(): boolean;
  /**
   * For finite topologies: true when every spout task reports isDone() and
   * nothing is in flight. Throws if a spout cannot say (no isDone()).
   * Threads: from the latest reports; call refresh() first.
   */
  isDone(): boolean;
  /**
   * Manual stepping (local mode, `stepping: 'manual'`): run every task until
   * nothing moves; returns the messages handled. Timers fire only when the
   * simulated clock is moved.
   */
  settle(): number;
}

export interface KillOptions {
  /** How long to wait for trees in flight; default config.killWaitMs. */
  waitMs?: number;
  /**
   * A topology that checkpoints takes a last checkpoint once its spouts are
   * deactivated and its trees drained (default true), so a restart resumes
   * exactly where this run stopped; false stops without it (what a crash
   * leaves: the restart resumes from the last periodic checkpoint).
   */
  checkpoint?: boolean;
}

/** How often a drain (kill, rebalance) looks at the trees still in flight. */
const DRAIN_POLL_MS = 10;

/**
 * One run controller for both modes. It drives a HostGroup (the one
 * in-process host of local mode, or supervised worker-thread hosts), and
 * writes activate, deactivate, kill, rebalance, isDone, metrics and refresh
 * once. Lifecycle calls are guarded by state: activating a killed topology
 * is an E_BAD_STATE error, not a silent no-op.
 */
export class RunController extends RunLifecycle implements TopologyRun {
  readonly id = nanoid(10);
  readonly mode: 'local' | 'threads';
  readonly topology: Topology;
  private group: HostGroup;
  /** Reports of groups a rebalance replaced: their counts stay in the totals. */
  private readonly retired: HostReport[] = [];
  private readonly startedAt = performance.now();
  private active: boolean;
  private strategy: SchedulingStrategy | undefined;
  private readonly store: StateStore | null = null;
  private readonly coordinator: CheckpointCoordinator | null = null;
  /** Errors of the run itself (checkpoints, rollbacks), next to the hosts'. */
  private readonly runErrors = new ErrorLog();
  private rollingBack: Promise<void> | null = null;
  private rollbackAgain = false;
  private rollbacks = 0;
  /** Rollbacks for failed tuples since a checkpoint last completed. */
  private failureRollbacks = 0;
  private completedAtLastFailure = -1;

  /** @internal use submit() */
  constructor(
    topology: Topology,
    private readonly options: SubmitOptions,
  ) {
    super();
    const threads = checkOptions(topology, options);
    this.mode = threads > 0 ? 'threads' : 'local';
    const config: TopologyConfig = { ...topology.config, ...(options.config ?? {}) };
    validateConfig(config);
    const frozen: Topology = Object.freeze({ ...topology, config: Object.freeze(config) });
    validateBolts(frozen);
    // Worker threads load the module and apply the mocks themselves.
    this.topology = threads > 0 ? frozen : withMocks(frozen, options.mocks ?? {});
    this.active = options.active ?? true;
    this.strategy = options.strategy;
    if (config.checkpointIntervalMs > 0) {
      checkAcyclic(this.topology);
      this.store = options.state?.store ?? new EmbeddedStore({ dir: options.state?.dir ?? defaultStateDir(topology.name) });
      this.coordinator = new CheckpointCoordinator({
        store: this.store,
        topology: this.topology,
        clock: options.clock ?? realClock,
        trigger: (n) => this.group.triggerCheckpoint(n),
        notify: (n, complete) => this.group.notifyCheckpoint(n, complete),
        onError: (err) => this.runErrors.report(CHECKPOINTS_COMPONENT, 0, err),
      });
    } else if (options.state !== undefined) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        message: `state options were given but topology '${topology.name}' does not checkpoint; set config checkpointIntervalMs (e.g. 1000) to checkpoint to the store`,
      });
    }
    this.group = this.makeGroup(Math.max(1, threads));
  }

  get plan(): Plan {
    return this.group.plan;
  }

  private makeGroup(hosts: number): HostGroup {
    const o = this.options;
    const plan = planTopology(this.topology, { hosts, ...(this.strategy ? { strategy: this.strategy } : {}) });
    if (this.mode === 'local') {
      return new LocalHosts({
        topology: this.topology,
        plan,
        runId: this.id,
        clock: o.clock ?? realClock,
        random: o.random ?? (o.seed !== undefined ? new SeededRandom(o.seed) : cryptoRandom),
        capture: o.capture ?? null,
        manual: o.stepping === 'manual',
        ...(this.coordinator !== null
          ? { onCheckpoint: (e: CheckpointEvent) => this.coordinator!.onEvent(e), onRollback: (c: string, t: number, why: string) => this.taskFailed(c, t, why) }
          : {}),
      });
    }
    return new WorkerHosts({
      topology: this.topology,
      plan,
      runId: this.id,
      overrides: o.config ?? {},
      mocks: o.mocks ?? null,
      capture: o.capture ?? null,
      seed: o.seed ?? null,
      threadHeapMb: o.threadHeapMb ?? 1024,
      maxHostRestarts: o.maxHostRestarts ?? 10,
      ...(this.coordinator !== null
        ? {
            onCheckpoint: (e: CheckpointEvent) => this.coordinator!.onEvent(e),
            onCrash: (hostId: number, error: string) => this.hostCrashed(hostId, error),
            onRollback: (c: string, t: number, why: string) => this.taskFailed(c, t, why),
          }
        : {}),
    });
  }

  /** @internal */
  async start(): Promise<void> {
    let restore: ReadonlyMap<number, TaskRestore> | null = null;
    if (this.store !== null) {
      try {
        await this.store.open();
        restore = await this.restorePoint(this.options.state?.restore !== false);
      } catch (err) {
        this.status$.send({ type: 'START_FAILED' });
        await this.store.close().catch(() => {});
        throw err;
      }
    }
    const failure = await this.group.start(this.active, restore);
    if (failure) {
      this.status$.send({ type: 'START_FAILED' });
      await this.store?.close().catch(() => {});
      throw failure;
    }
    this.coordinator?.start();
    this.status$.send({ type: 'STARTED', active: this.active });
  }

  /** Find the newest checkpoint (when `restore`), tell the coordinator, and read what every task of the plan gets. */
  private async restorePoint(restore: boolean): Promise<ReadonlyMap<number, TaskRestore> | null> {
    const store = this.store!;
    const coordinator = this.coordinator!;
    coordinator.attach(this.group.plan);
    if (!restore) {
      const latest = await store.latest();
      // Checkpoints go on above the newest id, from empty state (a full checkpoint: no base).
      if (latest !== null) coordinator.resumeFrom({ id: latest.id, meta: null });
      coordinator.startFresh();
      return null;
    }
    const point = await findRestorePoint(store, this.topology, { dropUnknown: this.options.state?.dropUnknown === true, skipCorrupt: this.options.state?.skipCorrupt === true });
    if (point === null) return null;
    if ((point.skipped?.length ?? 0) > 0) {
      this.runErrors.report(
        CHECKPOINTS_COMPONENT,
        0,
        new SquallError({ code: 'E_STATE_CORRUPT', details: { skipped: point.skipped }, message: `checkpoint(s) ${point.skipped!.join(', ')} in ${store.location} did not verify and were passed over; restored checkpoint ${point.id}` }),
      );
    }
    coordinator.resumeFrom({ id: point.id, meta: point.meta, ...(point.skipped !== undefined ? { skipped: point.skipped } : {}) });
    return loadRestore(store, this.topology, this.group.plan, point);
  }

  /**
   * A worker thread died while the topology checkpoints: roll every host
   * back to the last completed checkpoint (stop them all, start them again
   * restoring it), so no record counts twice and none is lost.
   */
  private hostCrashed(hostId: number, error: string): void {
    this.runErrors.report(
      CHECKPOINTS_COMPONENT,
      0,
      new SquallError({ code: 'E_HOST_CRASHED', details: { host: hostId }, message: `host ${hostId} crashed (${error}); rolling the topology back to its last completed checkpoint` }),
    );
    if (this.status === 'killed') return;
    if (this.rollingBack !== null) {
      // A host of the group the rollback is starting died: roll back once more when this one is done.
      this.rollbackAgain = true;
      return;
    }
    this.rollingBack = this.rollback().finally(() => {
      this.rollingBack = null;
    });
  }

  /**
   * Checkpoint mode without ackers: a tuple failed at `component`, and only
   * a rollback processes it again. After MAX_FAILURE_ROLLBACKS rollbacks
   * with no checkpoint completed in between (a tuple that fails every
   * time), the run stops rolling back for failures: it reports
   * E_ROLLBACK_LIMIT, and failed tuples are dropped from then on.
   */
  private taskFailed(component: string, task: number, reason: string): void {
    if (this.status === 'killed') return;
    const completed = this.coordinator!.stats().completed;
    if (completed !== this.completedAtLastFailure) {
      this.completedAtLastFailure = completed;
      this.failureRollbacks = 0;
    }
    if (this.failureRollbacks >= MAX_FAILURE_ROLLBACKS) {
      this.runErrors.report(
        CHECKPOINTS_COMPONENT,
        task,
        new SquallError({
          code: 'E_ROLLBACK_LIMIT',
          component,
          message: `a tuple failed at '${component}' after ${MAX_FAILURE_ROLLBACKS} rollbacks with no checkpoint completed between them; failed tuples are now dropped (reported here): fix the bolt or the input, or run with ackers to replay single tuples`,
        }),
      );
      return;
    }
    if (this.rollingBack !== null) return;
    this.failureRollbacks++;
    this.runErrors.report(
      CHECKPOINTS_COMPONENT,
      task,
      new SquallError({ code: 'E_TUPLE_FAILED', component, message: `a tuple failed at '${component}' (${reason}); with ackers: 0 nothing replays it, so the topology rolls back to its last completed checkpoint` }),
    );
    this.rollingBack = this.rollback().finally(() => {
      this.rollingBack = null;
    });
  }

  /**
   * Stop every host and start them again restoring the last completed
   * checkpoint. A host that dies while they start (or just after) makes it
   * go round again, with a backoff; after MAX_ROLLBACK_ATTEMPTS in a row it
   * gives up and says so.
   */
  private async rollback(): Promise<void> {
    const coordinator = this.coordinator!;
    for (let attempt = 1; ; attempt++) {
      this.rollbackAgain = false;
      this.rollbacks++;
      await coordinator.stop();
      await this.group.stop();
      for (const r of this.group.reports()) this.retired.push(retire(r));
      if (this.status === 'killed') return;
      this.group = this.makeGroup(this.group.plan.hosts.length);
      let failure: SquallError | null;
      try {
        const restore = await this.restorePoint(true);
        failure = await this.group.start(this.active, restore);
      } catch (err) {
        failure = err instanceof SquallError ? err : new SquallError({ code: 'E_STATE_UNAVAILABLE', message: `rolling back failed: ${String(err)}` });
      }
      if (failure === null && !this.rollbackAgain) {
        coordinator.start();
        return;
      }
      if (failure !== null) this.runErrors.report(CHECKPOINTS_COMPONENT, 0, failure);
      if (attempt >= MAX_ROLLBACK_ATTEMPTS) {
        this.runErrors.report(
          CHECKPOINTS_COMPONENT,
          0,
          new SquallError({ code: 'E_HOST_CRASHED', details: { gaveUp: true }, message: `rolling back failed ${attempt} times in a row; gave up (the topology is stopped; kill it and see the errors above)` }),
        );
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)).unref());
    }
  }

  /** The checkpoint a graceful kill takes: failures are reported, never fatal to the kill. */
  private async lastCheckpoint(waitMs: number): Promise<void> {
    const done = this.coordinator!.checkpointNow().then(
      () => true,
      (err: unknown) => {
        this.runErrors.report(CHECKPOINTS_COMPONENT, 0, err);
        return true;
      },
    );
    if (this.options.stepping === 'manual') {
      // Nothing runs by itself: settle until the checkpoint's commit has resolved.
      let finished = false;
      void done.then(() => (finished = true));
      const deadline = performance.now() + Math.max(waitMs, 1_000);
      while (!finished && performance.now() < deadline) {
        this.group.settle();
        await new Promise((r) => setImmediate(r));
      }
      return;
    }
    await Promise.race([done, new Promise((r) => setTimeout(r, Math.max(waitMs, this.topology.config.checkpointTimeoutMs)).unref())]);
  }

  async checkpoint(): Promise<number> {
    if (this.coordinator === null) {
      throw new SquallError({
        code: 'E_BAD_STATE',
        message: `topology '${this.topology.name}' does not checkpoint; set config checkpointIntervalMs to checkpoint`,
      });
    }
    this.expect(['active', 'inactive'], 'checkpoint');
    return this.coordinator.checkpointNow();
  }

  checkpoints(): CheckpointStats | null {
    if (this.coordinator === null) return null;
    return { ...this.coordinator.stats(), rollbacks: this.rollbacks };
  }

  activate(): void {
    this.expect(['active', 'inactive'], 'activate');
    this.status$.send({ type: 'ACTIVATE' });
    this.active = true;
    this.group.setActive(true);
  }

  deactivate(): void {
    this.expect(['active', 'inactive'], 'deactivate');
    this.status$.send({ type: 'DEACTIVATE' });
    this.active = false;
    this.group.setActive(false);
  }

  protected async doKill(waitMs: number, checkpoint: boolean): Promise<MetricsSnapshot> {
    this.active = false;
    this.group.setActive(false);
    await this.drain(waitMs);
    await this.rollingBack;
    if (checkpoint && this.coordinator !== null) await this.lastCheckpoint(waitMs);
    await this.coordinator?.stop();
    await this.group.stop();
    await this.store?.close();
    return this.metrics();
  }

  /**
   * Move to `threads` worker threads (or re-place tasks with the current
   * count): deactivate the spouts, let trees in flight finish, stop every
   * host, and start them again on a new plan. Spouts are closed and opened
   * again, so a spout that keeps its position only in memory starts over:
   * back spouts with a durable source (their pending trees are drained
   * first, so nothing is lost either way).
   */
  async rebalance(options: { threads?: number; strategy?: SchedulingStrategy; waitMs?: number } = {}): Promise<void> {
    if (this.mode === 'local') {
      throw new SquallError({
        code: 'E_BAD_STATE',
        message: `topology '${this.topology.name}' runs in local mode on one thread; submit it with threads to rebalance`,
      });
    }
    this.expect(['active', 'inactive'], 'rebalance');
    const threads = options.threads ?? this.group.plan.hosts.length;
    if (!Number.isInteger(threads) || threads < 1) {
      throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `rebalance needs a whole number of threads, at least 1; got ${String(threads)}` });
    }
    const wasActive = this.active;
    if (options.strategy) this.strategy = options.strategy;
    this.status$.send({ type: 'REBALANCE' });
    this.group.setActive(false);
    await this.drain(options.waitMs ?? this.topology.config.killWaitMs);
    // A topology that checkpoints moves its state with it: a checkpoint now, restored on the new plan.
    if (this.coordinator !== null) {
      await this.lastCheckpoint(options.waitMs ?? this.topology.config.killWaitMs);
      await this.coordinator.stop();
    }
    await this.group.stop();
    for (const r of this.group.reports()) this.retired.push(retire(r));
    this.active = wasActive;
    this.group = this.makeGroup(threads);
    let failure: SquallError | null;
    try {
      const restore = this.coordinator !== null ? await this.restorePoint(true) : null;
      failure = await this.group.start(wasActive, restore);
    } catch (err) {
      failure = err instanceof SquallError ? err : new SquallError({ code: 'E_STATE_UNAVAILABLE', message: `restoring on the new plan failed: ${String(err)}` });
    }
    if (failure === null) this.coordinator?.start();
    if (failure) {
      this.status$.send({ type: 'REBALANCE_FAILED' });
      throw failure;
    }
    this.status$.send({ type: 'REBALANCED', active: wasActive });
  }

  /** Wait (up to waitMs) for the trees in flight to finish; in manual stepping, run the hosts instead. */
  private async drain(waitMs: number): Promise<void> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      await this.group.refresh();
      if (this.pending() === 0 || performance.now() >= deadline) return;
      if (this.options.stepping === 'manual') {
        // Simulated time stands still: what settling cannot finish waits for a clock the caller moves.
        if (this.group.settle() === 0) return;
        continue;
      }
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    }
  }

  pending(): number {
    let n = 0;
    for (const r of this.group.reports()) for (const e of r.executors) n += e.pending;
    return n;
  }

  metrics(): MetricsSnapshot {
    const own: HostReport = {
      host: -2,
      executors: [],
      errors: this.runErrors.list(),
      errorCounts: Object.fromEntries(this.runErrors.perComponent),
      errorsDropped: this.runErrors.dropped,
    };
    const m = snapshot([...this.retired, ...this.group.reports(), own], performance.now() - this.startedAt);
    const cp = this.checkpoints();
    return cp === null ? m : { ...m, checkpoints: cp };
  }

  refresh(): Promise<void> {
    return this.group.refresh();
  }

  crashHost(hostId: number): void {
    if (this.mode === 'local') {
      throw new SquallError({ code: 'E_BAD_STATE', message: 'crashHost needs worker threads: local mode has no thread to crash' });
    }
    this.group.crashHost(hostId);
  }

  hosts(): HostStatus[] {
    const list = this.group.hosts();
    if (this.status === 'killed') for (const h of list) if (h.state === 'running') h.state = 'stopped';
    return list;
  }

  isQuiet(): boolean {
    return this.group.isQuiet();
  }

  isDone(): boolean {
    // A host that is restarting has no report: its spouts cannot say yet.
    if (this.mode === 'threads' && this.group.hosts().some((h) => h.state !== 'running')) return false;
    let spouts = 0;
    for (const r of this.group.reports()) {
      if (r.retired === true) continue; // gone hosts: their tasks run elsewhere now
      for (const e of r.executors) {
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
    // Threads report a moment already past; local mode also checks nothing is still queued.
    return spouts > 0 && (this.mode === 'threads' || this.group.isQuiet());
  }

  settle(): number {
    if (this.options.stepping !== 'manual') {
      throw new SquallError({
        code: 'E_BAD_STATE',
        message: `topology '${this.topology.name}' runs on the event loop; submit it with stepping: 'manual' (local mode) to drive it with settle()`,
      });
    }
    return this.group.settle();
  }
}

/** Rollbacks for failed tuples without a checkpoint completing in between, before failed tuples are dropped. */
const MAX_FAILURE_ROLLBACKS = 5;
/** Rollbacks in a row that fail (a host dying again as they start) before the run gives up. */
const MAX_ROLLBACK_ATTEMPTS = 10;

/**
 * Let each bolt check the config it will run with (Bolt.validate): a
 * windowed bolt whose window outlasts messageTimeoutMs, say. On a
 * throwaway instance, as the builder makes one to read the streams.
 */
function validateBolts(topology: Topology): void {
  for (const def of topology.components.values()) {
    if (def.kind !== 'bolt') continue;
    let instance: { validate?: (config: Readonly<Record<string, unknown>>, id: string) => void };
    try {
      instance = (def.factory as () => typeof instance)();
    } catch {
      continue; // the factory's own error comes, with its code, when the task starts
    }
    if (typeof instance?.validate === 'function') instance.validate({ ...topology.config, ...def.config }, def.id);
  }
}

/** The name the run's own checkpoint errors are reported under. */
export const CHECKPOINTS_COMPONENT = '__checkpoints';

/**
 * Checkpoints need a dataflow without cycles: a barrier that comes back
 * around a loop would wait for itself. E_CHECKPOINT_CYCLE names the loop.
 */
function checkAcyclic(topology: Topology): void {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 1);
    stack.push(id);
    for (const def of topology.components.values()) {
      if (!def.inputs.some((i) => i.component === id)) continue;
      const s = state.get(def.id);
      if (s === 1) {
        const loop = [...stack.slice(stack.indexOf(def.id)), def.id];
        throw new SquallError({
          code: 'E_CHECKPOINT_CYCLE',
          component: def.id,
          message: `topology '${topology.name}' has a loop (${loop.join(' -> ')}) and checkpoints (checkpointIntervalMs > 0): a barrier would wait for itself around the loop; break the loop or turn checkpoints off`,
        });
      }
      if (s === undefined) visit(def.id);
    }
    stack.pop();
    state.set(id, 2);
  };
  for (const def of topology.components.values()) if (!state.has(def.id)) visit(def.id);
}

/** A report of hosts that are gone: counts stay, nothing is pending or queued there any more. */
function retire(report: HostReport): HostReport {
  return { ...report, retired: true, executors: report.executors.map((e) => ({ ...e, pending: 0, queued: 0, done: null })) };
}

/** Options that cannot apply to the mode asked for are errors, never silently ignored. Returns the thread count. */
function checkOptions(topology: Topology, o: SubmitOptions): number {
  const threads = o.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `threads must be a whole number (0 for local mode); got ${String(threads)}` });
  }
  if (o.stepping !== undefined && o.stepping !== 'auto' && o.stepping !== 'manual') {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `stepping must be 'auto' or 'manual'; got ${String(o.stepping)}` });
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed)) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: `seed must be an integer; got ${String(o.seed)}` });
  }
  if (o.seed !== undefined && o.random !== undefined) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: 'give a seed or a random source, not both: a seed makes a SeededRandom of its own' });
  }
  if (threads === 0) {
    for (const key of ['strategy', 'threadHeapMb', 'maxHostRestarts'] as const) {
      if (o[key] !== undefined) {
        throw new SquallError({
          code: 'E_BAD_CONFIG',
          message: `${key} applies to worker threads, and this run is in local mode on one thread; submit with threads: N to use it, or leave it out`,
        });
      }
    }
    return 0;
  }
  const localOnly = [
    ['clock', 'a simulated clock drives local mode only: worker threads run on the real clock; submit without threads to test on simulated time'],
    ['random', 'worker threads draw from a random source each; give a seed instead, which seeds every host'],
  ] as const;
  for (const [key, why] of localOnly) {
    if (o[key] !== undefined) throw new SquallError({ code: 'E_BAD_CONFIG', message: `${key} cannot apply with threads: ${why}` });
  }
  if (o.stepping === 'manual') {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: "stepping: 'manual' drives the one host of local mode; worker threads always run on their own" });
  }
  if (topology.source === undefined) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `topology '${topology.name}' was not loaded from a module, so worker threads cannot build it; load it with loadTopologyModule(path) (the CLI does) to run it with threads`,
    });
  }
  return threads;
}

/**
 * Run a topology in this process: on this thread, or spread over worker
 * threads with `threads: N`. Resolves once every task is open and prepared.
 */
export async function submit(topology: Topology, options: SubmitOptions = {}): Promise<TopologyRun> {
  const run = new RunController(topology, options);
  await run.start();
  return run;
}
