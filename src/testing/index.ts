/**
 * squall/testing: test topologies the way squall tests itself. Run a topology
 * on fixed input to completion and get every emitted tuple back, on a
 * simulated clock that moves only when the test (or the run) moves it.
 */
export { completeTopology } from './complete.ts';
export type { CompleteOptions, CompleteResult } from './complete.ts';
export { FixedTupleSpout } from './fixed-tuple-spout.ts';
export type { FixedTuples } from './fixed-tuple-spout.ts';
export { CaptureBolt, TupleCapture } from './capture-bolt.ts';
export { SimulatedClock } from '../runtime/clock.ts';
export { SeededRandom } from '../runtime/random.ts';
