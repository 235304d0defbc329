/**
 * Transfer between threads: batches of tuples and control records packed
 * into one transferred ArrayBuffer (see codec.ts for the wire format).
 */
export { BatchEncoder, decodeBatch } from './codec.ts';
export type { BatchSink, EncodedBatch } from './codec.ts';
