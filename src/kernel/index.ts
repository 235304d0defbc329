/**
 * The kernel: what every task runs on, and nothing above it. The executor
 * base (an actor with a bounded mailbox), the messages tasks exchange
 * (tuples, batched tracking records, signals), output streams with their
 * routes, and the link to the host that runs a task. Spout, bolt and acker
 * executors extend it (src/executor/); hosts and run controllers assemble
 * them (src/runtime/). See docs/runtime.md for the layering.
 */
export { Executor, makeContext, tracedRootFirst } from './executor.ts';
export { Mailbox } from './mailbox.ts';
export { Histogram } from './histogram.ts';
export * from './messages.ts';
export { TrackOutbox } from './track-outbox.ts';
export { OutStream, buildOutputs, buildStreamTable, checkEmit, directTaskError, notDirectError, undeclaredStream } from './outputs.ts';
export type { CaptureSink, HostLink, Message } from './host-link.ts';
export type { TaskSnapshot, TaskDecline, TaskRestore, RestoredKeyGroup, CheckpointEvent } from './checkpoint.ts';
export { KeyedHolder } from './checkpoint.ts';
