/**
 * squall/testing: test topologies the way squall tests itself. Run a topology
 * on fixed input to completion and get every emitted tuple back, on a
 * simulated clock that moves only when the test (or the run) moves it.
 */
export { completeTopology } from './complete.ts';
export type { CompleteOptions, CompleteResult } from './complete.ts';
export { FixedTupleSpout } from '../spout/index.ts';
export type { FixedTuples } from '../spout/index.ts';
export { CaptureBolt, TupleCapture } from './capture-bolt.ts';
export { SimulatedClock, SeededRandom } from '../runtime/index.ts';
// Unit-testing one bolt's execute without a topology (Storm's Testing.testTuple and a mock collector).
export { testTuple, tickTuple } from './test-tuple.ts';
export type { TestTupleOptions } from './test-tuple.ts';
export { RecordingCollector, declaredStreams, executeBasic, executeBolt, prepareBolt, testContext } from './recording-collector.ts';
export type { CollectorEvent, DeclaredStream, Declaring, EmitEvent, PrepareOptions, TestContextOptions } from './recording-collector.ts';
