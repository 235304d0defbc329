import { SquallError } from '../errors/index.ts';
import type { KafkaClient, KafkaTransactionalProducerLike, KafkaTransactionLike, ProducerRecord, TopicRecords } from './client/index.ts';

/**
 * The transactional side of KafkaBolt: one Kafka transaction per
 * checkpoint, on a small pool of transactional producers per sink task.
 * See docs/exactly-once.md for the design; in short:
 *
 * - Records go into the open transaction. At `snapshot(n)` the writer
 *   flushes it, writes the **marker** of (task, n) into it (an offset
 *   commit of the task's marker group, TxnOffsetCommit, so it becomes
 *   visible only if the transaction commits), and makes it **pending** for
 *   n; the next records go into a transaction on another producer of the
 *   pool (kafkajs allows one open transaction per producer).
 * - The snapshot returned is the **write-ahead log**: every pending
 *   transaction's records. kafkajs cannot resume a transaction after the
 *   producer that opened it is gone, so a crash between "checkpoint n is
 *   durable" and "transaction n committed" is closed by re-sending n's
 *   records from the restored snapshot, unless the marker group's committed
 *   offset says n (or later) committed already.
 * - `complete(n)` commits every pending transaction <= n, oldest first, so a
 *   marker at m means every transaction <= m of that task committed.
 * - `aborted(n)` folds n's records into the next pending transaction (or the
 *   open one) and aborts n's, so aborted checkpoints never pin producers.
 * - `start` fences every transactional id of the pool (and of old tasks this
 *   task takes over after a rescale): kafkajs runs InitProducerId at the
 *   first transaction, so a transaction is begun and aborted on purpose.
 *
 * Every operation runs on one queue, in call order.
 */

export interface TransactionalOptions {
  /**
   * Prefix of the transactional ids and marker groups. **Required, unique
   * per deployment and stable across restarts**: two deployments with one
   * prefix fence each other's producers and corrupt each other's output; a
   * prefix that changes between restarts cannot fence or recover what the
   * last run left.
   */
  idPrefix: string;
  /** Producers (transactional ids) per sink task, at least 2 (default 3): one open transaction plus those waiting for their checkpoint to complete. */
  poolSize?: number;
  /**
   * The broker aborts a transaction open longer than this (default 600000,
   * 10 min). Keep it above the checkpoint interval plus the checkpoint
   * timeout plus a restart, and at most the broker's
   * transaction.max.timeout.ms (15 min by default).
   */
  transactionTimeoutMs?: number;
  /**
   * The existing topic whose partition 0 the marker offsets are committed
   * for (default: the bolt's `topic`; required with `topicFor` alone).
   * Nothing is written to it: markers are consumer-group offsets.
   */
  markerTopic?: string;
}

/** One record as kept in the write-ahead log (structured-cloneable: Buffers come back as Uint8Arrays). */
export interface WalRecord {
  readonly t: string;
  readonly k: string | Uint8Array | null;
  readonly v: string | Uint8Array | null;
  readonly h?: Readonly<Record<string, string | Uint8Array>>;
  readonly p?: number;
}

/** A pre-committed transaction waiting for its checkpoint, as kept in the operator state. */
export interface WalEntry {
  readonly checkpointId: number;
  /** The task index whose marker group records the commit (the task that wrote it, before any rescale). */
  readonly writer: number;
  readonly records: readonly WalRecord[];
}

/** What a transactional KafkaBolt task returns from snapshotState. */
export interface TransactionalSnapshot {
  readonly kind: 'squall.kafka-transactional';
  readonly v: 1;
  readonly taskIndex: number;
  readonly poolSize: number;
  readonly idPrefix: string;
  readonly pending: readonly WalEntry[];
}

export interface WriterSettings {
  idPrefix: string;
  poolSize: number;
  transactionTimeoutMs: number;
  markerTopic: string;
  componentId: string;
  taskIndex: number;
  batchSize: number;
  lingerMs: number;
  client: KafkaClient;
  reportError: (err: unknown) => void;
}

interface Slot {
  readonly index: number;
  readonly id: string;
  producer: KafkaTransactionalProducerLike | null;
  txn: KafkaTransactionLike | null;
}

interface Pending {
  readonly checkpointId: number;
  readonly writer: number;
  readonly records: WalRecord[];
  /** The slot holding its open (pre-committed) transaction; null when it must be sent again. */
  slot: Slot | null;
}

/** The restored operator state a task is responsible for. */
export interface RestoredWal {
  readonly checkpointId: number;
  /** Old task indices whose transactional ids this task fences, with their pool size. */
  readonly fence: readonly { taskIndex: number; poolSize: number }[];
  readonly pending: readonly WalEntry[];
}

export function transactionalId(prefix: string, componentId: string, taskIndex: number, slot: number): string {
  return `${prefix}-${componentId}-${taskIndex}-${slot}`;
}

/** The consumer group whose committed offset (partition 0 of the marker topic) is the newest checkpoint id of `taskIndex` committed. */
export function markerGroup(prefix: string, componentId: string, taskIndex: number): string {
  return `${prefix}-${componentId}-${taskIndex}.marker`;
}

/**
 * Which old tasks' state this task takes over when restoring: old task j
 * goes to new task j mod p (every old task to exactly one new task).
 */
export function walFor(
  restored: { checkpointId: number; all: readonly { taskIndex: number; value: unknown }[] },
  taskIndex: number,
  parallelism: number,
  where: string,
): RestoredWal {
  const fence: { taskIndex: number; poolSize: number }[] = [];
  const pending: WalEntry[] = [];
  for (const { taskIndex: j, value } of restored.all) {
    if (j % parallelism !== taskIndex) continue;
    const s = value as Partial<TransactionalSnapshot> | null | undefined;
    if (s === undefined || s === null || s.kind !== 'squall.kafka-transactional' || s.v !== 1 || !Array.isArray(s.pending)) {
      throw new SquallError({
        code: 'E_BAD_STATE',
        message: `${where}: the operator state of task ${j} in checkpoint ${restored.checkpointId} is not a transactional KafkaBolt's (${describe(value)}); was the component's type or the transactional option changed? Restore with the component as it was, or drop its state`,
        details: { checkpointId: restored.checkpointId, taskIndex: j },
      });
    }
    fence.push({ taskIndex: j, poolSize: typeof s.poolSize === 'number' ? s.poolSize : 0 });
    for (const e of s.pending) {
      if (e.checkpointId <= restored.checkpointId) pending.push(e);
    }
  }
  pending.sort((a, b) => a.checkpointId - b.checkpointId || a.writer - b.writer);
  return { checkpointId: restored.checkpointId, fence, pending };
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v !== 'object') return typeof v;
  const kind = (v as { kind?: unknown }).kind;
  return typeof kind === 'string' ? `kind ${kind}` : 'an object';
}

export function walRecord(topic: string, r: ProducerRecord): WalRecord {
  return {
    t: topic,
    k: r.key ?? null,
    v: r.value,
    ...(r.headers !== undefined ? { h: r.headers } : {}),
    ...(r.partition !== undefined ? { p: r.partition } : {}),
  };
}

function bytes(v: string | Uint8Array): Buffer | string {
  return typeof v === 'string' || Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Records grouped by topic, each topic's in order. */
function batchOf(records: readonly WalRecord[]): TopicRecords[] {
  const byTopic = new Map<string, ProducerRecord[]>();
  for (const r of records) {
    let list = byTopic.get(r.t);
    if (list === undefined) byTopic.set(r.t, (list = []));
    let headers: Record<string, Buffer | string> | undefined;
    if (r.h !== undefined) {
      headers = {};
      for (const [k, v] of Object.entries(r.h)) headers[k] = bytes(v);
    }
    list.push({
      key: r.k === null ? null : bytes(r.k),
      value: r.v === null ? null : bytes(r.v),
      ...(headers !== undefined ? { headers } : {}),
      ...(r.p !== undefined ? { partition: r.p } : {}),
    });
  }
  return [...byTopic].map(([topic, recs]) => ({ topic, records: recs }));
}

/** The broker says another producer with this transactional id started since: this one is a zombie. */
function fencedError(err: unknown): boolean {
  const type = err instanceof SquallError ? (err.details as { type?: unknown } | undefined)?.type : undefined;
  return type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED';
}

/** Whether trying again may help (kafkajs's own retries spent). */
function retriable(err: unknown): boolean {
  return err instanceof SquallError && (err.details as { retriable?: unknown } | undefined)?.retriable === true;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class TransactionalWriter {
  private readonly slots: Slot[] = [];
  /** Records of the open transaction (written, or to be written, into `openSlot`'s transaction). */
  private current: WalRecord[] = [];
  /** How many of `current` were handed to Kafka. */
  private sent = 0;
  /** The slot of the open transaction; null until the next write picks one. */
  private openSlot: Slot | null = null;
  /** The open transaction failed: abort it and send `current` again before anything else. */
  private broken = false;
  private readonly pending: Pending[] = [];
  /** Records added and not yet handed to the queue. */
  private buffer: WalRecord[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Another task took over this task's transactional ids: nothing more may be written or committed. */
  private fenced: SquallError | null = null;
  private fencedReported = false;

  constructor(private readonly s: WriterSettings) {}

  /** Connect and fence the pool (and old tasks' ids), then commit what the restored checkpoint left pending. */
  async start(restored: RestoredWal | null): Promise<void> {
    const s = this.s;
    const done: Slot[] = [];
    try {
      for (let i = 0; i < s.poolSize; i++) {
        const slot: Slot = { index: i, id: transactionalId(s.idPrefix, s.componentId, s.taskIndex, i), producer: null, txn: null };
        this.slots.push(slot);
        await this.renew(slot);
        done.push(slot);
      }
      if (restored !== null) {
        // Old tasks this one takes over (a lower parallelism): their ids may hold open transactions too.
        for (const f of restored.fence) {
          if (f.taskIndex === s.taskIndex) {
            for (let i = s.poolSize; i < f.poolSize; i++) await this.fenceOnly(transactionalId(s.idPrefix, s.componentId, f.taskIndex, i));
          } else {
            for (let i = 0; i < f.poolSize; i++) await this.fenceOnly(transactionalId(s.idPrefix, s.componentId, f.taskIndex, i));
          }
        }
        await this.recommit(restored.pending);
      }
    } catch (err) {
      await this.disconnectAll();
      throw err;
    }
  }

  /** Buffer a record; it is sent in the open transaction within `lingerMs` or once `batchSize` are buffered. */
  add(topic: string, record: ProducerRecord): void {
    this.buffer.push(walRecord(topic, record));
    if (this.buffer.length >= this.s.batchSize || this.s.lingerMs === 0) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(this.onLinger, this.s.lingerMs);
  }

  private readonly onLinger = (): void => {
    this.timer = undefined;
    this.flush();
  };

  /** Hand the buffered records to the queue. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    for (const r of records) this.current.push(r);
    this.run(() => this.sendCurrent()).catch((err: unknown) => {
      // A failed write is sent again by the next operation; a fenced task says so once.
      if (err !== this.fenced || !this.fencedReported) this.s.reportError(err);
      if (err === this.fenced) this.fencedReported = true;
    });
  }

  /**
   * Pre-commit: everything written so far is flushed to Kafka with the
   * marker of checkpoint n, and becomes pending for n. Resolves with the
   * write-ahead log (the operator state); rejects, declining the
   * checkpoint, when the writes failed and could not be sent again, or when
   * no producer is free for the next transaction.
   */
  snapshot(n: number): Promise<TransactionalSnapshot> {
    this.flush();
    return this.run(async () => {
      if (this.current.length > 0) {
        await this.sendCurrent();
        const next = this.freeSlot(this.openSlot);
        if (next === null) {
          throw new SquallError({
            code: 'E_BAD_STATE',
            message: `KafkaBolt '${this.s.componentId}' (task ${this.s.taskIndex}): all ${this.s.poolSize} transactional producers hold transactions waiting for their checkpoint to complete, so checkpoint ${n} is declined (its records stay in the open transaction); raise transactional.poolSize, or checkpoint less often than checkpoints complete`,
            details: { checkpointId: n, poolSize: this.s.poolSize },
          });
        }
        const slot = this.openSlot!;
        await this.markIn(slot.txn!, this.s.taskIndex, n).catch(async (err: unknown) => {
          this.broken = true;
          throw err;
        });
        this.pending.push({ checkpointId: n, writer: this.s.taskIndex, records: this.current, slot });
        this.current = [];
        this.sent = 0;
        this.openSlot = null;
      }
      return {
        kind: 'squall.kafka-transactional',
        v: 1,
        taskIndex: this.s.taskIndex,
        poolSize: this.s.poolSize,
        idPrefix: this.s.idPrefix,
        pending: this.pending.map((p) => ({ checkpointId: p.checkpointId, writer: p.writer, records: p.records })),
      } satisfies TransactionalSnapshot;
    });
  }

  /** Checkpoint n is durable: commit every pending transaction <= n, oldest first (stops at the first that fails: it is tried again at the next). */
  complete(n: number): Promise<void> {
    return this.run(async () => {
      while (this.pending.length > 0 && this.pending[0]!.checkpointId <= n) {
        await this.commitPending(this.pending[0]!);
        this.pending.shift();
      }
    });
  }

  /**
   * Checkpoint n was given up: its transaction is never restored on its
   * own, so its records move into the next pending transaction (or the open
   * one) and it is aborted, freeing its producer. Commits stay in
   * checkpoint order: a marker at m still means everything <= m committed.
   */
  aborted(n: number): Promise<void> {
    return this.run(async () => {
      const i = this.pending.findIndex((p) => p.checkpointId === n);
      if (i < 0) return;
      const p = this.pending[i]!;
      const target = this.pending[i + 1];
      if (target !== undefined) {
        for (const r of p.records) target.records.push(r);
        if (target.slot !== null) {
          try {
            await target.slot.txn!.send(batchOf(p.records));
          } catch (err) {
            if (fencedError(err)) throw err;
            this.s.reportError(err);
            await this.dropTxn(target.slot, true);
            target.slot = null; // sent again, with its marker, when it commits
          }
        }
      } else {
        for (const r of p.records) this.current.push(r);
      }
      this.pending.splice(i, 1);
      if (p.slot !== null) await this.dropTxn(p.slot, false);
      if (target === undefined && this.current.length > 0) {
        await this.sendCurrent().catch((err: unknown) => {
          if (fencedError(err)) throw err;
          this.s.reportError(err);
        });
      }
    });
  }

  /** Abort what is open or pending (a restart from the checkpoint sends pending records again) and disconnect. */
  close(): Promise<void> {
    this.flush();
    return this.run(async () => {
      this.closed = true;
      await this.disconnectAll();
    });
  }

  /** Pending transactions, oldest first (for tests and stats). */
  pendingIds(): number[] {
    return this.pending.map((p) => p.checkpointId);
  }

  // -- internals --------------------------------------------------------------

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.queue.then(async () => {
      if (this.fenced !== null) throw this.fenced;
      if (this.closed) throw new SquallError({ code: 'E_BAD_STATE', message: `KafkaBolt '${this.s.componentId}' (task ${this.s.taskIndex}) is closed` });
      try {
        return await fn();
      } catch (err) {
        if (fencedError(err)) {
          this.fenced = new SquallError(
            {
              code: 'E_KAFKA',
              message: `KafkaBolt '${this.s.componentId}' (task ${this.s.taskIndex}) was fenced: another producer took over its transactional ids (${this.s.idPrefix}-…), so this task is stale and writes and commits nothing more. Normal after this task was restored elsewhere; otherwise two deployments share transactional.idPrefix '${this.s.idPrefix}': give each its own`,
              details: { type: 'PRODUCER_FENCED', retriable: false, idPrefix: this.s.idPrefix },
            },
            { cause: err },
          );
          throw this.fenced;
        }
        throw err;
      }
    });
    this.queue = r.catch(() => undefined);
    return r;
  }

  /** A slot with no transaction in use (not `except`), or null. */
  private freeSlot(except: Slot | null): Slot | null {
    const held = new Set<Slot>();
    if (except !== null) held.add(except);
    for (const p of this.pending) if (p.slot !== null) held.add(p.slot);
    for (const slot of this.slots) if (!held.has(slot)) return slot;
    return null;
  }

  /** Send the unsent part of `current` in the open transaction (all of it again after a failure). */
  private async sendCurrent(): Promise<void> {
    if (this.broken) {
      if (this.openSlot !== null) await this.dropTxn(this.openSlot, true);
      this.openSlot = null;
      this.sent = 0;
      this.broken = false;
    }
    if (this.sent === this.current.length) return;
    if (this.openSlot === null) {
      const slot = this.freeSlot(null);
      if (slot === null) invariantFull(this.s);
      this.openSlot = slot;
    }
    const slot = this.openSlot!;
    try {
      if (slot.txn === null) slot.txn = await this.begin(slot);
      const upTo = this.current.length;
      for (let i = this.sent; i < upTo; i += this.s.batchSize) {
        await slot.txn.send(batchOf(this.current.slice(i, Math.min(upTo, i + this.s.batchSize))));
      }
      this.sent = upTo;
    } catch (err) {
      this.broken = true;
      throw err;
    }
  }


  private async markIn(txn: KafkaTransactionLike, writer: number, checkpointId: number): Promise<void> {
    await txn.sendOffsets(markerGroup(this.s.idPrefix, this.s.componentId, writer), [
      { topic: this.s.markerTopic, partition: 0, offset: checkpointId, metadata: `squall checkpoint ${checkpointId}` },
    ]);
  }

  /** Commit a pending transaction; if that fails, find out whether it landed and, if not, send it again in a new one. */
  private async commitPending(p: Pending): Promise<void> {
    if (p.slot !== null) {
      const slot = p.slot;
      try {
        await slot.txn!.commit();
        slot.txn = null;
        p.slot = null;
        return;
      } catch (err) {
        if (fencedError(err)) throw err;
        this.s.reportError(err);
        // Fencing completes (or aborts) whatever the broker had of it.
        await this.dropTxn(slot, true);
        p.slot = null;
      }
    }
    await this.recommit([{ checkpointId: p.checkpointId, writer: p.writer, records: p.records }]);
  }

  /** Commit write-ahead entries whose marker is not committed yet, each in a transaction of its own, oldest first. */
  private async recommit(entries: readonly WalEntry[]): Promise<void> {
    const markers = new Map<number, number>();
    const admin = this.s.client.admin();
    await admin.connect();
    try {
      for (const e of entries) {
        if (!markers.has(e.writer)) markers.set(e.writer, await this.markerOf(admin, e.writer));
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    for (const e of entries) {
      if (markers.get(e.writer)! >= e.checkpointId) continue; // committed before the crash
      const slot = this.freeSlot(this.openSlot);
      if (slot === null) invariantFull(this.s);
      try {
        const txn = (slot!.txn = await this.begin(slot!));
        for (let i = 0; i < e.records.length; i += this.s.batchSize) await txn.send(batchOf(e.records.slice(i, i + this.s.batchSize)));
        await this.markIn(txn, e.writer, e.checkpointId);
        await txn.commit();
        slot!.txn = null;
      } catch (err) {
        await this.dropTxn(slot!, true).catch(() => undefined);
        throw err;
      }
      markers.set(e.writer, e.checkpointId);
    }
  }

  private async markerOf(admin: ReturnType<KafkaClient['admin']>, writer: number): Promise<number> {
    const offsets = await admin.fetchOffsets(markerGroup(this.s.idPrefix, this.s.componentId, writer), this.s.markerTopic);
    return offsets.find((o) => o.partition === 0)?.offset ?? -1;
  }

  private async begin(slot: Slot): Promise<KafkaTransactionLike> {
    if (slot.producer === null) await this.renew(slot);
    return slot.producer!.begin();
  }

  /**
   * End a slot's transaction without committing it. After a failure the
   * producer is replaced (a new InitProducerId fences the old one and makes
   * the broker finish what it had: kafkajs can be left stuck in a
   * transaction after errors, kafkajs #1416); else the transaction is
   * aborted, and the producer replaced only if that fails.
   */
  private async dropTxn(slot: Slot, failed: boolean): Promise<void> {
    const txn = slot.txn;
    slot.txn = null;
    if (!failed && txn !== null && txn.isActive()) {
      try {
        await txn.abort();
        return;
      } catch (err) {
        this.s.reportError(err);
      }
    }
    await this.renew(slot);
  }

  /** A new producer for the slot: connect, fence (InitProducerId through a transaction begun and aborted). */
  private async renew(slot: Slot): Promise<void> {
    const old = slot.producer;
    slot.producer = null;
    slot.txn = null;
    if (old !== null) await old.disconnect().catch(() => undefined);
    slot.producer = await this.fence(slot.id);
  }

  private async fenceOnly(id: string): Promise<void> {
    const p = await this.fence(id);
    await p.disconnect();
  }

  private async fence(id: string): Promise<KafkaTransactionalProducerLike> {
    const make = this.s.client.transactionalProducer;
    if (make === undefined) {
      throw new SquallError({
        code: 'E_BAD_CONFIG',
        message: `KafkaBolt '${this.s.componentId}': the Kafka client has no transactionalProducer(); a transactional KafkaBolt needs a client that supports transactions (createKafkaClient does)`,
        details: { key: 'createClient' },
      });
    }
    const producer = make.call(this.s.client, { transactionalId: id, transactionTimeoutMs: this.s.transactionTimeoutMs });
    await producer.connect();
    try {
      // The broker answers CONCURRENT_TRANSACTIONS while it aborts what the
      // old producer left open; kafkajs retries that a few times only.
      for (let attempt = 0; ; attempt++) {
        try {
          const t = await producer.begin();
          await t.abort();
          return producer;
        } catch (err) {
          if (attempt >= 20 || !retriable(err)) throw err;
          await sleep(Math.min(100 * 2 ** attempt, 2000));
        }
      }
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private async disconnectAll(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const slot of this.slots) {
      const { producer, txn } = slot;
      slot.producer = null;
      slot.txn = null;
      if (txn !== null && txn.isActive()) await txn.abort().catch(() => undefined);
      if (producer !== null) await producer.disconnect().catch(() => undefined);
    }
  }
}

function invariantFull(s: WriterSettings): never {
  throw new SquallError({
    code: 'E_BAD_STATE',
    message: `KafkaBolt '${s.componentId}' (task ${s.taskIndex}): no transactional producer of the ${s.poolSize} is free; raise transactional.poolSize`,
    details: { poolSize: s.poolSize },
  });
}
