import { SquallError, invariant } from '../errors/index.ts';

/**
 * Which offsets of each owned partition the Kafka spout may commit: pure data,
 * no kafkajs, no timers. The spout calls `emitted` as it emits a record,
 * `ack`/`skip` as trees finish (in any order), `commitable` on its commit
 * period and on deactivate and kill, and `revoke` before giving a partition
 * up. See docs/kafka-offsets.md for why it commits what it commits.
 *
 * Offsets are JS numbers: exact up to 2^53 - 1, which a Kafka partition does
 * not reach in practice (at 1M records/s, 285 years). Convert kafkajs's
 * decimal strings at the edge with `parseOffset` and `formatOffset`.
 */

export interface TrackerOptions {
  /**
   * Pause a partition once it has this many emitted offsets that are not yet
   * committed (pending, or done behind a pending one or awaiting the next
   * commit). Bounds the tracker's memory per partition, and how much a
   * restart may replay.
   */
  maxUncommittedPerPartition: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A commit, Kafka style: `offset` is the next offset to read. */
export interface OffsetCommit {
  topic: string;
  partition: number;
  offset: number;
}

/**
 * The ring starts this small and never shrinks below it: 16 offsets is 144
 * bytes, so an idle partition costs next to nothing, and a busy one doubles
 * up to its high water mark in a few steps.
 */
const MIN_RING_CAPACITY = 16;

/**
 * One owned partition. The ring holds the emitted offsets from the commit
 * point (`next`) up to the last emitted one, in increasing order, each with a
 * done flag; its head is never done, because done offsets at the head are
 * popped at once. An ack finds its entry through `seqOf` (offset to sequence
 * number) rather than by searching, so acks cost O(1) whatever their order,
 * and each entry is popped once: O(1) amortised per offset. Memory is
 * O(entries in the ring), and the ring shrinks as it empties.
 */
class PartitionOffsets {
  /** The offset last committed (or fetched from at assign): the next to read. */
  committed: number;
  /** The commit point: the first emitted offset not done, else the last emitted + 1. Never decreases. */
  next: number;
  lastEmitted: number;
  /** Emitted offsets in [committed, next): done and behind the commit point, not yet committed. */
  doneBehind = 0;
  /** Emitted offsets not yet acked or skipped. */
  pending = 0;
  size = 0;

  private offsets = new Float64Array(MIN_RING_CAPACITY);
  private done = new Uint8Array(MIN_RING_CAPACITY);
  private head = 0;
  private mask = MIN_RING_CAPACITY - 1;
  /** The sequence number of the head entry; entry `s` sits at `(head + s - headSeq) & mask`. */
  private headSeq = 0;
  private readonly seqOf = new Map<number, number>();

  constructor(fetchOffset: number) {
    this.committed = fetchOffset;
    this.next = fetchOffset;
    this.lastEmitted = fetchOffset - 1;
  }

  /** A new offset, greater than every offset emitted before. */
  push(offset: number): void {
    if (this.size === this.mask + 1) this.resize((this.mask + 1) * 2);
    const i = (this.head + this.size) & this.mask;
    this.offsets[i] = offset;
    this.done[i] = 0;
    this.seqOf.set(offset, this.headSeq + this.size);
    if (this.size === 0) this.next = offset;
    this.size++;
    this.pending++;
    this.lastEmitted = offset;
  }

  /** 1 if the offset is in the ring and pending, 0 if done, -1 if not in the ring. */
  state(offset: number): number {
    const seq = this.seqOf.get(offset);
    if (seq === undefined) return -1;
    return this.done[(this.head + seq - this.headSeq) & this.mask] === 0 ? 1 : 0;
  }

  /** Mark a pending offset done; false (and no change) if it is not pending. */
  finish(offset: number): boolean {
    const seq = this.seqOf.get(offset);
    if (seq === undefined) return false;
    const i = (this.head + seq - this.headSeq) & this.mask;
    if (this.done[i] !== 0) return false;
    this.done[i] = 1;
    this.pending--;
    if (i === this.head) this.advance();
    return true;
  }

  /** Pop the done offsets at the head: the commit point moves over them. */
  private advance(): void {
    while (this.size > 0 && this.done[this.head] !== 0) {
      this.seqOf.delete(this.offsets[this.head]);
      this.head = (this.head + 1) & this.mask;
      this.headSeq++;
      this.size--;
      this.doneBehind++;
    }
    if (this.size > 0) {
      this.next = this.offsets[this.head];
    } else {
      if (this.pending !== 0) invariant(false, `offset ring is empty with ${this.pending} offsets pending`);
      this.next = this.lastEmitted + 1;
    }
    // Halve at a quarter full, so a partition that drains gives its memory
    // back, and a size hovering at a boundary cannot make every call copy.
    const capacity = this.mask + 1;
    if (capacity > MIN_RING_CAPACITY && this.size <= capacity / 4) this.resize(capacity / 2);
  }

  private resize(capacity: number): void {
    const offsets = new Float64Array(capacity);
    const done = new Uint8Array(capacity);
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & this.mask;
      offsets[k] = this.offsets[i];
      done[k] = this.done[i];
    }
    this.offsets = offsets;
    this.done = done;
    this.head = 0;
    this.mask = capacity - 1;
  }
}

/**
 * At-least-once offset bookkeeping for the partitions one spout task owns.
 *
 * Offsets are emitted in increasing order per partition, with gaps (compacted
 * records, transaction markers); a pending offset may be emitted again (a
 * replay after a fail) and still counts once. Acks and skips arrive in any
 * order. The commit point is the first emitted offset not yet done, or the
 * last emitted + 1: everything before it is done, and offsets never emitted
 * between emitted ones do not exist, so they do not hold it back.
 *
 * Every method is O(1) amortised except `commitable` and `owned`, which are
 * O(owned partitions). Memory is O(emitted offsets not yet committed), which
 * `shouldPause` lets the spout cap.
 */
export class OffsetTracker {
  private readonly maxUncommitted: number;
  // topic -> partition -> state: two lookups, and no key string built per ack.
  private readonly topics = new Map<string, Map<number, PartitionOffsets>>();

  constructor(options: TrackerOptions) {
    const v: unknown = (options as Partial<TrackerOptions> | undefined)?.maxUncommittedPerPartition;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        message: `options.maxUncommittedPerPartition is ${JSON.stringify(v) ?? String(v)}; it must be a whole number, at least 1 (offsets emitted but not yet committed, per partition)`,
        details: { key: 'maxUncommittedPerPartition', value: v },
      });
    }
    this.maxUncommitted = v;
  }

  /** A partition was assigned: the next offset to read is `fetchOffset` (its committed offset). */
  assign(topic: string, partition: number, fetchOffset: number): void {
    if (typeof topic !== 'string' || topic === '') invariant(false, `assign of a bad topic ${JSON.stringify(topic)}`);
    if (!Number.isInteger(partition) || partition < 0) invariant(false, `assign of ${topic} with a bad partition ${partition}`);
    checkOffset(fetchOffset, topic, partition);
    let parts = this.topics.get(topic);
    if (parts === undefined) {
      parts = new Map();
      this.topics.set(topic, parts);
    }
    if (parts.has(partition)) invariant(false, `partition ${topic}-${partition} assigned twice without a revoke in between`);
    parts.set(partition, new PartitionOffsets(fetchOffset));
  }

  /**
   * Revoked: forget the partition, and return the offset to commit for it
   * now, or null if the commit point has not moved since the last commit, so
   * the caller commits before giving it up. Later acks for it are ignored.
   * A partition not owned gives null.
   */
  revoke(topic: string, partition: number): number | null {
    const parts = this.topics.get(topic);
    const p = parts?.get(partition);
    if (parts === undefined || p === undefined) return null;
    parts.delete(partition);
    if (parts.size === 0) this.topics.delete(topic);
    return p.next > p.committed ? p.next : null;
  }

  /**
   * An offset was emitted: new offsets in increasing order (gaps allowed), or
   * again while still pending (a replay, counted once). Returns whether the
   * record is tracked: false when the partition is not owned, or the offset
   * is already done (acked, skipped or committed), so a record read again
   * after a seek need not be emitted. A new offset below the last emitted one
   * that was never emitted is a bug in the caller: the commit point may
   * already have passed it.
   */
  emitted(topic: string, partition: number, offset: number): boolean {
    checkOffset(offset, topic, partition);
    const p = this.topics.get(topic)?.get(partition);
    if (p === undefined) return false;
    if (offset > p.lastEmitted) {
      p.push(offset);
      return true;
    }
    const state = p.state(offset);
    if (state >= 0) return state === 1;
    if (offset < p.next) return false;
    invariant(
      false,
      `offset ${offset} of ${topic}-${partition} emitted after ${p.lastEmitted} but never before: emit new offsets in increasing order`,
    );
  }

  /**
   * Acked (in any order): true if this made a pending offset done. False, and
   * nothing changes, if the partition is not owned (a late ack after a
   * revoke), the offset was not emitted, or it is already done.
   */
  ack(topic: string, partition: number, offset: number): boolean {
    const p = this.topics.get(topic)?.get(partition);
    return p !== undefined && p.finish(offset);
  }

  /** A record given up on (dead-lettered or skipped by policy) counts as done for committing. Same rules as `ack`. */
  skip(topic: string, partition: number, offset: number): boolean {
    const p = this.topics.get(topic)?.get(partition);
    return p !== undefined && p.finish(offset);
  }

  /**
   * The offsets to commit now, Kafka style (the next offset to read), for
   * the partitions whose commit point moved since they were last committed;
   * marks them committed. Empty when nothing moved.
   */
  commitable(): OffsetCommit[] {
    const out: OffsetCommit[] = [];
    for (const [topic, parts] of this.topics) {
      for (const [partition, p] of parts) {
        if (p.next > p.committed) {
          out.push({ topic, partition, offset: p.next });
          p.committed = p.next;
          p.doneBehind = 0;
        }
      }
    }
    return out;
  }

  /**
   * True when the partition has `maxUncommittedPerPartition` or more offsets
   * not yet committed, counting `fetched` records the caller holds and will
   * emit: the spout pauses it. False again once commits catch up (or once it
   * is no longer owned).
   */
  shouldPause(topic: string, partition: number, fetched = 0): boolean {
    return this.uncommitted(topic, partition) + fetched >= this.maxUncommitted;
  }

  /** Emitted offsets not yet acked or skipped (0 if not owned). */
  pending(topic: string, partition: number): number {
    return this.topics.get(topic)?.get(partition)?.pending ?? 0;
  }

  /** Emitted offsets not yet committed, done or not (0 if not owned): what `shouldPause` compares. */
  uncommitted(topic: string, partition: number): number {
    const p = this.topics.get(topic)?.get(partition);
    return p === undefined ? 0 : p.doneBehind + p.size;
  }

  owned(): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const [topic, parts] of this.topics) {
      for (const partition of parts.keys()) out.push({ topic, partition });
    }
    return out;
  }
}

function checkOffset(offset: number, topic: string, partition: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    invariant(false, `offset ${offset} of ${topic}-${partition} is not a whole number in [0, 2^53 - 1]; parse kafkajs offsets with parseOffset()`);
  }
}

/**
 * A kafkajs offset (a decimal string) as a number. Throws E_INVARIANT for
 * anything but a non-negative decimal integer below 2^53: kafkajs's special
 * "-1" (no committed offset) must be resolved before it gets here, and an
 * offset past 2^53 breaks the assumption this tracker is built on.
 */
export function parseOffset(text: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  // A digit string below 2^53 converts exactly; one at or past it converts to
  // at least 2^53, which is not a safe integer.
  if (!Number.isSafeInteger(n)) {
    throw new SquallError({
      code: 'E_INVARIANT',
      message: `Kafka offset ${JSON.stringify(text)} is not a decimal whole number below 2^53; squall holds offsets as JS numbers (2^53 is 285 years at 1M records/s), so resolve special offsets such as "-1" first`,
      details: { offset: text },
    });
  }
  return n;
}

/** A number offset as the decimal string kafkajs takes. */
export function formatOffset(offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) invariant(false, `cannot format offset ${offset}: not a whole number in [0, 2^53 - 1]`);
  return String(offset);
}
