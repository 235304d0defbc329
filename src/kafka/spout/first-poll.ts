import type { KafkaConsumerLike } from '../client/index.ts';
import type { FirstPoll } from './options.ts';
import { partKey } from './partitions.ts';
import type { Part } from './partitions.ts';

/** How long to wait before looking again when the offsets of a held partition could not be read. */
const LOOK_AGAIN_MS = 1000;

/**
 * Where a spout task starts reading a partition it owns for the first time.
 *
 * The committed strategies need nothing here: the consumer starts at the
 * group's committed offset, or with none at the end `fromBeginning` names.
 * `earliest` and `latest` ignore what earlier runs committed: a partition
 * this task never owned before is held (paused, and records that arrive are
 * dropped) until its position is known, then sought to this run's own
 * commit (commit metadata names the run), else to the first or the next
 * record, and released.
 */
export class FirstPoller {
  private readonly everAssigned = new Set<string>();

  constructor(
    private readonly strategy: FirstPoll,
    /** The commit metadata of this run. */
    private readonly marker: string,
    private readonly consumer: KafkaConsumerLike,
    private readonly reportError: (err: unknown) => void,
    private readonly isClosed: () => boolean,
  ) {}

  /** Where a partition with no committed offset starts, for the consumer: true for the first record. */
  static fromBeginning(strategy: FirstPoll): boolean {
    return strategy !== 'committed-or-latest' && strategy !== 'latest';
  }

  /** Partitions positioned by someone else (a restored checkpoint): not fresh if they come again. */
  claim(parts: readonly Part[]): void {
    for (const part of parts) this.everAssigned.add(partKey(part.topic, part.partition));
  }

  /** Partitions this task owns from now on. */
  added(parts: readonly Part[]): void {
    const positional = this.strategy === 'earliest' || this.strategy === 'latest';
    const fresh: Part[] = [];
    for (const part of parts) {
      const k = partKey(part.topic, part.partition);
      if (!this.everAssigned.has(k) && positional) fresh.push(part);
      this.everAssigned.add(k);
    }
    if (fresh.length > 0) this.position(fresh);
  }

  /** `earliest`/`latest`: hold the partitions, and seek them unless this run committed them. */
  private position(parts: Part[]): void {
    const consumer = this.consumer;
    for (const p of parts) p.holding = true;
    consumer.pause(parts);
    const topics = [...new Set(parts.map((p) => p.topic))];
    const release = (p: Part) => {
      p.holding = false;
      if (p.owned && !p.paused) consumer.resume([p]);
    };
    void Promise.all(
      topics.map(async (topic) => {
        const [committed, bounds] = await Promise.all([consumer.committed(topic), consumer.bounds(topic)]);
        for (const p of parts) {
          if (p.topic !== topic || !p.owned) continue;
          const c = committed.find((x) => x.partition === p.partition);
          const b = bounds.find((x) => x.partition === p.partition);
          // This run's own commit wins; else the strategy's end of the partition.
          const target =
            c !== undefined && c.offset >= 0 && c.metadata === this.marker ? c.offset : b === undefined ? -1 : this.strategy === 'earliest' ? b.low : b.high;
          // Seek either way: records that arrived while held were dropped,
          // and kafkajs has moved its position past them.
          if (target >= 0) {
            consumer.seek(p.topic, p.partition, target);
            p.next = target;
          }
          release(p);
        }
      }),
    ).catch((err: unknown) => {
      // Could not look: keep the partitions held (paused) and look again.
      if (this.isClosed()) return;
      this.reportError(err);
      const still = parts.filter((p) => p.owned && p.holding);
      if (still.length > 0) setTimeout(() => !this.isClosed() && this.position(still.filter((p) => p.owned)), LOOK_AGAIN_MS).unref?.();
    });
  }
}
