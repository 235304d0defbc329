/**
 * squall's replacement for kafkajs's read_committed filter
 * (src/kafka/client/kafkajs-read-committed.ts), on fetch responses as the
 * broker shapes them: aborted transactions listed by the offset of their
 * abort marker, not by their first offset.
 */
import { describe, expect, it } from 'vitest';
import { filterAborted, readCommittedFix } from '../../src/kafka/index.ts';

interface Msg {
  offset: string;
  key?: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

const rec = (offset: number, producerId: string, inTransaction = true): Msg => ({ offset: String(offset), key: null, batchContext: { producerId, inTransaction } });
const marker = (offset: number, producerId: string, abort: boolean): Msg => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, abort ? 0 : 1]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const offsets = (ms: Msg[]) => ms.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

describe('read_committed filtering of aborted transactions', () => {
  it('is installed in place of kafkajs\'s own (squall\'s Kafka client loads before kafkajs)', async () => {
    expect(readCommittedFix).toBe(true);
    // What kafkajs's batch.js calls is the fix, for consumers made with kafkajs directly too.
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    expect(require('kafkajs/src/consumer/filterAbortedMessages.js')).toBe(filterAborted);
  });

  it('drops every aborted transaction\'s records when transactions of several producers interleave and the broker lists them out of first-offset order', () => {
    // Producers 1 and 2 interleave; 2's transaction was aborted first (its marker comes first), 1's later; 3 committed.
    const messages = [rec(0, '1'), rec(1, '2'), rec(2, '3'), rec(3, '1'), rec(4, '2'), marker(5, '2', true), marker(6, '3', false), rec(7, '1'), marker(8, '1', true), rec(9, '4', false)];
    const aborted = [
      { producerId: '2', firstOffset: '1' },
      { producerId: '1', firstOffset: '0' },
    ];
    expect(offsets(filterAborted({ messages, abortedTransactions: aborted }) as Msg[])).toEqual([2, 9]);
  });

  it('keeps a producer\'s later committed transaction after its aborted one, and everything when nothing was aborted', () => {
    const messages = [rec(0, '1'), marker(1, '1', true), rec(2, '1'), marker(3, '1', false)];
    expect(offsets(filterAborted({ messages, abortedTransactions: [{ producerId: '1', firstOffset: '0' }] }) as Msg[])).toEqual([2]);
    expect(offsets(filterAborted({ messages, abortedTransactions: [] }) as Msg[])).toEqual([0, 2]);
  });
});
