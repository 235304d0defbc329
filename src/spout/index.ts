export type { Spout, SpoutOutputCollector } from './spout.ts';
export { ReplayingSpout } from './replaying.ts';
export type { Message, ReplayOptions } from './replaying.ts';
export { FixedTupleSpout } from './fixed-tuple-spout.ts';
export type { FixedTuples } from './fixed-tuple-spout.ts';
