import { SquallError } from '../errors/index.ts';
import type { Topology } from '../topology/index.ts';
import type { MetricsSnapshot } from './metrics.ts';
import { createStatusActor } from './status.ts';
import type { TopologyStatus } from './status.ts';

/**
 * The lifecycle both kinds of run share: the status machine, guards that
 * name the state a call was refused in, and a kill that runs once.
 */
export abstract class RunLifecycle {
  abstract readonly topology: Topology;
  protected readonly status$ = createStatusActor();
  private killing: Promise<MetricsSnapshot> | null = null;

  get status(): TopologyStatus {
    return this.status$.getSnapshot().value as TopologyStatus;
  }

  /**
   * Graceful kill: deactivate the spouts, let trees in flight finish (up to
   * waitMs, default config.killWaitMs), then close spouts and clean up bolts.
   * Calling it again returns the same promise.
   */
  kill(options: { waitMs?: number; checkpoint?: boolean } = {}): Promise<MetricsSnapshot> {
    if (this.killing) return this.killing;
    this.expect(['active', 'inactive'], 'kill');
    this.status$.send({ type: 'KILL' });
    this.killing = this.doKill(options.waitMs ?? this.topology.config.killWaitMs, options.checkpoint ?? true).then((m) => {
      this.status$.send({ type: 'KILLED' });
      this.status$.stop();
      return m;
    });
    return this.killing;
  }

  /** Drain and stop everything; the final metrics. */
  protected abstract doKill(waitMs: number, checkpoint: boolean): Promise<MetricsSnapshot>;

  protected expect(states: TopologyStatus[], action: string): void {
    const s = this.status;
    if (!states.includes(s)) {
      throw new SquallError({ code: 'E_BAD_STATE', message: `cannot ${action} topology '${this.topology.name}' in state '${s}'` });
    }
  }
}
