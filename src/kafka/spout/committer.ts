import type { KafkaConsumerLike, PartitionCommit } from '../client/index.ts';
import type { OffsetTracker } from '../offset-tracker.ts';
import type { KafkaGuarantee } from './options.ts';
import { partKey } from './partitions.ts';
import type { Part, Partitions } from './partitions.ts';
import type { SpoutCounters } from './stats.ts';

export interface CommitterParts {
  /** The consumer, until the spout closes. */
  consumer: () => KafkaConsumerLike | undefined;
  partitions: Partitions;
  /** At-least-once only. */
  tracker: OffsetTracker | undefined;
  guarantee: KafkaGuarantee;
  /** Commit metadata naming this run. */
  marker: string;
  counters: SpoutCounters;
  onCommit: ((commits: readonly PartitionCommit[]) => void) | undefined;
  /**
   * Checkpoint mode: the group's offsets are the completed checkpoints'
   * positions (commitPositions), so the period, rebalances and close commit
   * nothing; the offset tracker is still drained, or it would pause the
   * partitions.
   */
  checkpointing: () => boolean;
  reportError: (err: unknown) => void;
  isClosed: () => boolean;
}

/**
 * The spout's offset commits. `commit()` runs on the commit period, when a
 * rebalance begins, on deactivate and on close: at-least-once commits what
 * the offset tracker says is done, `none` the position emitted so far. One
 * commit is in flight at a time; a call during one makes it go round once
 * more. A commit that fails is kept and sent again with the next one (a
 * later commit of the partition supersedes it), unless the partition moved
 * to another member meanwhile. `at-most-once` commits each fetched batch
 * before emitting it (`commitFetched`).
 */
export class Committer {
  /** Commits that failed, to try again with the next one (partition key -> commit). */
  private readonly failed = new Map<string, PartitionCommit>();
  private committing: Promise<void> | null = null;
  private again = false;

  constructor(private readonly p: CommitterParts) {}

  /** Commit what may be committed now; one commit in flight at a time. Never rejects. */
  commit(): Promise<void> {
    if (this.committing !== null) {
      this.again = true;
      return this.committing;
    }
    const run = async (): Promise<void> => {
      do {
        this.again = false;
        await this.commitOnce();
      } while (this.again);
    };
    this.committing = run().finally(() => {
      this.committing = null;
    });
    return this.committing;
  }

  private async commitOnce(): Promise<void> {
    const { partitions, tracker, marker, counters } = this.p;
    const consumer = this.p.consumer();
    if (consumer === undefined) return;
    if (this.p.checkpointing()) {
      tracker?.commitable();
      return;
    }
    const byKey = new Map<string, PartitionCommit>(this.failed);
    this.failed.clear();
    if (tracker !== undefined) {
      for (const c of tracker.commitable()) byKey.set(partKey(c.topic, c.partition), { ...c, metadata: marker });
    } else if (this.p.guarantee === 'none') {
      for (const part of partitions.list) {
        if (part.emittedNext > part.committedNext) {
          byKey.set(partKey(part.topic, part.partition), { topic: part.topic, partition: part.partition, offset: part.emittedNext, metadata: marker });
          part.committedNext = part.emittedNext;
        }
      }
    }
    const commits = [...byKey.values()].filter((c) => partitions.owns(c.topic, c.partition));
    if (commits.length === 0) return;
    try {
      await consumer.commit(commits);
      counters.commits++;
      this.p.onCommit?.(commits);
    } catch (err) {
      counters.commitFailures++;
      // Kept to try again with the next commit (a later one for the partition supersedes it).
      for (const c of commits) {
        if (partitions.owns(c.topic, c.partition)) this.failed.set(partKey(c.topic, c.partition), c);
      }
      if (!this.p.isClosed()) this.p.reportError(err);
    }
  }

  /**
   * Partitions lost in a rebalance. Their offsets were committed when it
   * began; commit anything done since: an offset is only ever committed once
   * everything before it is done, so this cannot lose a record (at worst the
   * new owner repeats some). Their failed commits are forgotten.
   */
  revoked(parts: readonly Part[], consumer: KafkaConsumerLike): void {
    const late: PartitionCommit[] = [];
    for (const part of parts) {
      this.failed.delete(partKey(part.topic, part.partition));
      const off = this.p.tracker?.revoke(part.topic, part.partition) ?? null;
      if (off !== null) late.push({ topic: part.topic, partition: part.partition, offset: off, metadata: this.p.marker });
    }
    if (late.length > 0 && !this.p.checkpointing()) consumer.commit(late).catch(() => {});
  }

  /** Checkpoint mode: commit a completed checkpoint's positions of the partitions still owned (for lag monitoring). */
  async commitPositions(positions: readonly PartitionCommit[]): Promise<void> {
    const consumer = this.p.consumer();
    if (consumer === undefined) return;
    const commits = positions.filter((c) => this.p.partitions.owns(c.topic, c.partition)).map((c) => ({ ...c, metadata: this.p.marker }));
    if (commits.length === 0) return;
    try {
      await consumer.commit(commits);
      this.p.counters.commits++;
      this.p.onCommit?.(commits);
    } catch (err) {
      this.p.counters.commitFailures++;
      if (!this.p.isClosed()) this.p.reportError(err);
    }
  }

  /**
   * At-most-once: commit a fetched batch (up to `next`, the offset after its
   * last record) before any of it is emitted. True once committed; false if
   * the commit failed (reported), and then nothing of the batch may be emitted.
   */
  commitFetched(consumer: KafkaConsumerLike, topic: string, partition: number, next: number): Promise<boolean> {
    return consumer.commit([{ topic, partition, offset: next, metadata: this.p.marker }]).then(
      () => {
        this.p.counters.commits++;
        return true;
      },
      (err: unknown) => {
        this.p.counters.commitFailures++;
        this.p.reportError(err);
        return false;
      },
    );
  }
}
