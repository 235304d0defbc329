/**
 * State storage: key groups, and the stores checkpoints are written to and
 * restored from (embedded files, PostgreSQL, Redis), behind one interface
 * (StateStore) that one conformance suite checks (test/state/). The storage
 * layer only: the state API of bolts, barriers, the coordinator and recovery
 * build on it. See docs/state.md.
 *
 * The PostgreSQL and Redis clients (pg, ioredis) are loaded when such a
 * store opens, not when this module is imported.
 */
export {
  DEFAULT_MAX_PARALLELISM,
  MAX_MAX_PARALLELISM,
  keyGroupOf,
  keyGroupRangeOf,
  taskIndexForKeyGroup,
  checkMaxParallelism,
  checkParallelism,
  mixHash,
} from './key-groups.ts';
export type { KeyGroupRange } from './key-groups.ts';
export type {
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
} from './api.ts';
export type {
  StateStore,
  CheckpointWriter,
  CheckpointInfo,
  CheckpointMetadata,
  LatestCheckpoint,
  LatestOptions,
  SkippedCheckpoint,
  KeyedBatch,
  OperatorEntry,
  BeginOptions,
  FaultHook,
} from './types.ts';
export { DEFAULT_RETAIN } from './base.ts';
export type { StoreOptionsBase } from './base.ts';
export { EmbeddedStore, defaultStateDir } from './embedded.ts';
export type { EmbeddedStoreOptions, CompactionOptions } from './embedded.ts';
export { PostgresStore } from './postgres.ts';
export type { PostgresStoreOptions } from './postgres.ts';
export { RedisStore } from './redis.ts';
export type { RedisStoreOptions } from './redis.ts';
export { crc32, crc32Js, nativeCrc32 } from './crc32.ts';
export { KeyedStateBackend, keyString, KEY_SEPARATOR } from './keyed.ts';
export type { KeyedChanges, KeySelector, KeyedInput, KeyedStateBackendOptions, TimerFire } from './keyed.ts';
export { encodeValue, decodeValue } from './value-codec.ts';
