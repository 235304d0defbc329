import { nanoid } from 'nanoid';
import { SquallError } from '../errors/index.ts';
import { planTopology } from '../scheduler/index.ts';
import type { Plan } from '../scheduler/index.ts';
import type { Topology, TopologyConfig } from '../topology/types.ts';
import { validateConfig } from '../topology/validate.ts';
import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import type { CaptureSink } from './host-link.ts';
import { Host } from './host.ts';
import type { MetricsSnapshot } from './metrics.ts';
import { ErrorLog, hostReport, snapshot } from './metrics.ts';
import type { RandomSource } from './random.ts';
import { cryptoRandom } from './random.ts';
import type { TopologyStatus } from './status.ts';
import { createStatusActor } from './status.ts';

export interface SubmitOptions {
  /** Overrides of the topology's config (the CLI's --set). */
  config?: Partial<TopologyConfig>;
  /** Semantic time: timeouts, ticks, latency. Default: the real clock. */
  clock?: Clock;
  random?: RandomSource;
  /** Start active (default) or inactive. */
  active?: boolean;
  /** Receives every emitted tuple (the testing kit uses it). */
  capture?: CaptureSink;
}

export interface KillOptions {
  /** How long to wait for trees in flight; default config.killWaitMs. */
  waitMs?: number;
}

/**
 * A submitted topology, running in this process. Created by {@link submit}.
 * Lifecycle calls are guarded by state: activating a killed topology is an
 * E_BAD_STATE error, not a silent no-op.
 */
export class TopologyRun {
  readonly id: string;
  readonly topology: Topology;
  readonly plan: Plan;
  private readonly hosts: Host[];
  private readonly errorLog = new ErrorLog();
  private readonly status$ = createStatusActor();
  private readonly startedAt = performance.now();
  private killing: Promise<MetricsSnapshot> | null = null;

  /** @internal use submit() */
  constructor(topology: Topology, options: SubmitOptions) {
    this.id = nanoid(10);
    const config: TopologyConfig = { ...topology.config, ...(options.config ?? {}) };
    validateConfig(config);
    this.topology = Object.freeze({ ...topology, config: Object.freeze(config) });
    this.plan = planTopology(this.topology, { hosts: 1 });
    const clock = options.clock ?? realClock;
    const random = options.random ?? cryptoRandom;
    this.hosts = this.plan.hosts.map(
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

  get status(): TopologyStatus {
    return this.status$.getSnapshot().value as TopologyStatus;
  }

  /** @internal */
  async start(active: boolean): Promise<void> {
    try {
      for (const h of this.hosts) await h.start();
    } catch (err) {
      for (const h of this.hosts) await h.stop();
      this.status$.send({ type: 'START_FAILED' });
      throw err;
    }
    this.status$.send({ type: 'STARTED', active });
    if (active) for (const h of this.hosts) h.setActive(true);
  }

  activate(): void {
    this.expect(['active', 'inactive'], 'activate');
    this.status$.send({ type: 'ACTIVATE' });
    for (const h of this.hosts) h.setActive(true);
  }

  deactivate(): void {
    this.expect(['active', 'inactive'], 'deactivate');
    this.status$.send({ type: 'DEACTIVATE' });
    for (const h of this.hosts) h.setActive(false);
  }

  /**
   * Graceful kill: deactivate the spouts, let trees in flight finish (up to
   * waitMs), then close spouts and clean up bolts. Returns the final metrics.
   * Calling it again returns the same promise.
   */
  kill(options: KillOptions = {}): Promise<MetricsSnapshot> {
    if (this.killing) return this.killing;
    this.expect(['active', 'inactive'], 'kill');
    this.status$.send({ type: 'KILL' });
    this.killing = this.doKill(options.waitMs ?? this.topology.config.killWaitMs);
    return this.killing;
  }

  private async doKill(waitMs: number): Promise<MetricsSnapshot> {
    for (const h of this.hosts) h.setActive(false);
    const deadline = performance.now() + waitMs;
    while (this.pending() > 0 && performance.now() < deadline) await sleep(5);
    for (const h of this.hosts) await h.stop();
    this.status$.send({ type: 'KILLED' });
    this.status$.stop();
    return this.metrics();
  }

  /** Trees in flight across every spout task. */
  pending(): number {
    let n = 0;
    for (const h of this.hosts) n += h.pending();
    return n;
  }

  metrics(): MetricsSnapshot {
    const reports = this.hosts.map((h, i) => hostReport(i, h.executors, this.errorLog));
    return snapshot(reports, performance.now() - this.startedAt);
  }

  /** True when no host has work queued or a turn due. */
  isQuiet(): boolean {
    return this.hosts.every((h) => h.isQuiet());
  }

  /**
   * For finite topologies: true when every spout task reports isDone() and
   * nothing is in flight. Throws if a spout cannot say (no isDone()).
   */
  isDone(): boolean {
    for (const h of this.hosts) {
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

  private expect(states: TopologyStatus[], action: string): void {
    const s = this.status;
    if (!states.includes(s)) {
      throw new SquallError({
        code: 'E_BAD_STATE',
        message: `cannot ${action} topology '${this.topology.name}' in state '${s}'`,
      });
    }
  }
}

/** Run a topology in this process. Resolves once every task is open and prepared. */
export async function submit(topology: Topology, options: SubmitOptions = {}): Promise<TopologyRun> {
  const run = new TopologyRun(topology, options);
  await run.start(options.active ?? true);
  return run;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
