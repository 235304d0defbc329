import { SquallError } from '../errors/index.ts';
import type { MetricsSnapshot } from '../runtime/index.ts';
import type { TopologyRun } from '../runtime/index.ts';
import type { TopologyStatus } from '../runtime/index.ts';
import { parseStrategy } from './args.ts';
import type { ControlRequest } from './control.ts';
import { hostReports } from './summary.ts';
import type { HostReport, RunReport } from './summary.ts';

/** What `squall status` gets back (and prints with --json). */
export interface ControlStatus {
  topology: string;
  runId: string;
  /** The process running the topology. */
  pid: number;
  /** The control socket asked. */
  control: string;
  status: TopologyStatus;
  mode: 'local' | 'threads';
  /** Worker threads; 0 in local mode (everything on the run's main thread). */
  threads: number;
  /** The strategy of the current plan. */
  strategy: string;
  uptimeMs: number;
  /** Per host: supervisor state, restarts, tasks and counters (local mode: the one main thread). */
  hosts: HostReport[];
  totals: MetricsSnapshot['totals'];
  /** Error reports so far, repeats included. */
  errors: number;
}

/** What activate, deactivate and rebalance get back: the state once done. */
export interface LifecycleResult {
  topology: string;
  runId: string;
  status: TopologyStatus;
  threads: number;
  strategy: string;
}

/** Why the control asked the run to stop. */
export type ControlStop = 'kill' | 'failed';

/**
 * The run's side of the control socket. Requests are served one at a time in
 * the order they came (a status asked during a rebalance waits for it). A
 * kill takes its turn like the others to ask the run to stop, then waits
 * outside the queue for the run to finish, so status still answers while the
 * kill drains. Once the run is stopping, activate, deactivate and rebalance
 * are refused with E_BAD_STATE.
 */
export class RunControl {
  private run: TopologyRun | null = null;
  private chain: Promise<void> = Promise.resolve();
  private stopping$ = false;
  private resolveStop: (reason: ControlStop) => void = () => {};
  private resolveFinished: (report: RunReport) => void = () => {};
  private rejectFinished: (err: unknown) => void = () => {};
  private readonly finished: Promise<RunReport>;
  /** Resolves when a kill request came, or a rebalance left the topology dead. */
  readonly stopRequested: Promise<ControlStop>;
  /** The wait for trees in flight that the kill request asked for, if any. */
  killWaitMs: number | undefined;
  /** The error of a rebalance that killed the topology: the run ends with it. */
  failure: unknown = undefined;

  constructor(
    readonly topology: string,
    readonly path: string,
    private readonly threadHeapMb: number,
  ) {
    this.stopRequested = new Promise((r) => (this.resolveStop = r));
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    // Nobody may be waiting for the end: that is no unhandled rejection.
    this.finished.catch(() => {});
  }

  /** Requests before this (while the topology is submitted) get E_STARTING, except kill, which stops the run once it is up. */
  attach(run: TopologyRun): void {
    this.run = run;
  }

  /** The run is stopping: lifecycle requests are refused from now on. */
  stopping(): void {
    this.stopping$ = true;
  }

  /** Resolves once the request being served (a rebalance, say) and those queued behind it are done. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.chain;
      await seen;
    } while (seen !== this.chain);
  }

  /** The run is over: kill requests get the report. */
  finish(report: RunReport): void {
    this.resolveFinished(report);
  }

  /** The run ended with an error: kill requests get it. */
  fail(err: unknown): void {
    this.rejectFinished(err);
  }

  readonly handle = async (request: ControlRequest): Promise<unknown> => {
    if (request.topology !== undefined && request.topology !== this.topology) {
      throw new SquallError({
        code: 'E_NOT_RUNNING',
        message: `no topology '${request.topology}' is running at ${this.path}: the control socket belongs to topology '${this.topology}'; pass that name, or the --control of the run you mean`,
        details: { topology: request.topology, control: this.path, running: this.topology },
      });
    }
    if (request.op === 'kill') {
      await this.exclusive(async () => {
        if (this.stopping$) return;
        this.stopping$ = true;
        this.killWaitMs = request.waitMs;
        this.resolveStop('kill');
      });
      return this.finished;
    }
    return this.exclusive(() => this.serve(request));
  };

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.chain.then(task);
    this.chain = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  private async serve(request: ControlRequest): Promise<unknown> {
    const run = this.run;
    if (run === null) {
      throw new SquallError({ code: 'E_STARTING', message: `topology '${this.topology}' is still starting; try again in a moment` });
    }
    if (request.op === 'status') return this.status(run);
    if (this.stopping$) {
      throw new SquallError({ code: 'E_BAD_STATE', message: `cannot ${request.op} topology '${this.topology}': it is stopping (${run.status})` });
    }
    switch (request.op) {
      case 'activate':
        run.activate();
        break;
      case 'deactivate':
        run.deactivate();
        break;
      case 'rebalance': {
        const threads = request.threads === undefined ? undefined : checkThreads(request.threads);
        const strategy = request.strategy === undefined ? undefined : parseStrategy(request.strategy, this.threadHeapMb);
        try {
          await run.rebalance({ ...(threads === undefined ? {} : { threads }), ...(strategy === undefined ? {} : { strategy }) });
        } catch (err) {
          // A rebalance that could not start the hosts again leaves the topology killed: end the run with its error.
          if (run.status === 'killed' && !this.stopping$) {
            this.failure = err;
            this.stopping$ = true;
            this.resolveStop('failed');
          }
          throw err;
        }
        break;
      }
    }
    return this.lifecycleResult(run);
  }

  private lifecycleResult(run: TopologyRun): LifecycleResult {
    return { topology: this.topology, runId: run.id, status: run.status, threads: threadsOf(run), strategy: run.plan.strategy };
  }

  private async status(run: TopologyRun): Promise<ControlStatus> {
    // Threads: fresh counters from every host; not while hosts are being stopped.
    if (run.status === 'active' || run.status === 'inactive') await run.refresh();
    const metrics = run.metrics();
    const hosts = run.hosts();
    return {
      topology: this.topology,
      runId: run.id,
      pid: process.pid,
      control: this.path,
      status: run.status,
      mode: run.mode,
      threads: threadsOf(run),
      strategy: run.plan.strategy,
      uptimeMs: Math.round(metrics.uptimeMs),
      hosts: hostReports(hosts, metrics.hosts),
      totals: { ...metrics.totals },
      errors: metrics.errors.reduce((n, e) => n + e.count, 0),
    };
  }
}

function threadsOf(run: TopologyRun): number {
  return run.mode === 'threads' ? run.plan.hosts.length : 0;
}

/** Rebalance threads: a whole number from 1 to 256 (as `--threads`, where 0 is local mode, which a run cannot move to). */
export function checkThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `rebalance --threads must be a whole number from 1 to 256, got '${String(n)}'` });
  }
  return n;
}
