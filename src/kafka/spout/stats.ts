import type { TopicPartition } from '../offset-tracker.ts';

/** What one KafkaSpout task has done; for tests, dashboards and the curious. */
export interface KafkaSpoutStats {
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
}

/** The running counts of {@link KafkaSpoutStats}, shared by the spout's parts. */
export type SpoutCounters = Omit<KafkaSpoutStats, 'owned' | 'buffered' | 'paused'>;

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
