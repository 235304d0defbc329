export type { Spout, SpoutOutputCollector } from './spout.ts';
export { ReplayingSpout } from './replaying.ts';
export type { Message, ReplayOptions } from './replaying.ts';
export { RetryQueue, retryPolicy, DEFAULT_RETRY_POLICY } from './retry-queue.ts';
export type { RetryOptions, RetryPolicy } from './retry-queue.ts';
export { FixedTupleSpout } from './fixed-tuple-spout.ts';
export type { FixedTuples } from './fixed-tuple-spout.ts';
