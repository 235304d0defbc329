import { retryPolicy } from '../../spout/index.ts';
import type { RetryOptions, RetryPolicy } from '../../spout/index.ts';
import type { TopologyContext } from '../../topology/index.ts';
import type { KafkaClient, KafkaClientOptions, PartitionCommit } from '../client/index.ts';
import { badConfig, brokersOf, optString, positiveInt } from '../config.ts';
import type { RecordDeserializer } from '../deserializers.ts';
import { resolveEventTime } from './event-time.ts';
import type { EventTimeSettings, KafkaEventTimeOptions } from './event-time.ts';

/**
 * - `at-least-once` (default): every record is tracked; an offset is
 *   committed once it and every offset before it are acked (or dead-lettered
 *   or skipped); failed records are retried.
 * - `at-most-once`: each fetched batch is committed before any of it is
 *   emitted; nothing is tracked or retried; a crash loses what was fetched
 *   and not yet processed.
 * - `none`: nothing is tracked; the read position is committed on the
 *   commit period, whatever became of the records.
 */
export type KafkaGuarantee = 'at-least-once' | 'at-most-once' | 'none';

/**
 * Where this run starts reading a partition:
 * - `committed-or-earliest` (default) / `committed-or-latest`: from the
 *   group's committed offset; with none, from the first / the next record.
 * - `earliest` / `latest`: from the first / the next record, ignoring
 *   offsets that earlier runs committed. Offsets this run commits are
 *   honoured, so a partition that moves between this run's tasks (or
 *   threads) continues where it was. Other processes are other runs: with
 *   several processes in one group, use a committed strategy.
 */
export type FirstPoll = 'committed-or-earliest' | 'committed-or-latest' | 'earliest' | 'latest';

/**
 * @deprecated The spout's `retry` option: use the flat {@link RetryOptions}
 * names on the options instead (`retryInitialDelayMs`, `retryMultiplier`,
 * `retryMaxDelayMs`, `maxRetries`), which win when both are set.
 */
export interface KafkaRetryOptions {
  /** @deprecated Use `retryInitialDelayMs`. */
  initialDelayMs?: number;
  /** @deprecated Use `retryMultiplier`. */
  multiplier?: number;
  /** @deprecated Use `retryMaxDelayMs`. */
  maxDelayMs?: number;
  /** @deprecated Use `maxRetries` on the spout's options. */
  maxRetries?: number;
}

/**
 * Retries (from {@link RetryOptions}, on the topology clock): `retryInitialDelayMs`
 * (default 100), `retryMultiplier` (2), `retryMaxDelayMs` (10000) and
 * `maxRetries` (Infinity), else config `kafka.retryInitialDelayMs`,
 * `kafka.retryMultiplier`, `kafka.retryMaxDelayMs`, `kafka.maxRetries`.
 */
export interface KafkaSpoutOptions extends RetryOptions {
  /** Topic names or patterns (matched once, at start); else config `kafka.topics` (a list or comma-separated). */
  topics?: readonly (string | RegExp)[];
  /** Else config `kafka.brokers`. */
  brokers?: readonly string[];
  /** Else config `kafka.clientId`, else 'squall-<topology>-<component>'. */
  clientId?: string;
  /** Other client settings (ssl, sasl, timeouts, retry, logLevel). */
  client?: Partial<KafkaClientOptions>;
  /** Consumer group; else config `kafka.groupId`, else 'squall-<topology>'. All tasks of the spout join it. */
  groupId?: string;
  /** Record -> tuple values (default {@link stringRecords}). */
  deserializer?: RecordDeserializer;
  /** Default 'at-least-once' (config `kafka.guarantee`). */
  guarantee?: KafkaGuarantee;
  /** Default 'committed-or-earliest' (config `kafka.firstPoll`). */
  firstPoll?: FirstPoll;
  /** Commit period in ms, real time (default 1000, config `kafka.commitIntervalMs`). */
  commitIntervalMs?: number;
  /** Pause a partition with this many emitted offsets not yet committed (default 100000). */
  maxUncommittedPerPartition?: number;
  /** Pause a partition with this many fetched records not yet emitted (default 5000); resume at half. */
  maxBufferedPerPartition?: number;
  /** @deprecated Use `retryInitialDelayMs`, `retryMultiplier`, `retryMaxDelayMs` and `maxRetries`. */
  retry?: KafkaRetryOptions;
  /** Where records go when retries run out or they cannot be deserialized (config `kafka.deadLetterTopic`). Without it they are reported and skipped. */
  deadLetterTopic?: string;
  /** Consumer session timeout (default 30000; config `kafka.sessionTimeoutMs`). */
  sessionTimeoutMs?: number;
  /** Default a third of the session timeout, at most 3000. */
  heartbeatIntervalMs?: number;
  /**
   * Longest fetch wait (default 100; config `kafka.maxWaitTimeMs`). Also how
   * long kafkajs sleeps when every owned partition is paused, so it bounds
   * how soon a resumed partition is fetched again.
   */
  maxWaitTimeMs?: number;
  /** Bytes per partition per fetch (default 1 MiB). */
  maxBytesPerPartition?: number;
  /** Called after each successful commit, with what was committed. */
  onCommit?: (commits: readonly PartitionCommit[]) => void;
  /**
   * Event-time watermarks per partition, sent with `collector.emitWatermark`
   * (see docs/kafka.md, "Event time and watermarks"). Declare the spout with
   * `setSpout(id, factory, { watermarks: {} })` so that bolts wait for them.
   */
  eventTime?: KafkaEventTimeOptions;
  /** Replace kafkajs: build the client from the resolved options. */
  createClient?: (options: KafkaClientOptions) => KafkaClient;
}

/** The options of one spout task, checked and with the defaults filled in. */
export interface SpoutSettings {
  topics: readonly (string | RegExp)[];
  brokers: readonly string[];
  clientId: string;
  groupId: string;
  guarantee: KafkaGuarantee;
  firstPoll: FirstPoll;
  commitIntervalMs: number;
  maxUncommittedPerPartition: number;
  maxBufferedPerPartition: number;
  retry: RetryPolicy;
  deadLetterTopic: string | undefined;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  /** Commit metadata: which run committed an offset (first-poll strategies read it). */
  marker: string;
  /** Null: no event time. */
  eventTime: EventTimeSettings | null;
}

/**
 * Options win over config, config over the defaults. A bad value is
 * `E_BAD_CONFIG` naming the spout and the option.
 */
export function resolveSpoutOptions(o: KafkaSpoutOptions, context: TopologyContext): SpoutSettings {
  const c = context.config;
  const where = `KafkaSpout '${context.componentId}'`;

  const topics = o.topics ?? brokersOf(c['kafka.topics']);
  if (topics === undefined || topics.length === 0) {
    throw badConfig(where, 'topics', c['kafka.topics'], "a list of topics or patterns: set options.topics or config 'kafka.topics'");
  }
  const brokers = o.brokers ?? brokersOf(c['kafka.brokers']);
  if (brokers === undefined) throw badConfig(where, 'brokers', c['kafka.brokers'], "a list of 'host:port': set options.brokers or config 'kafka.brokers'");
  const clientId = o.clientId ?? optString(c, 'kafka.clientId', where) ?? `squall-${context.topologyName}-${context.componentId}`;
  const groupId = o.groupId ?? optString(c, 'kafka.groupId', where) ?? `squall-${context.topologyName}`;
  const guarantee = oneOf(o.guarantee ?? c['kafka.guarantee'] ?? 'at-least-once', ['at-least-once', 'at-most-once', 'none'], 'guarantee', where);
  const firstPoll = oneOf(
    o.firstPoll ?? c['kafka.firstPoll'] ?? 'committed-or-earliest',
    ['committed-or-earliest', 'committed-or-latest', 'earliest', 'latest'],
    'firstPoll',
    where,
  );
  const commitIntervalMs = positiveInt(o.commitIntervalMs ?? c['kafka.commitIntervalMs'] ?? 1000, 'commitIntervalMs', where);
  const maxUncommittedPerPartition = positiveInt(
    o.maxUncommittedPerPartition ?? c['kafka.maxUncommittedPerPartition'] ?? 100_000,
    'maxUncommittedPerPartition',
    where,
  );
  const maxBufferedPerPartition = positiveInt(o.maxBufferedPerPartition ?? c['kafka.maxBufferedPerPartition'] ?? 5000, 'maxBufferedPerPartition', where);
  // The flat names, then the deprecated `retry` object, then config.
  const r = o.retry ?? {};
  const retry = retryPolicy(
    {
      retryInitialDelayMs: o.retryInitialDelayMs ?? r.initialDelayMs ?? (c['kafka.retryInitialDelayMs'] as number | undefined),
      retryMultiplier: o.retryMultiplier ?? r.multiplier ?? (c['kafka.retryMultiplier'] as number | undefined),
      retryMaxDelayMs: o.retryMaxDelayMs ?? r.maxDelayMs ?? (c['kafka.retryMaxDelayMs'] as number | undefined),
      maxRetries: o.maxRetries ?? r.maxRetries ?? (c['kafka.maxRetries'] as number | undefined),
    },
    where,
  );
  const deadLetterTopic = o.deadLetterTopic ?? optString(c, 'kafka.deadLetterTopic', where);
  const sessionTimeoutMs = positiveInt(o.sessionTimeoutMs ?? c['kafka.sessionTimeoutMs'] ?? 30_000, 'sessionTimeoutMs', where);
  const heartbeatIntervalMs = positiveInt(
    o.heartbeatIntervalMs ?? c['kafka.heartbeatIntervalMs'] ?? Math.min(3000, Math.floor(sessionTimeoutMs / 3)),
    'heartbeatIntervalMs',
    where,
  );
  const maxWaitTimeMs = positiveInt(o.maxWaitTimeMs ?? c['kafka.maxWaitTimeMs'] ?? 100, 'maxWaitTimeMs', where);
  return {
    topics,
    brokers,
    clientId,
    groupId,
    guarantee,
    firstPoll,
    commitIntervalMs,
    maxUncommittedPerPartition,
    maxBufferedPerPartition,
    retry,
    deadLetterTopic,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    maxWaitTimeMs,
    marker: `squall:${context.topologyName}:${context.runId}`,
    eventTime: resolveEventTime(o.eventTime, where, sessionTimeoutMs),
  };
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string, where: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw badConfig(where, name, v, `one of ${allowed.join(', ')}`);
  return v as T;
}
