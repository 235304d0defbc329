import type { MessagePort } from 'node:worker_threads';
import { Tuple } from '../tuple/index.ts';
import type { StreamDesc } from '../tuple/index.ts';
import type { Executor } from './executor.ts';
import { Ctl } from './messages.ts';
import { BatchEncoder, decodeBatch } from './transfer/index.ts';
import type { BatchSink, EncodedBatch } from './transfer/index.ts';

/**
 * Records per batch before it is sent without waiting for the end of the
 * turn. The spike measured packed batches at 64 / 256 / 1024 tuples: 6-9,
 * 10-13 and 12-19 M tuples/s; 256 keeps most of the gain while a batch stays
 * a few KiB, so latency under load is not held hostage by a big batch.
 */
export const BATCH_RECORDS = 256;
/**
 * Tuples one host may have sent to a peer and not had credited back. The
 * spike found throughput needs a window of at least 4 batches (16 gave
 * 11 M/s against 1.9 M/s for 1); 16 batches of 256 it is. This bounds what
 * sits in channels between two hosts, and a producer with no credit left is
 * held back like one whose local target mailbox is full.
 */
export const CREDIT_TUPLES = 16 * BATCH_RECORDS;

export type PeerMessage = { t: 'batch'; batch: EncodedBatch } | { t: 'credit'; n: number };

/** The way to one other host: an outgoing batch, credits, and credits owed back. */
export class PeerLink {
  port: MessagePort | null = null;
  readonly encoder = new BatchEncoder();
  credits = CREDIT_TUPLES;
  /** Tuples received from this peer not yet credited back. */
  owed = 0;
  /** Local executors that received those tuples: credit returns once they have room. */
  readonly touched: Executor<unknown>[] = [];
  /** By task id: 1 when the task is in `touched`. */
  readonly touchedFlag: Uint8Array;

  constructor(
    readonly hostId: number,
    taskCount: number,
  ) {
    this.touchedFlag = new Uint8Array(taskCount + 1);
  }

  clearTouched(): void {
    for (let i = 0; i < this.touched.length; i++) this.touchedFlag[this.touched[i]!.taskId] = 0;
    this.touched.length = 0;
  }

  /** A producer's backpressure check for tasks on this peer. */
  hasRoom(): boolean {
    return this.port !== null && this.credits > 0;
  }
}

/** What the transport needs from its host. */
export interface LocalDelivery {
  deliverLocal(task: number, msg: Tuple | Ctl): Executor<unknown>;
  /** Credit came back: producers held back for it may go on. */
  wakeUp(): void;
}

/**
 * Moves tuples and tracking messages between this host and the others over
 * MessagePorts, in batches (DESIGN.md decision 7: batch across threads).
 * Tuples are encoded (so cloned) only here, when they cross a thread.
 */
export class Transport implements BatchSink {
  readonly links: (PeerLink | null)[];
  private from: PeerLink | null = null;
  /** Records added since the last flush, over all links: a cheap "anything to send?" */
  private unsent = 0;

  constructor(
    readonly hostId: number,
    hostCount: number,
    private readonly hostOfTask: readonly number[],
    private readonly streams: readonly StreamDesc[],
    private readonly local: LocalDelivery,
  ) {
    this.links = [];
    for (let h = 0; h < hostCount; h++) this.links.push(h === hostId ? null : new PeerLink(h, hostOfTask.length - 1));
  }

  link(hostId: number): PeerLink {
    return this.links[hostId]!;
  }

  /** Attach (or replace, after a restart) the port to a peer; unsent data for the old one is dropped. */
  connect(hostId: number, port: MessagePort): void {
    const link = this.links[hostId]!;
    if (link.port !== null) link.port.close();
    link.port = port;
    link.encoder.finish();
    link.credits = CREDIT_TUPLES;
    link.owed = 0;
    link.clearTouched();
    port.on('message', (m: PeerMessage) => this.receive(link, m));
    port.on('close', () => {
      if (link.port === port) this.disconnect(hostId);
    });
  }

  /** The peer died: hold producers back (no credit) until it is replaced; what was queued for it is lost and will time out. */
  disconnect(hostId: number): void {
    const link = this.links[hostId]!;
    link.port = null;
    this.unsent -= link.encoder.count;
    link.encoder.finish();
  }

  // in critical path
  send(task: number, msg: Tuple | Ctl): void {
    const link = this.links[this.hostOfTask[task]!]!;
    if (link.port === null) return; // peer down: lost in flight, its tree times out and replays
    if (msg instanceof Tuple) {
      link.encoder.addTuple(task, msg.sourceTask, msg.source.index, msg.values, msg.ids);
      link.credits--;
    } else {
      link.encoder.addCtl(task, msg.kind, msg.lo, msg.hi, msg.vlo, msg.vhi, msg.task);
    }
    this.unsent++;
    if (link.encoder.count >= BATCH_RECORDS) this.flushLink(link);
  }

  /** End of a turn: send partial batches, and credit back what has drained. */
  flush(): void {
    const links = this.links;
    for (let h = 0; h < links.length; h++) {
      const link = links[h];
      if (link === null || link === undefined || link.port === null) continue;
      if (link.encoder.count > 0) this.flushLink(link);
      if (link.owed > 0 && drained(link.touched)) {
        link.port.postMessage({ t: 'credit', n: link.owed } satisfies PeerMessage);
        link.owed = 0;
        link.clearTouched();
      }
    }
  }

  close(): void {
    for (const link of this.links) {
      if (link?.port) link.port.close();
      if (link) link.port = null;
    }
  }

  hasUnsent(): boolean {
    return this.unsent > 0;
  }

  private flushLink(link: PeerLink): void {
    const batch = link.encoder.finish();
    this.unsent -= batch.count;
    link.port!.postMessage({ t: 'batch', batch } satisfies PeerMessage, [batch.buf]);
  }

  private receive(link: PeerLink, m: PeerMessage): void {
    if (m.t === 'credit') {
      link.credits += m.n;
      this.local.wakeUp();
      return;
    }
    this.from = link;
    decodeBatch(m.batch, this);
    this.from = null;
  }

  // BatchSink: records of a batch from `this.from`, in order.
  tuple(target: number, sourceTask: number, streamIndex: number, values: unknown[], ids: number[] | null): void {
    const exec = this.local.deliverLocal(target, new Tuple(values, this.streams[streamIndex]!, sourceTask, ids));
    const link = this.from!;
    link.owed++;
    if (link.touchedFlag[target] === 0) {
      link.touchedFlag[target] = 1;
      link.touched.push(exec);
    }
  }

  ctl(target: number, kind: number, lo: number, hi: number, vlo: number, vhi: number, task: number): void {
    this.local.deliverLocal(target, new Ctl(kind, lo, hi, vlo, vhi, task));
  }
}

function drained(touched: readonly Executor<unknown>[]): boolean {
  for (let i = 0; i < touched.length; i++) if (!touched[i]!.mailbox.hasRoom()) return false;
  return true;
}
