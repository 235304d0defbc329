import type { IdSource } from '../acker/index.ts';
import type { Tuple } from '../tuple/index.ts';
import type { Clock } from '../runtime/index.ts';
import type { Ctl } from './messages.ts';
import type { RandomSource } from '../runtime/index.ts';

/** Records every emitted tuple, for the testing kit. */
export interface CaptureSink {
  record(component: string, stream: string, task: number, values: readonly unknown[]): void;
}

/** What an executor needs from the host that runs it. */
export interface HostLink {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly ids: IdSource;
  readonly capture: CaptureSink | null;
  readonly ackerTasks: readonly number[];
  /** Put a message in a task's mailbox (here, or on another host). */
  deliver(task: number, msg: Tuple | Ctl): void;
  reportError(component: string, task: number, error: unknown): void;
}
