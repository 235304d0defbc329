import { nanoid } from 'nanoid';
import { SquallError } from '../errors/index.ts';
import { planTopology } from '../scheduler/index.ts';
import type { Plan, SchedulingStrategy } from '../scheduler/index.ts';
import { withMocks } from './mocks.ts';
import type { MockedSources } from './mocks.ts';
import type { HostState } from './supervisor.ts';
import type { Topology, TopologyConfig } from '../topology/index.ts';
import { validateConfig } from '../topology/index.ts';
import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import type { CaptureSink } from '../kernel/index.ts';
import { Host } from './host.ts';
import type { MetricsSnapshot } from './metrics.ts';
import { ErrorLog, hostReport, snapshot } from './metrics.ts';
import type { RandomSource } from './random.ts';
import { cryptoRandom } from './random.ts';
import type { TopologyStatus } from './status.ts';
import { RunLifecycle } from './lifecycle.ts';

export interface SubmitOptions {
  /** Overrides of the topology's config (the CLI's --set). */
  config?: Partial<TopologyConfig>;
  /**
   * Worker threads to spread the topology over; 0 (the default) runs every
   * task on this thread (local mode). Threads need a topology loaded from a
   * module (loadTopologyModule) and run on the real clock.
   */
  threads?: number;
  /** Semantic time: timeouts, ticks, latency. Default: the real clock. Local mode only. */
  clock?: Clock;
  /** Local mode: the random source. */
  random?: RandomSource;
  /** Threads: seed every host's random source from this (default: crypto randomness). */
  seed?: number;
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
}

/** A host (thread) as its supervisor sees it. */
export interface HostStatus {
  host: number;
  state: HostState;
  restarts: number;
  lastError: string | null;
  tasks: number;
}

/** A submitted topology, running in this process: created by {@link submit}. */
export interface TopologyRun {
  readonly id: string;
  readonly mode: 'local' | 'threads';
  readonly topology: Topology;
  readonly plan: Plan;
  readonly status: TopologyStatus;
  activate(): void;
  deactivate(): void;
  kill(options?: KillOptions): Promise<MetricsSnapshot>;
  /** Trees in flight across every spout task. */
  pending(): number;
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
   */
  isDone(): boolean;
}

export interface KillOptions {
  /** How long to wait for trees in flight; default config.killWaitMs. */
  waitMs?: number;
}

/**
 * A topology running on this thread (local mode). Lifecycle calls are guarded
 * by state: activating a killed topology is an E_BAD_STATE error, not a
 * silent no-op.
 */
export class LocalRun extends RunLifecycle implements TopologyRun {
  readonly mode = 'local' as const;
  readonly id: string;
  readonly topology: Topology;
  readonly plan: Plan;
  private readonly hostList: Host[];
  private readonly errorLog = new ErrorLog();
  private readonly startedAt = performance.now();

  /** @internal use submit() */
  constructor(topology: Topology, options: SubmitOptions) {
    super();
    this.id = nanoid(10);
    const config: TopologyConfig = { ...topology.config, ...(options.config ?? {}) };
    validateConfig(config);
    this.topology = withMocks(Object.freeze({ ...topology, config: Object.freeze(config) }), options.mocks ?? {});
    this.plan = planTopology(this.topology, { hosts: 1 });
    const clock = options.clock ?? realClock;
    const random = options.random ?? cryptoRandom;
    this.hostList = this.plan.hosts.map(
      (h) =>
        new Host({
          hostId: h.hostId,
          topology: this.topology,
          plan: this.plan,
          runId: this.id,
          clock,
          random,
          capture: options.capture ?? null,
          onError: (component, task, error) => this.errorLog.report(component, task, error),
        }),
    );
  }

  /** @internal */
  async start(active: boolean): Promise<void> {
    try {
      for (const h of this.hostList) await h.start();
    } catch (err) {
      for (const h of this.hostList) await h.stop();
      this.status$.send({ type: 'START_FAILED' });
      throw err;
    }
    this.status$.send({ type: 'STARTED', active });
    if (active) for (const h of this.hostList) h.setActive(true);
  }

  activate(): void {
    this.expect(['active', 'inactive'], 'activate');
    this.status$.send({ type: 'ACTIVATE' });
    for (const h of this.hostList) h.setActive(true);
  }

  deactivate(): void {
    this.expect(['active', 'inactive'], 'deactivate');
    this.status$.send({ type: 'DEACTIVATE' });
    for (const h of this.hostList) h.setActive(false);
  }

  protected async doKill(waitMs: number): Promise<MetricsSnapshot> {
    for (const h of this.hostList) h.setActive(false);
    const deadline = performance.now() + waitMs;
    while (this.pending() > 0 && performance.now() < deadline) await sleep(5);
    for (const h of this.hostList) await h.stop();
    return this.metrics();
  }

  pending(): number {
    let n = 0;
    for (const h of this.hostList) n += h.pending();
    return n;
  }

  metrics(): MetricsSnapshot {
    const reports = this.hostList.map((h, i) => hostReport(i, h.executors, this.errorLog));
    return snapshot(reports, performance.now() - this.startedAt);
  }

  async refresh(): Promise<void> {}

  crashHost(): void {
    throw new SquallError({ code: 'E_BAD_STATE', message: 'crashHost needs worker threads: local mode has no thread to crash' });
  }

  async rebalance(): Promise<void> {
    throw new SquallError({
      code: 'E_BAD_STATE',
      message: `topology '${this.topology.name}' runs in local mode on one thread; submit it with threads to rebalance`,
    });
  }

  hosts(): HostStatus[] {
    const state = this.status === 'killed' ? 'stopped' : 'running';
    return this.hostList.map((h, i) => ({ host: i, state, restarts: 0, lastError: null, tasks: h.executors.length }));
  }

  isQuiet(): boolean {
    return this.hostList.every((h) => h.isQuiet());
  }

  isDone(): boolean {
    for (const h of this.hostList) {
      for (const s of h.spouts) {
        if (!s.hasDoneCheck()) {
          throw new SquallError({
            code: 'E_BAD_STATE',
            component: s.component,
            message: `spout '${s.component}' has no isDone(), so a run to completion cannot tell when it has finished; mock it with fixed input or implement isDone()`,
          });
        }
        if (!s.isDone()) return false;
      }
    }
    return this.pending() === 0 && this.isQuiet();
  }

}

/**
 * Run a topology in this process: on this thread, or spread over worker
 * threads with `threads: N`. Resolves once every task is open and prepared.
 */
export async function submit(topology: Topology, options: SubmitOptions = {}): Promise<TopologyRun> {
  const threads = options.threads ?? 0;
  if (threads > 0) {
    if (options.clock !== undefined) {
      throw new SquallError({
        code: 'E_BAD_ARGUMENT',
        message: 'a simulated clock drives local mode only: worker threads run on the real clock; submit without threads to test on simulated time',
      });
    }
    const { ThreadedRun } = await import('./threaded-run.ts');
    const run = new ThreadedRun(topology, { ...options, threads });
    await run.start();
    return run;
  }
  if (!Number.isInteger(threads) || threads < 0) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `threads must be a whole number (0 for local mode); got ${String(threads)}` });
  }
  const run = new LocalRun(topology, options);
  await run.start(options.active ?? true);
  return run;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
