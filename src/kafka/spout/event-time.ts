import type { Clock } from '../../runtime/index.ts';
import type { ConsumedRecord } from '../client/index.ts';
import { badConfig } from '../config.ts';
import { partKey } from './partitions.ts';

/**
 * Event time per Kafka partition (the spout's `eventTime` option). Declare
 * the spout with `setSpout(id, factory, { watermarks: {} })` so that bolts
 * wait for the watermarks it sends.
 */
export interface KafkaEventTimeOptions {
  /**
   * Each record's event time in ms: `'record'` (default) is the Kafka
   * record's timestamp (create or log-append time, as the topic says); a
   * function gets the record and the deserialized tuple values (read a JSON
   * field, say) and returns a number of ms or a Date. Called once per
   * emitted record: keep it plain.
   */
  timestamp?: 'record' | ((record: ConsumedRecord, values: readonly unknown[]) => number | Date);
  /** Bounded out-of-orderness within a partition: its watermark trails the largest event time emitted from it by this much (default 0). */
  maxOutOfOrdernessMs?: number;
  /**
   * A partition with no record emitted or waiting for this long (processing
   * time, the topology clock) is idle and stops holding the task's watermark
   * back. Default 0: never idle (a quiet partition holds the watermark).
   */
  idleTimeoutMs?: number;
  /** How often the task's watermark is worked out and sent (if it moved), in ms of the topology clock (default 200). */
  intervalMs?: number;
  /**
   * It is also worked out, and sent if it moved, after every this many
   * records the task emits (default 1000), so that it follows the data
   * while a backlog is read faster than `intervalMs` would.
   */
  intervalRecords?: number;
  /**
   * After a restore: how long (ms of the topology clock, from open) a
   * partition this task owned at the checkpoint and has not been given back
   * yet holds the task's watermark at its checkpointed watermark. Default
   * the consumer's session timeout + 15000 (a member killed and restarted
   * within the session timeout gets its partitions back once the broker has
   * dropped the dead member and the group has rebalanced); 0: no hold.
   */
  restoreHoldMs?: number;
}

/** {@link KafkaEventTimeOptions}, checked, with the defaults filled in. */
export interface EventTimeSettings {
  /** Null: the record's timestamp. */
  readonly timestampOf: ((record: ConsumedRecord, values: readonly unknown[]) => number | Date) | null;
  readonly maxOutOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
  readonly intervalMs: number;
  readonly intervalRecords: number;
  readonly restoreHoldMs: number;
}

/** What `restoreHoldMs` adds to the session timeout by default: the rebalance after the dead member is dropped. */
export const RESTORE_HOLD_SLACK_MS = 15_000;

/**
 * A bad value is `E_BAD_CONFIG` naming the spout and the option.
 * `sessionTimeoutMs` (the consumer's) gives `restoreHoldMs` its default.
 */
export function resolveEventTime(o: KafkaEventTimeOptions | undefined, where: string, sessionTimeoutMs = 30_000): EventTimeSettings | null {
  if (o === undefined) return null;
  if (o === null || typeof o !== 'object') throw badConfig(where, 'eventTime', o, "an object such as { timestamp: 'record', maxOutOfOrdernessMs: 5000, idleTimeoutMs: 30000 }");
  const ts = o.timestamp ?? 'record';
  if (ts !== 'record' && typeof ts !== 'function') throw badConfig(where, 'eventTime.timestamp', ts, "'record' or a function (record, values) => ms");
  const ms = (key: 'maxOutOfOrdernessMs' | 'idleTimeoutMs' | 'intervalMs' | 'restoreHoldMs', dflt: number, min: number): number => {
    const v = o[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (min === 0 && v < 0)) {
      throw badConfig(where, `eventTime.${key}`, v, key === 'intervalMs' ? 'a positive number of ms' : 'a number of ms, at least 0');
    }
    return v;
  };
  const intervalMs = ms('intervalMs', 200, Number.MIN_VALUE);
  const intervalRecords = o.intervalRecords ?? 1000;
  if (typeof intervalRecords !== 'number' || !Number.isInteger(intervalRecords) || intervalRecords < 1) {
    throw badConfig(where, 'eventTime.intervalRecords', intervalRecords, 'a whole number of records, at least 1');
  }
  return {
    timestampOf: ts === 'record' ? null : ts,
    maxOutOfOrdernessMs: ms('maxOutOfOrdernessMs', 0, 0),
    idleTimeoutMs: ms('idleTimeoutMs', 0, 0),
    intervalMs,
    intervalRecords,
    restoreHoldMs: ms('restoreHoldMs', sessionTimeoutMs + RESTORE_HOLD_SLACK_MS, 0),
  };
}

/** Whether a partition has records fetched and not yet emitted, or cannot be fetched now: it is not idle, whatever the clock says. */
export interface Backlog {
  readonly backlogged: boolean;
}

/** One partition's event time. */
export class PartitionTime {
  /** The largest event time emitted from the partition (a restored one: its watermark plus the out-of-orderness). */
  maxTs = -Infinity;
  /** A record was emitted since the last tick. */
  emitted = false;
  idle = false;
  /** When (topology clock) it last had a record emitted or waiting; from its assignment at first. */
  lastActive: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly backlog: Backlog,
    now: number,
  ) {
    this.lastActive = now;
  }
}

/** A partition's entry in the spout's position: [topic, partition, watermark]. */
export type PartitionWatermark = readonly [string, number, number];

/**
 * The event-time watermark of one KafkaSpout task, from its partitions.
 *
 * - A partition's watermark is the largest event time emitted from it less
 *   `maxOutOfOrdernessMs` (-Infinity before its first record).
 * - A partition is idle once it had no record emitted, buffered, or held
 *   back by pausing for `idleTimeoutMs` of the topology clock; a record
 *   makes it active again.
 * - The task's watermark is the least over the partitions that are not
 *   idle. A partition assigned without a checkpointed watermark has none
 *   until its first record, so it holds the task's watermark where it is
 *   (never past records it has not read) until that record, or until it
 *   turns out idle.
 * - After a restore, each partition the task owned at the checkpoint and
 *   has not been given back yet is **held** ({@link hold}): it counts with
 *   its checkpointed watermark (none: it holds the task's where it is) until
 *   the group assigns it to the task again ({@link add}) or the hold's
 *   deadline passes (`restoreHoldMs` after the restore; by then a partition
 *   still missing is another member's). So a restart that first gets part
 *   of its partitions does not run ahead on them.
 * - Every partition idle, or none assigned and none held (after the first
 *   assignment; a task that has not joined its group yet holds): the task is
 *   idle, and its watermark moves on with the topology clock from the
 *   greatest it had (the runtime's generator does the same for a spout
 *   task), so windows that no data will close still fire.
 * - It never goes backwards: once sent, a partition that comes later with a
 *   lower watermark cannot pull it back (its records behind it are late).
 *   Worked out by {@link tick}: every `intervalMs` (a timer) and every
 *   `intervalRecords` records emitted (the spout's tuple path).
 *
 * Per record the spout calls {@link observe}: a compare and two stores.
 */
export class EventTimeTracker {
  private readonly parts = new Map<string, PartitionTime>();
  private list: PartitionTime[] = [];
  readonly ooo: number;
  private readonly idleTimeoutMs: number;
  readonly intervalMs: number;
  readonly intervalRecords: number;
  /** The last watermark worked out, and whether the task was idle then. */
  watermark = -Infinity;
  idle = false;
  /** Whether the group assigned partitions to the task yet (until then the task holds, rather than being idle with none). */
  private joined = false;
  /** Restored partitions held until owned again (partition key -> checkpointed watermark, -Infinity: none), and until when (topology clock). */
  private readonly holds = new Map<string, { readonly topic: string; readonly partition: number; readonly watermark: number }>();
  private holdUntil = -Infinity;
  /** Since when every partition was idle (NaN: not all idle), and the watermark then. */
  private allIdleSince = NaN;
  private allIdleBase = -Infinity;
  /** Records emitted with an event time below the watermark already worked out: late downstream. */
  late = 0;
  /** Records whose event time is not a finite number (they do not move the watermark). */
  bad = 0;

  constructor(
    settings: EventTimeSettings,
    private readonly clock: Clock,
  ) {
    this.ooo = settings.maxOutOfOrdernessMs;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.intervalMs = settings.intervalMs;
    this.intervalRecords = settings.intervalRecords;
  }

  /**
   * A partition assigned to the task: not idle, with the watermark it had in
   * the restored checkpoint, or none (it holds the task's watermark until its
   * first record, or until it is idle).
   */
  add(topic: string, partition: number, backlog: Backlog, restoredWatermark?: number): PartitionTime {
    const k = partKey(topic, partition);
    const had = this.parts.get(k);
    if (had !== undefined) return had;
    this.holds.delete(k);
    const p = new PartitionTime(topic, partition, backlog, this.clock.now());
    if (restoredWatermark !== undefined && Number.isFinite(restoredWatermark)) p.maxTs = restoredWatermark + this.ooo;
    this.parts.set(k, p);
    this.list = [...this.parts.values()];
    this.allIdleSince = NaN;
    return p;
  }

  /**
   * After a restore, before the first assignment: a partition the task
   * owned at the checkpoint holds the task's watermark at `watermark` (its
   * checkpointed one; -Infinity or undefined: none, so the task sends none)
   * until {@link add} gives it back or the clock reaches `until`.
   */
  hold(topic: string, partition: number, watermark: number | undefined, until: number): void {
    const w = watermark !== undefined && Number.isFinite(watermark) ? watermark : -Infinity;
    const k = partKey(topic, partition);
    if (this.parts.has(k) || !(until > this.clock.now())) return;
    const had = this.holds.get(k);
    if (had === undefined || w < had.watermark) this.holds.set(k, { topic, partition, watermark: w });
    if (until > this.holdUntil) this.holdUntil = until;
  }

  /** The partitions held now (restored, not owned again yet, the hold not over), with their held watermarks. */
  get held(): { topic: string; partition: number; watermark: number }[] {
    return [...this.holds.values()].map((h) => ({ ...h }));
  }

  /** When the holds end (topology clock; -Infinity: none). */
  get heldUntil(): number {
    return this.holds.size > 0 ? this.holdUntil : -Infinity;
  }

  /** A partition revoked: it no longer holds the watermark back. */
  remove(topic: string, partition: number): void {
    if (this.parts.delete(partKey(topic, partition))) this.list = [...this.parts.values()];
  }

  /** The group assigned this task its partitions (maybe none): from now on, no partition means idle. */
  assigned(): void {
    this.joined = true;
  }

  /**
   * A record emitted from the partition with event time `t`; false when `t`
   * is not a finite number (counted in `bad`; it does not move the watermark).
   */
  // in critical path: once per emitted record.
  observe(p: PartitionTime, t: number): boolean {
    p.emitted = true;
    // Finite numbers only: Infinity - Infinity and NaN - NaN are NaN.
    if (t - t !== 0) {
      this.bad++;
      return false;
    }
    if (t > p.maxTs) p.maxTs = t;
    if (t < this.watermark) this.late++;
    return true;
  }

  /** The partition's watermark: its largest event time less the out-of-orderness (-Infinity: none yet). */
  watermarkOf(p: PartitionTime): number {
    return p.maxTs - this.ooo;
  }

  get partitions(): readonly PartitionTime[] {
    return this.list;
  }

  /**
   * Work out the task's watermark now: marks partitions active or idle, and
   * returns true when the watermark or the idle flag changed (send it).
   */
  tick(): boolean {
    const now = this.clock.now();
    const timeout = this.idleTimeoutMs;
    const list = this.list;
    let least = Infinity;
    let most = -Infinity;
    let active = false;
    if (this.holds.size > 0) {
      if (now >= this.holdUntil) this.holds.clear();
      else {
        // Restored partitions not given back yet: held at their checkpointed watermarks, never idle.
        active = true;
        for (const h of this.holds.values()) if (h.watermark < least) least = h.watermark;
      }
    }
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (p.emitted || p.backlog.backlogged) {
        p.emitted = false;
        p.lastActive = now;
        p.idle = false;
      } else if (!p.idle && timeout > 0 && now - p.lastActive >= timeout) {
        p.idle = true;
      }
      const w = p.maxTs - this.ooo;
      if (w > most) most = w;
      if (p.idle) continue;
      active = true;
      if (w < least) least = w;
    }
    let wm: number;
    let idle: boolean;
    if (active) {
      wm = least;
      idle = false;
      this.allIdleSince = NaN;
    } else if (!this.joined) {
      return false;
    } else {
      if (Number.isNaN(this.allIdleSince)) {
        this.allIdleSince = now;
        this.allIdleBase = Math.max(this.watermark, most);
      }
      wm = Number.isFinite(this.allIdleBase) ? this.allIdleBase + (now - this.allIdleSince) : -Infinity;
      idle = true;
    }
    if (wm < this.watermark) wm = this.watermark;
    if (wm === this.watermark && idle === this.idle) return false;
    this.watermark = wm;
    this.idle = idle;
    return true;
  }

  /** Each partition's watermark, where it has one: for the spout's checkpoint position. */
  snapshot(): [string, number, number][] {
    const out: [string, number, number][] = [];
    for (const p of this.list) {
      const w = p.maxTs - this.ooo;
      if (Number.isFinite(w)) out.push([p.topic, p.partition, w]);
    }
    return out;
  }
}

/** An event time as a number of ms: a number or a Date; anything else NaN. */
export function timeOf(t: unknown): number {
  return typeof t === 'number' ? t : t instanceof Date ? t.getTime() : NaN;
}
