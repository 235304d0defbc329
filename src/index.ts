/**
 * squall: a Storm-style stream topology runtime. The public surface: build a
 * topology from spouts and bolts, submit it, and watch it run.
 */
export { TopologyBuilder, InputDeclarer, DEFAULT_CONFIG, ACKER_COMPONENT, loadTopologyModule } from './topology/index.ts';
export type { BoltOptions, ComponentOptions, SpoutOptions, WatermarkOptions, OutputDeclarer, Topology, TopologyConfig, TopologyContext } from './topology/index.ts';
export { BasicBolt, FailedError } from './bolt/index.ts';
export type { Anchors, BasicOutputCollector, Bolt, OutputCollector } from './bolt/index.ts';
export { ReplayingSpout, RetryQueue } from './spout/index.ts';
export type { Message, ReplayOptions, RetryOptions, Spout, SpoutOutputCollector } from './spout/index.ts';
export { Tuple, DEFAULT_STREAM } from './tuple/index.ts';
export { shuffle, fields, all, global, none, direct, localOrShuffle, partialKey, custom, fieldsHash } from './grouping/index.ts';
export type { CustomGrouping, CustomGroupingContext, GroupingSpec } from './grouping/index.ts';
export { latencyBetween, realClock, SimulatedClock, cryptoRandom, SeededRandom } from './runtime/index.ts';
export { submit } from './submit.ts';
export type { SubmitOptions, SubmittedRun } from './submit.ts';
export type { Clock, HostStatus, RandomSource, TopologyRun, KillOptions, MetricsSnapshot, ComponentMetrics, HostMetrics, ReportedError, TaskMetrics, TopologyStatus } from './runtime/index.ts';
export type { CheckpointStats, RunStateOptions } from './runtime/index.ts';
export { EmbeddedStore, PostgresStore, RedisStore, defaultStateDir, keyGroupOf, keyGroupRangeOf, DEFAULT_MAX_PARALLELISM } from './state/index.ts';
export type {
  StateStore,
  StateOptions,
  ValueState,
  MapState,
  ListState,
  ReducingState,
  Aggregator,
  AggregatingState,
  TimeDomain,
  TimerService,
  KeyedStateContext,
  RestoredState,
  CheckpointHooks,
  EmbeddedStoreOptions,
  PostgresStoreOptions,
  RedisStoreOptions,
} from './state/index.ts';
export { serveMetrics, PrometheusMetrics } from './metrics/index.ts';
export type { MetricsServer, ServeMetricsOptions, PrometheusMetricsOptions } from './metrics/index.ts';
export { serveUi } from './ui/index.ts';
export type { ServeUiOptions, UiControl, UiControlOp, UiControlRequest, UiServer } from './ui/index.ts';
export { planTopology, evenStrategy, resourceAwareStrategy, strategyByName } from './scheduler/index.ts';
export type { Plan, SchedulingStrategy, TaskInfo } from './scheduler/index.ts';
// Exactly-once sinks (docs/exactly-once.md); the transactional KafkaBolt is in squall/kafka.
export { TwoPhaseCommitSink, PostgresUpsertSink } from './sink/index.ts';
export type { PendingTransaction, TwoPhaseCommitState, PostgresUpsertSinkOptions, UpsertTransaction } from './sink/index.ts';
export { SquallError, isSquallError } from './errors/index.ts';
export type { ErrorCode, ErrorData } from './errors/index.ts';
// What `squall describe` shows, from code (the CLI's own folder: only this file is loaded).
export { describeTopology, formatDescription } from './cli/describe.ts';
export type { ComponentDescription, TopologyDescription } from './cli/describe.ts';
// Windows (docs/windows.md).
export { WindowedBolt, tumbling, sliding, session, countWindow, globalWindow, countTrigger, eventTimeTrigger, validateWindowedBolt, WINDOW_RESULT_FIELDS, LATE_STREAM } from './window/index.ts';
export type { FiringKind, TriggerAction, TriggerContext, WindowAggregate, WindowAssigner, WindowBounds, WindowLimits, WindowOptions, WindowResult, WindowStats, WindowTime, WindowTrigger } from './window/index.ts';
