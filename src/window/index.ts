/**
 * Windows over event or processing time (docs/windows.md): a windowed bolt
 * with tumbling, sliding, session, count and global windows, incremental
 * (reduce, aggregate) or full (process) functions, early and late firings,
 * a late stream, limits, and the checks of its options against the
 * topology config.
 */
export { WindowedBolt, WINDOW_STATE, UNKEYED_KEY } from './windowed-bolt.ts';
export { tumbling, sliding, session, countWindow, globalWindow, countTrigger, eventTimeTrigger } from './assigners.ts';
export { validateWindowedBolt, checkWindowOptions } from './validate.ts';
export type { WindowConfig } from './validate.ts';
export { WINDOW_RESULT_FIELDS, LATE_STREAM } from './types.ts';
export type {
  AggregateOptions,
  CountWindows,
  FiringKind,
  GlobalWindows,
  ProcessOptions,
  ReduceOptions,
  SessionWindows,
  SlidingWindows,
  TriggerAction,
  TriggerContext,
  TumblingWindows,
  WindowAggregate,
  WindowAssigner,
  WindowBounds,
  WindowLimits,
  WindowOptions,
  WindowResult,
  WindowStats,
  WindowTime,
  WindowTrigger,
} from './types.ts';
