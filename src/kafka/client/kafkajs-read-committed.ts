/**
 * A fix for kafkajs 2.2.4's read_committed filtering, installed before
 * kafkajs loads (import this module before 'kafkajs').
 *
 * A fetch response lists the aborted transactions of the fetched range
 * (producer id, first offset), in the order the broker's transaction index
 * has them: by the offset of their abort marker, not by their first offset.
 * kafkajs (src/consumer/filterAbortedMessages.js) assumes the list is sorted
 * by first offset and takes at most one entry per record, so when aborted
 * transactions of several producers interleave (exactly what fencing a
 * dead run's producers leaves behind) records of aborted transactions reach
 * read_committed consumers. This filter does what the Java consumer does:
 * entries sorted by first offset, every entry that has started by a record
 * marks its producer aborted until that producer's abort marker.
 *
 * kafkajs's batch.js binds the filter when it loads, so the fix must be in
 * Node's module cache first; `readCommittedFix` says whether it is.
 */
import { createRequire } from 'node:module';
import Module from 'node:module';

interface RawMessage {
  offset: string;
  key?: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId: string; inTransaction: boolean };
}

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

const ABORT_KEY = Buffer.from([0, 0, 0, 0]);

/** The records of `messages` (in offset order) that no aborted transaction wrote; control records are kept (kafkajs drops them after). */
export function filterAborted({ messages, abortedTransactions }: { messages: RawMessage[]; abortedTransactions?: AbortedTransaction[] }): RawMessage[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const queue = [...abortedTransactions].sort((a, b) => {
    const d = BigInt(a.firstOffset) - BigInt(b.firstOffset);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  let next = 0;
  const aborted = new Set<string>();
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    while (next < queue.length && BigInt(queue[next]!.firstOffset) <= offset) aborted.add(String(queue[next++]!.producerId));
    const ctx = m.batchContext;
    if (ctx === undefined) return true;
    const pid = String(ctx.producerId);
    if (m.isControlRecord) {
      if (m.key && Buffer.from(m.key).equals(ABORT_KEY)) aborted.delete(pid);
      return true;
    }
    return !(ctx.inTransaction && aborted.has(pid));
  });
}

const require = createRequire(import.meta.url);

function install(): boolean {
  let filterPath: string;
  let batchPath: string;
  try {
    filterPath = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
    batchPath = require.resolve('kafkajs/src/consumer/batch.js');
  } catch {
    return false; // another kafkajs layout: nothing to fix here
  }
  const cached = require.cache[filterPath];
  if (cached !== undefined) return cached.exports === filterAborted;
  if (require.cache[batchPath] !== undefined) return false; // kafkajs loaded first: too late
  const m = new Module(filterPath);
  m.filename = filterPath;
  m.loaded = true;
  m.exports = filterAborted;
  require.cache[filterPath] = m;
  return true;
}

/** Whether kafkajs in this process filters aborted transactions with {@link filterAborted}. */
export const readCommittedFix: boolean = install();
