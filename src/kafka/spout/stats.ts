import type { TopicPartition } from '../offset-tracker.ts';

/** What one KafkaSpout task has done; for tests, dashboards and the curious. */
export interface KafkaSpoutStats {
  /** Records at the broker in the owned partitions not emitted yet (their ends as of the last fetches). */
  lag: number;
  /** Partitions owned now. */
  owned: TopicPartition[];
  /** Fetched records not yet emitted, over all owned partitions. */
  buffered: number;
  /** The most ever buffered for one partition. */
  maxBufferedSeen: number;
  /** Partitions paused now. */
  paused: number;
  pauses: number;
  resumes: number;
  emitted: number;
  acked: number;
  retried: number;
  deadLettered: number;
  skipped: number;
  commits: number;
  commitFailures: number;
  /** Rebalances this member saw begin. */
  rebalances: number;
  /** Times this member (re)joined the group and got an assignment. */
  joins: number;
  /** With the `eventTime` option: the task's watermark and each owned partition's (null without it). */
  eventTime: KafkaEventTimeStats | null;
}

/** A KafkaSpout task's event time (see docs/kafka.md, "Event time and watermarks"). */
export interface KafkaEventTimeStats {
  /** The task's watermark as last worked out (-Infinity: none yet), and whether every partition was idle then. */
  watermark: number;
  idle: boolean;
  /** Per owned partition: its watermark (-Infinity before its first record) and whether it is idle. */
  partitions: { topic: string; partition: number; watermark: number; idle: boolean }[];
  /**
   * After a restore: the partitions this task owned at the checkpoint that
   * the group has not given back yet, each holding the watermark at its
   * checkpointed one (-Infinity: none) until it is or `eventTime.restoreHoldMs`
   * passes. Empty otherwise.
   */
  held: { topic: string; partition: number; watermark: number }[];
  /** Records emitted with an event time below the task's watermark already sent: late downstream. */
  late: number;
  /** Records whose event time was not a finite number (emitted; they do not move the watermark). */
  badTimestamps: number;
}

/** The running counts of {@link KafkaSpoutStats}, shared by the spout's parts. */
export type SpoutCounters = Omit<KafkaSpoutStats, 'owned' | 'buffered' | 'paused' | 'eventTime' | 'lag'>;

export function newCounters(): SpoutCounters {
  return {
    maxBufferedSeen: 0,
    pauses: 0,
    resumes: 0,
    emitted: 0,
    acked: 0,
    retried: 0,
    deadLettered: 0,
    skipped: 0,
    commits: 0,
    commitFailures: 0,
    rebalances: 0,
    joins: 0,
  };
}
