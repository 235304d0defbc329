export { BasicBolt, FailedError, isBasicBolt } from './bolt.ts';
export type { Anchors, BasicOutputCollector, Bolt, OutputCollector } from './bolt.ts';
