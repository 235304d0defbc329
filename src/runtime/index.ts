export { realClock, SimulatedClock } from './clock.ts';
export type { Clock } from './clock.ts';
export { cryptoRandom, SeededRandom } from './random.ts';
export type { RandomSource } from './random.ts';
export { submit, LocalRun } from './run.ts';
export type { HostStatus, KillOptions, SubmitOptions, TopologyRun } from './run.ts';
export type { CaptureSink } from './host-link.ts';
export type { ComponentMetrics, HostMetrics, MetricsSnapshot, ReportedError } from './metrics.ts';
export type { TopologyStatus } from './status.ts';
