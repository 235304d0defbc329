import type { MessagePort } from 'node:worker_threads';
import { ackerTaskFor } from '../acker/index.ts';
import { BARRIER_DESC, Tuple, WATERMARK_DESC } from '../tuple/index.ts';

/** The stream index a checkpoint barrier crosses threads with (no stream of a topology has it). */
const BARRIER_INDEX = 0xfffffffe;
/** And an event-time watermark (BARRIER_INDEX - 1: every system index sits above the topology's). */
const WATERMARK_INDEX = 0xfffffffd;
import type { StreamDesc } from '../tuple/index.ts';
import { invariant, SquallError } from '../errors/index.ts';
import { TrackBatch, TRACK_FAIL, TRACK_WORDS } from '../kernel/index.ts';
import type { Executor, Message, TrackPool } from '../kernel/index.ts';
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
 * Tuples one host may have sent to one task on a peer and not had credited
 * back. Credit is per target task, not per peer: a peer that returned credit
 * only once all its mailboxes drained could deadlock two hosts that send to
 * each other (each waiting for the other's full mailbox). Per task, a gate
 * depends only on the one mailbox it feeds, which drains on its own. The
 * spike found throughput needs a window of at least 4 batches of 256.
 */
export const CREDIT_TUPLES = 4 * BATCH_RECORDS;

/** `credit`: pairs of (target task, tuples) the peer may send again. */
export type PeerMessage = { t: 'batch'; batch: EncodedBatch } | { t: 'credit'; tasks: number[] };

/** The way to one other host: an outgoing batch, credits per target task, and credits owed back. */
export class PeerLink {
  port: MessagePort | null = null;
  readonly encoder = new BatchEncoder();
  /** By task id (tasks on the peer): tuples we may still send it. */
  readonly credits: Int32Array;
  /** By task id (tasks here): tuples received from the peer not yet credited back. */
  readonly owed: Int32Array;
  /** Tasks here with credit owed to the peer. */
  readonly owedTasks: Executor<unknown>[] = [];

  constructor(
    readonly hostId: number,
    taskCount: number,
  ) {
    this.credits = new Int32Array(taskCount + 1).fill(CREDIT_TUPLES);
    this.owed = new Int32Array(taskCount + 1);
  }

  reset(): void {
    this.credits.fill(CREDIT_TUPLES);
    this.owed.fill(0);
    this.owedTasks.length = 0;
  }
}

/** A producer's backpressure check for one task on a peer: open while that task has credit. */
export class TaskGate {
  constructor(
    private readonly link: PeerLink,
    private readonly task: number,
  ) {}

  hasRoom(): boolean {
    return this.link.port !== null && this.link.credits[this.task]! > 0;
  }
}

/** What the transport needs from its host. */
export interface LocalDelivery {
  readonly trackPool: TrackPool;
  /** The acker tasks: a tuple that cannot cross is failed at the acker that owns its root. */
  readonly ackerTasks: readonly number[];
  deliverLocal(task: number, msg: Message): Executor<unknown>;
  /** Any task, here or on a peer: how the fail of a tuple that could not cross reaches its acker. */
  deliver(task: number, msg: Message): void;
  /** Credit came back: producers held back for it may go on. */
  wakeUp(): void;
  reportError(component: string, task: number, error: unknown): void;
}

/**
 * Moves tuples and tracking messages between this host and the others over
 * MessagePorts, in batches (one postMessage per batch, never per tuple).
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

  gate(task: number): TaskGate {
    return new TaskGate(this.links[this.hostOfTask[task]!]!, task);
  }

  /** Attach (or replace, after a restart) the port to a peer; unsent data for the old one is dropped. */
  connect(hostId: number, port: MessagePort): void {
    const link = this.links[hostId]!;
    if (link.port !== null) link.port.close();
    link.port = port;
    link.encoder.finish();
    link.reset();
    port.on('message', (m: PeerMessage) => this.receive(link, m));
    port.on('close', () => {
      if (link.port === port) this.disconnect(hostId);
    });
    // Producers parked on the closed gate to this peer may go on now.
    this.local.wakeUp();
  }

  /** The peer died: hold producers back (no credit) until it is replaced; what was queued for it is lost and will time out. */
  disconnect(hostId: number): void {
    const link = this.links[hostId]!;
    link.port = null;
    this.unsent -= link.encoder.count;
    link.encoder.finish();
  }

  // in critical path
  send(task: number, msg: Message): void {
    const link = this.links[this.hostOfTask[task]!]!;
    if (msg instanceof Tuple) {
      if (link.port === null) return; // peer down: lost in flight, its tree times out and replays
      const index = msg.source.index >= 0 ? msg.source.index : msg.source === BARRIER_DESC ? BARRIER_INDEX : WATERMARK_INDEX;
      link.encoder.addTracked(task, msg.sourceTask, index, msg.values, msg.rootLo, msg.rootHi, msg.idLo, msg.idHi, msg.more);
      link.credits[task]!--;
    } else if (msg instanceof TrackBatch) {
      if (link.port !== null) link.encoder.addTrack(task, msg.data, msg.count);
      this.local.trackPool.give(msg);
      if (link.port === null) return;
    } else {
      invariant(false, `a host signal (${msg.kind}) was sent to task ${task} on another host`);
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
      if (link.owedTasks.length > 0) this.returnCredit(link);
    }
  }

  close(): void {
    for (const link of this.links) {
      if (link?.port) link.port.close();
      if (link) link.port = null;
    }
  }

  stats(): { peer: number; connected: boolean; credits: number; owed: number }[] {
    const out = [];
    for (const l of this.links) {
      if (!l) continue;
      let credits = 0;
      let owed = 0;
      for (let t = 1; t < l.credits.length; t++) {
        if (this.hostOfTask[t] === l.hostId) credits += l.credits[t]!;
        owed += l.owed[t]!;
      }
      out.push({ peer: l.hostId, connected: l.port !== null, credits, owed });
    }
    return out;
  }

  hasUnsent(): boolean {
    return this.unsent > 0;
  }

  /** Credit back the tuples of every task here whose mailbox has room again. */
  private returnCredit(link: PeerLink): void {
    const tasks = link.owedTasks;
    let grant: number[] | null = null;
    let keep = 0;
    for (let i = 0; i < tasks.length; i++) {
      const exec = tasks[i]!;
      if (exec.mailbox.hasRoom()) {
        (grant ??= []).push(exec.taskId, link.owed[exec.taskId]!);
        link.owed[exec.taskId] = 0;
      } else {
        tasks[keep++] = exec;
      }
    }
    tasks.length = keep;
    if (grant !== null) link.port!.postMessage({ t: 'credit', tasks: grant } satisfies PeerMessage);
  }

  private flushLink(link: PeerLink): void {
    const batch = link.encoder.finish();
    this.unsent -= batch.count;
    try {
      link.port!.postMessage({ t: 'batch', batch } satisfies PeerMessage, [batch.buf]);
    } catch (err) {
      // A value in `extra` that structured clone refuses (a function, a
      // handle): only its own tuple may fail, never the batch or the host.
      this.salvage(link, batch, err);
    }
  }

  /**
   * The failure path of a batch postMessage refused (the buffer is not
   * detached then: the clone failed before the transfer). Decode it here,
   * with the values as they were emitted, and encode again every record
   * whose values clone; a tuple with a value that does not is dropped: its
   * credit goes back, a TRACK_FAIL per root goes to the acker that owns the
   * root (so the spout replays the tree), and E_EMIT_NOT_CLONEABLE is
   * reported for the emitting component, naming the stream and the field.
   * The first emit on a stream was checked at the emit; this catches the
   * later ones without a clone test on the hot path.
   */
  private salvage(link: PeerLink, batch: EncodedBatch, cause: unknown): void {
    if (batch.extra === null) throw cause; // nothing was to be cloned: not a value's fault
    const rescue = new Rescue(this.streams, link, this.local);
    decodeBatch(batch, rescue);
    rescue.failTrees();
    if (rescue.dropped === 0) throw cause; // every value clones alone: not a value's fault either
    this.local.wakeUp(); // credit came back
    if (rescue.out.count === 0) return;
    const again = rescue.out.finish();
    link.port!.postMessage({ t: 'batch', batch: again } satisfies PeerMessage, [again.buf]);
  }

  private receive(link: PeerLink, m: PeerMessage): void {
    if (m.t === 'credit') {
      const g = m.tasks;
      for (let i = 0; i < g.length; i += 2) link.credits[g[i]!]! += g[i + 1]!;
      this.local.wakeUp();
      return;
    }
    this.from = link;
    decodeBatch(m.batch, this);
    this.from = null;
  }

  // BatchSink: records of a batch from `this.from`, in order.
  tuple(target: number, sourceTask: number, streamIndex: number, values: unknown[], rootLo: number, rootHi: number, idLo: number, idHi: number, more: number[] | null): void {
    const desc = streamIndex < WATERMARK_INDEX ? this.streams[streamIndex]! : streamIndex === BARRIER_INDEX ? BARRIER_DESC : WATERMARK_DESC;
    const exec = this.local.deliverLocal(target, new Tuple(values, desc, sourceTask, rootLo, rootHi, idLo, idHi, more));
    const link = this.from!;
    if (link.owed[target]!++ === 0) link.owedTasks.push(exec);
  }

  track(target: number, words: Int32Array, count: number): void {
    const b = this.local.trackPool.take();
    b.data.set(words.subarray(0, count * TRACK_WORDS));
    b.count = count;
    this.local.deliverLocal(target, b);
  }
}

/**
 * Re-encodes a refused batch without its uncloneable tuples (see
 * Transport.salvage). Off the hot path: a clone test per value that is not
 * a primitive, a fresh encoder, and tracking batches for the fails.
 */
class Rescue implements BatchSink {
  readonly out: BatchEncoder = new BatchEncoder(4096);
  dropped = 0;
  /** By acker task: TRACK_FAIL records for the roots of the dropped tuples. */
  private readonly fails = new Map<number, TrackBatch>();

  constructor(
    private readonly streams: readonly StreamDesc[],
    private readonly link: PeerLink,
    private readonly local: LocalDelivery,
  ) {}

  tuple(target: number, sourceTask: number, streamIndex: number, values: unknown[], rootLo: number, rootHi: number, idLo: number, idHi: number, more: number[] | null): void {
    for (let i = 0; i < values.length; i++) {
      const refused = cloneRefusal(values[i]);
      if (refused === null) continue;
      this.drop(target, sourceTask, streamIndex, i, refused, rootLo, rootHi, more);
      return;
    }
    this.out.addTracked(target, sourceTask, streamIndex, values, rootLo, rootHi, idLo, idHi, more);
  }

  track(target: number, words: Int32Array, count: number): void {
    this.out.addTrack(target, words, count);
  }

  /** Hand the fails to their ackers, here or on a peer (after the rescued batch's records on the same link). */
  failTrees(): void {
    for (const [acker, b] of this.fails) this.local.deliver(acker, b);
    this.fails.clear();
  }

  private drop(target: number, sourceTask: number, streamIndex: number, field: number, refused: unknown, rootLo: number, rootHi: number, more: number[] | null): void {
    this.dropped++;
    this.link.credits[target]!++; // the peer will never see it, so never credit it back
    const desc = this.streams[streamIndex]!;
    this.local.reportError(desc.component, sourceTask, notCloneable(desc, field, refused));
    if ((rootLo | rootHi) === 0) return;
    this.fail(sourceTask, rootLo, rootHi);
    if (more !== null) for (let k = 0; k < more.length; k += 4) this.fail(sourceTask, more[k]!, more[k + 1]!);
  }

  private fail(sourceTask: number, rootLo: number, rootHi: number): void {
    const ackers = this.local.ackerTasks;
    if (ackers.length === 0) return;
    const acker = ackerTaskFor(rootLo, rootHi, ackers);
    let b = this.fails.get(acker);
    if (b !== undefined && b.full) {
      this.local.deliver(acker, b);
      b = undefined;
    }
    if (b === undefined) {
      b = this.local.trackPool.take();
      this.fails.set(acker, b);
    }
    b.push(TRACK_FAIL, sourceTask, rootLo, rootHi, 0, 0);
  }
}

/** Why structured clone refuses `v` (the error), or null when it clones. Primitives always do. */
function cloneRefusal(v: unknown): unknown {
  const type = typeof v;
  if (v === null || (type !== 'object' && type !== 'function' && type !== 'symbol')) return null;
  try {
    structuredClone(v);
    return null;
  } catch (err) {
    return err;
  }
}

function notCloneable(desc: StreamDesc, field: number, refused: unknown): SquallError {
  const name = desc.fields[field] ?? String(field);
  const why = refused instanceof Error ? refused.message : String(refused);
  return new SquallError(
    {
      code: 'E_EMIT_NOT_CLONEABLE',
      component: desc.component,
      stream: desc.stream,
      details: { field: name },
      message:
        `'${desc.component}' emitted a value that cannot be cloned on stream '${desc.stream}' (field '${name}') to a task on another thread ` +
        `(${why.length > 120 ? `${why.slice(0, 117)}...` : why}); that tuple was dropped and its tree failed, so its spout can replay it. ` +
        'Tuples must be plain values: keep connections, handles and functions in the component and create them in open()/prepare()',
    },
    { cause: refused },
  );
}
