import type { SquallError } from '../errors/index.ts';
import type { TaskRestore } from '../kernel/index.ts';
import type { Plan } from '../scheduler/index.ts';
import type { HostReport } from './metrics.ts';
import type { HostState } from './supervisor.ts';

/** A host (thread) as its supervisor sees it. */
export interface HostStatus {
  host: number;
  state: HostState;
  restarts: number;
  lastError: string | null;
  tasks: number;
}

/**
 * The hosts of one plan, as the run controller drives them. Two kinds: the
 * in-process host of local mode (LocalHosts, one host on this thread) and
 * worker-thread hosts (WorkerHosts, one per thread, supervised). The
 * controller writes the lifecycle once over this interface.
 */
export interface HostGroup {
  readonly plan: Plan;
  /**
   * Open every task on every host (restoring each from `restore`, by task
   * id, when given); resolves with the first failure (hosts left stopped),
   * or null.
   */
  start(active: boolean, restore?: ReadonlyMap<number, TaskRestore> | null): Promise<SquallError | null>;
  /** Checkpoint n starts at every spout task. */
  triggerCheckpoint(n: number): void;
  /** Tell every task checkpoint n completed (true) or was aborted (false). */
  notifyCheckpoint(n: number, complete: boolean): void;
  setActive(active: boolean): void;
  /** Bring reports() up to date (threads ask their hosts; in-process is always current). */
  refresh(): Promise<void>;
  /** The latest report of every host, live and retired, and one for host-level errors. */
  reports(): HostReport[];
  hosts(): HostStatus[];
  /** Close spouts, clean up bolts, end the threads. */
  stop(): Promise<void>;
  /** Fault injection: end a host's thread as a crash would. */
  crashHost(hostId: number): void;
  /** No host has work queued or a turn due (in-process only; threads cannot say). */
  isQuiet(): boolean;
  /** Manual stepping: run the hosts until nothing moves; returns the messages handled. */
  settle(): number;
}
