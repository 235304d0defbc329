import type { MessagePort } from 'node:worker_threads';
import type { ErrorData } from '../../errors/index.ts';
import type { CheckpointEvent, TaskRestore } from '../../kernel/index.ts';
import type { Plan } from '../../scheduler/index.ts';
import type { TopologyConfig } from '../../topology/index.ts';
import type { HostReport } from '../metrics.ts';
import type { MockedSources } from '../mocks.ts';

/** Everything a worker needs to run one host: plain data and ports, sent with pool.run. */
export interface HostInit {
  runId: string;
  hostId: number;
  /** Counts restarts of this host: 0 for the first start. */
  generation: number;
  file: string;
  exportName: string;
  config: Partial<TopologyConfig>;
  mocks: MockedSources | null;
  plan: Plan;
  active: boolean;
  capture: boolean;
  /** Seed for the host's random source; null for crypto randomness. */
  seed: number | null;
  reportEveryMs: number;
  ctl: MessagePort;
  peers: { hostId: number; port: MessagePort }[];
  /** What this host's tasks restore from (by task id), or null for a fresh start. */
  restore: [number, TaskRestore][] | null;
}

/** One emitted tuple recorded for the testing kit. */
export type CaptureRecord = [component: string, stream: string, task: number, values: unknown[]];

/** Main thread → host. */
export type ToHost =
  | { t: 'activate' }
  | { t: 'deactivate' }
  | { t: 'report?'; id: number }
  | { t: 'peer'; hostId: number; port: MessagePort }
  | { t: 'checkpoint'; id: number }
  | { t: 'checkpoint-done'; id: number; complete: boolean }
  | { t: 'stop' };

/** Host → main thread. */
export type FromHost =
  | { t: 'ready' }
  | { t: 'start-failed'; error: ErrorData; stack: string | undefined }
  | { t: 'report'; id: number | null; report: HostReport; captured: CaptureRecord[] | null }
  | { t: 'checkpoint-event'; event: CheckpointEvent }
  | { t: 'rollback'; component: string; task: number; reason: string };

/** What the host task resolves with when told to stop. */
export interface HostExit {
  report: HostReport;
  captured: CaptureRecord[] | null;
}
