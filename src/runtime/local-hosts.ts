import { invariant } from '../errors/index.ts';
import type { SquallError } from '../errors/index.ts';
import type { TaskRestore } from '../kernel/index.ts';
import type { HostGroup, HostStatus } from './host-group.ts';
import { Host } from './host.ts';
import type { HostOptions } from './host.ts';
import type { Plan } from '../scheduler/index.ts';
import { ErrorLog, hostReport } from './metrics.ts';
import type { HostReport } from './metrics.ts';
import { wrapStartFailure } from './start-failure.ts';

/** What the one in-process host needs: a Host's options, less what LocalHosts fills in itself. */
export type LocalHostsOptions = Pick<HostOptions, 'topology' | 'plan' | 'runId' | 'clock' | 'random' | 'capture' | 'manual' | 'onCheckpoint' | 'onRollback'>;

/** Local mode: the one host of the plan, on this thread. */
export class LocalHosts implements HostGroup {
  readonly plan: Plan;
  private readonly host: Host;
  private readonly errors = new ErrorLog();
  private stopped = false;

  constructor(options: LocalHostsOptions) {
    this.plan = options.plan;
    this.host = new Host({
      ...options,
      hostId: 0,
      onError: (component, task, error) => this.errors.report(component, task, error),
    });
  }

  async start(active: boolean, restore: ReadonlyMap<number, TaskRestore> | null = null): Promise<SquallError | null> {
    this.host.setRestore(restore);
    try {
      await this.host.start();
    } catch (err) {
      await this.host.stop();
      this.stopped = true;
      return wrapStartFailure(err);
    }
    if (active) this.host.setActive(true);
    return null;
  }

  setActive(active: boolean): void {
    this.host.setActive(active);
  }

  triggerCheckpoint(n: number): void {
    this.host.triggerCheckpoint(n);
  }

  notifyCheckpoint(n: number, complete: boolean): void {
    if (complete) this.host.checkpointComplete(n);
    else this.host.checkpointAborted(n);
  }

  async refresh(): Promise<void> {}

  reports(): HostReport[] {
    return [hostReport(0, this.host.executors, this.errors, undefined, this.host.traces)];
  }

  hosts(): HostStatus[] {
    return [{ host: 0, state: this.stopped ? 'stopped' : 'running', restarts: 0, lastError: null, tasks: this.host.executors.length }];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.host.stop();
  }

  crashHost(): void {
    invariant(false, 'crashHost reached the in-process host: the controller refuses it in local mode');
  }

  isQuiet(): boolean {
    return this.host.isQuiet();
  }

  settle(): number {
    return this.host.settle();
  }
}
