/**
 * The acker: Storm's XOR ledger that tracks each spout tuple's tree, plus the
 * 64-bit ids and the id-keyed maps it runs on. Pure data; the runtime owns
 * the `__acker` tasks, their mailboxes and the clock that calls `rotate()`.
 */
export { IdSource, idHash, idToHex } from './ids.ts';
export { IdMap } from './id-map.ts';
export { RotatingMap } from './rotating-map.ts';
export { AckerLedger, ackerTaskFor } from './ledger.ts';
export type { AckerSink } from './ledger.ts';
export { SlotAllocator } from './slots.ts';
export { TraceTable } from './trace.ts';
export type { TraceHolder, TracedTimeout } from './trace.ts';
