import type { ConsumedRecord } from './client/index.ts';

/**
 * Turns a Kafka record into the values of one tuple. `fields` is what the
 * KafkaSpout declares on its default stream; `deserialize` returns one value
 * per field. A throw marks the record undeserializable: the spout sends it
 * to the dead-letter topic, or reports and skips it, and carries on.
 *
 * Values cross threads (threaded mode), so return what structuredClone
 * accepts; strings and numbers are the cheapest to move.
 */
export interface RecordDeserializer {
  readonly fields: readonly string[];
  deserialize(record: ConsumedRecord): unknown[];
}

const FIELDS = ['key', 'value', 'topic', 'partition', 'offset', 'timestamp', 'headers'] as const;

function utf8(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

/** Header values as strings (UTF-8), or null when the record has none. */
export function stringHeaders(record: ConsumedRecord): Record<string, string> | null {
  const h = record.headers;
  if (h === null) return null;
  const out: Record<string, string> = {};
  for (const k in h) {
    const v = h[k];
    if (v !== undefined) out[k] = typeof v === 'string' ? v : v.toString('utf8');
  }
  return out;
}

/**
 * The default: key and value as UTF-8 strings (null stays null), then
 * topic, partition, offset, timestamp (ms) and headers (strings, or null).
 */
export const stringRecords: RecordDeserializer = {
  fields: FIELDS,
  deserialize: (r) => [utf8(r.key), utf8(r.value), r.topic, r.partition, r.offset, r.timestamp, stringHeaders(r)],
};

/** As `stringRecords`, with the value parsed as JSON: a value that is not JSON is undeserializable. */
export const jsonRecords: RecordDeserializer = {
  fields: FIELDS,
  deserialize: (r) => [
    utf8(r.key),
    r.value === null ? null : JSON.parse(r.value.toString('utf8')),
    r.topic,
    r.partition,
    r.offset,
    r.timestamp,
    stringHeaders(r),
  ],
};

/** Key and value as Buffers (a Uint8Array once it crosses a thread), headers as read. */
export const bufferRecords: RecordDeserializer = {
  fields: FIELDS,
  deserialize: (r) => [r.key, r.value, r.topic, r.partition, r.offset, r.timestamp, r.headers],
};
