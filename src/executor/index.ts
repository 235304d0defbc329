/**
 * The executors: one per task, each an actor on the kernel's Executor base.
 * A spout executor calls nextTuple and owns replay; a bolt executor runs
 * execute and turns emits, acks and fails into tuples and tracking records;
 * an acker executor runs the XOR ledger. Hosts (src/runtime/) create them.
 */
export { SpoutExecutor, TIMEOUT_BUCKETS } from './spout.ts';
export { BoltExecutor } from './bolt.ts';
export { AckerExecutor } from './acker.ts';
