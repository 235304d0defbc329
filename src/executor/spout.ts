import { ackerTaskFor } from '../acker/index.ts';
import { invariant } from '../errors/index.ts';
import {
  checkEmit,
  directTaskError,
  Executor,
  Histogram,
  notDirectError,
  SIG_ACTIVATE,
  SIG_DEACTIVATE,
  SIG_ROTATE,
  Signal,
  TRACE_BIT,
  TRACK_COMPLETED,
  TRACK_FAILED,
  TRACK_HOLD,
  TRACK_INIT,
  TRACK_KIND_MASK,
  TRACK_RESET,
  TRACK_TIMED_OUT,
  TRACK_WORDS,
  undeclaredStream,
} from '../kernel/index.ts';
import type { HostLink, Message, OutStream, TrackBatch } from '../kernel/index.ts';
import type { Spout, SpoutOutputCollector } from '../spout/index.ts';
import type { CheckpointHooks } from '../state/index.ts';
import type { WatermarkOptions } from '../topology/index.ts';
import { SquallError } from '../errors/index.ts';
import { PendingTrees } from './pending-trees.ts';
import type { TopologyContext } from '../topology/index.ts';
import { Tuple } from '../tuple/index.ts';

/**
 * The watermark of one spout task: the largest event time emitted less the
 * bounded out-of-orderness. After idleTimeoutMs without an emit the task is
 * idle: it says so (downstream stops waiting for it) and its watermark moves
 * on with the processing clock from where it stood, so windows that no data
 * will close still fire.
 */
class WatermarkGenerator {
  private maxTs = -Infinity;
  private readonly ooo: number;
  private readonly idleTimeoutMs: number;
  readonly intervalMs: number;
  private readonly fieldByStream: number[] = [];
  private readonly extract: ((values: readonly unknown[]) => number) | null;
  nextAt = 0;
  idle = false;
  private lastActive: number;
  private idleSince = 0;
  private idleBase = -Infinity;

  constructor(o: WatermarkOptions, streams: Map<string, OutStream>, now: number) {
    this.ooo = o.maxOutOfOrdernessMs ?? 0;
    this.idleTimeoutMs = o.idleTimeoutMs ?? 0;
    this.intervalMs = o.intervalMs ?? 200;
    this.extract = o.timestamp ?? null;
    for (const st of streams.values()) this.fieldByStream[st.desc.index] = o.timestampField === undefined ? -1 : st.fields.indexOf(o.timestampField);
    this.lastActive = now;
  }

  // in critical path: one field read and a compare per emit.
  observe(stream: number, values: readonly unknown[]): void {
    let t: number;
    if (this.extract !== null) t = this.extract(values);
    else {
      const i = this.fieldByStream[stream] ?? -1;
      if (i < 0) return;
      const v = values[i];
      t = typeof v === 'number' ? v : v instanceof Date ? v.getTime() : NaN;
    }
    if (t > this.maxTs) this.maxTs = t;
  }

  active(now: number): void {
    this.lastActive = now;
    this.idle = false;
  }

  resume(watermark: number): void {
    this.maxTs = watermark + this.ooo;
  }

  /** The watermark now (the caller keeps it from going backwards). */
  current(now: number): number {
    const fromData = this.maxTs - this.ooo;
    if (!this.idle && this.idleTimeoutMs > 0 && now - this.lastActive >= this.idleTimeoutMs) {
      this.idle = true;
      this.idleSince = now;
      this.idleBase = fromData;
    }
    if (!this.idle) return fromData;
    return Number.isFinite(this.idleBase) ? this.idleBase + (now - this.idleSince) : fromData;
  }
}

/** Complete latency is measured on 1 tree in LATENCY_SAMPLE (a power of two): two clock reads per tree cost more than a null bolt's whole execute. */
const LATENCY_SAMPLE = 8;

/**
 * Trees traced whatever the sample rate: the first TRACE_FIRST of each spout
 * task, and again after a timeout once those are used up, so the first
 * timeouts of a run (and the ones after each) say who held their tuples.
 */
export const TRACE_FIRST = 16;
/** A gap that never comes: no sampling (about a billion trees). */
const NO_TRACE = 0x3fffffff;

/** Rotating buckets of the pending map (see RotatingMap): expiry within [T, 1.5T]. */
export const TIMEOUT_BUCKETS = 3;

/**
 * Runs one spout task: calls nextTuple while the task is under its pending
 * limit and its downstream has room, tracks every tree it roots, and tells
 * the spout ack or fail. It keeps its own timeout map as Storm does, so a
 * tree whose acker was lost still times out.
 */
export class SpoutExecutor extends Executor<Message> implements SpoutOutputCollector {
  private spout: Spout | null = null;
  /** Trees in flight, found by the slot their root id carries. */
  private readonly trees: PendingTrees;
  private sampleTick = 0;
  private readonly ackers: readonly number[];
  private readonly tracking: boolean;
  /** Message ids to ack right away (no acker, or no subscriber): delivered after nextTuple returns, never inside it. */
  private readonly immediate: unknown[] = [];
  /** Message ids whose emit threw: failed after nextTuple returns. */
  private readonly immediateFails: unknown[] = [];
  private defaultStream: OutStream | undefined;
  active = false;
  timedOut = 0;
  readonly latency = new Histogram();
  private idleMs = 0;
  /** performance.now() before which nextTuple is not called (idle backoff). */
  idleUntil = 0;
  /** The fraction of trees traced beyond the first ones (config traceSample, 0 to 1; set by the host). */
  traceSample = 0;
  /** Trees until the next traced one (1: the next), and forced traces left. */
  private traceIn = 1;
  private traceFirst = TRACE_FIRST;
  /** Trees traced so far. */
  traced = 0;
  /** Event-time watermarks generated from the emits (set by the host; null: none). */
  watermarks: WatermarkOptions | null = null;
  private wm: WatermarkGenerator | null = null;

  constructor(
    taskId: number,
    component: string,
    host: HostLink,
    private readonly factory: () => Spout,
    private readonly context: TopologyContext,
    private readonly streams: Map<string, OutStream>,
    private readonly maxPending: number,
    private readonly idleMaxMs: number,
    capacity: number,
  ) {
    super(taskId, component, 'spout', host, capacity);
    this.ackers = host.ackerTasks;
    this.tracking = this.ackers.length > 0;
    this.defaultStream = streams.get('default');
    this.trees = new PendingTrees(taskId, TIMEOUT_BUCKETS);
  }

  get pending(): number {
    return this.trees.size;
  }

  async start(): Promise<void> {
    const restoredWatermark = this.restore?.watermark ?? -Infinity;
    this.spout = await this.startInstance(this.factory, 'open', async (s) => {
      await this.restoreInto(s, this.context.taskIndex);
      await s.open(this.context, this);
    });
    this.afterStart();
    if (this.watermarks !== null && (this.watermarks.timestampField !== undefined || this.watermarks.timestamp !== undefined)) {
      this.wm = new WatermarkGenerator(this.watermarks, this.streams, this.host.clock.now());
    }
    // A restored run goes on from the checkpoint's watermark, sent before any tuple: nothing turns on time again.
    // A spout that sends its own (per partition, say) restores its own instead: which of its inputs this task
    // gets may have changed, and only it knows.
    if (Number.isFinite(restoredWatermark) && this.wm !== null) {
      this.wm.resume(restoredWatermark);
      this.forwardWatermark(restoredWatermark, false);
    }
  }

  /**
   * Send a watermark: no tuple with an earlier event time follows from this
   * task (later ones are late). `idle`: the task has nothing to read (no
   * partitions, say): bolts stop waiting for it.
   */
  emitWatermark(time: number, idle = false): void {
    if (typeof time !== 'number' || Number.isNaN(time)) {
      throw new SquallError({ code: 'E_BAD_ARGUMENT', component: this.component, message: `spout '${this.component}' emitted watermark ${String(time)}; a watermark is a number of ms of event time` });
    }
    this.forwardWatermark(time, idle === true);
  }

  protected hooks(): CheckpointHooks | null {
    return this.spout;
  }

  /**
   * Start checkpoint n here: record the spout's position (snapshotState),
   * then send barrier n on every output, after every tuple emitted so far.
   * Called between slices, so between two nextTuple calls.
   */
  triggerCheckpoint(n: number): void {
    if (this.spout === null) return;
    this.snapshot(n, () => this.forwardBarrier(n));
  }

  async stop(): Promise<void> {
    const s = this.spout;
    if (s?.close) await s.close();
  }

  isDone(): boolean {
    const s = this.spout;
    return s !== null && typeof s.isDone === 'function' && this.trees.size === 0 && this.immediate.length === 0 && this.immediateFails.length === 0 && s.isDone();
  }

  /** The spout's lag behind its source (Spout.lag), or -1 when it cannot say. */
  sourceLag(): number {
    const s = this.spout;
    if (s === null || typeof s.lag !== 'function') return -1;
    try {
      const lag = s.lag();
      return typeof lag === 'number' && lag >= 0 ? lag : -1;
    } catch {
      return -1;
    }
  }

  hasDoneCheck(): boolean {
    return typeof this.spout?.isDone === 'function';
  }

  // --- collector -----------------------------------------------------------

  emit(values: unknown[], msgId?: unknown): void {
    try {
      const s = this.defaultStream;
      if (s === undefined) throw undeclaredStream(this.component, 'spout', 'default', this.streams.keys());
      this.send(s, values, msgId, -1);
    } catch (err) {
      this.rejected(msgId, err);
    }
  }

  emitTo(stream: string, values: unknown[], msgId?: unknown): void {
    try {
      const s = this.streams.get(stream);
      if (s === undefined) throw undeclaredStream(this.component, 'spout', stream, this.streams.keys());
      this.send(s, values, msgId, -1);
    } catch (err) {
      this.rejected(msgId, err);
    }
  }

  emitDirect(taskId: number, stream: string, values: unknown[], msgId?: unknown): void {
    try {
      const s = this.streams.get(stream);
      if (s === undefined) throw undeclaredStream(this.component, 'spout', stream, this.streams.keys());
      if (!s.direct || s.directTargets[taskId] !== 1) throw directTaskError(this.component, s, taskId);
      this.send(s, values, msgId, taskId);
    } catch (err) {
      this.rejected(msgId, err);
    }
  }

  /**
   * An emit that threw never registered its tree, so nothing would ever
   * settle its message id: fail it (after nextTuple returns) so the spout
   * can replay it, and let the error reach the caller.
   */
  private rejected(msgId: unknown, err: unknown): never {
    if (msgId !== undefined && msgId !== null) this.immediateFails.push(msgId);
    throw err;
  }

  reportError(error: unknown): void {
    this.host.reportError(this.component, this.taskId, error);
  }

  // in critical path: plain loops, no closures.
  private send(s: OutStream, values: unknown[], msgId: unknown, directTask: number): void {
    checkEmit(this.component, s, values);
    if (this.wm !== null) this.wm.observe(s.desc.index, values);
    if (directTask < 0 && s.direct) throw notDirectError(this.component, s);
    const host = this.host;
    if (host.capture !== null) host.capture.record(this.component, s.id, this.taskId, values);
    const tracked = msgId !== undefined && msgId !== null && this.tracking;
    const ids = host.ids;
    let rootLo = 0;
    let rootHi = 0;
    let xorLo = 0;
    let xorHi = 0;
    if (tracked) {
      // The root's low half is random; its high half names this task and the
      // tree's slot (PendingTrees), so outcomes find the tree without a hash.
      ids.next();
      // The low bit marks a traced tree: set on the sampled ones, clear on the rest.
      rootLo = --this.traceIn === 0 && this.traceNext() ? ids.lo | TRACE_BIT : ids.lo & ~TRACE_BIT;
      rootHi = this.trees.add(rootLo, msgId, (++this.sampleTick & (LATENCY_SAMPLE - 1)) === 1 ? host.clock.now() : -1);
    }
    let sent = 0;
    try {
      const nRoutes = s.routeCount(directTask);
      for (let r = 0; r < nRoutes; r++) {
        const targets = s.route(r, values, directTask);
        for (let i = 0; i < targets.length; i++) {
          if (tracked) {
            ids.next();
            xorLo ^= ids.lo;
            xorHi ^= ids.hi;
            host.deliver(targets[i]!, new Tuple(values, s.desc, this.taskId, rootLo, rootHi, ids.lo, ids.hi, null));
            if ((rootLo & TRACE_BIT) !== 0) this.track.add(ackerTaskFor(rootLo, rootHi, this.ackers), TRACK_HOLD, targets[i]!, rootLo, rootHi, ids.lo, this.taskId);
          } else {
            host.deliver(targets[i]!, new Tuple(values, s.desc, this.taskId));
          }
          sent++;
        }
      }
    } catch (err) {
      // A grouping threw: the tree was never announced, so forget it; the caller fails its message id.
      if (tracked) this.trees.remove(this.trees.find(rootLo, rootHi));
      throw err;
    }
    this.emitted++;
    this.transferred += sent;
    if (msgId === undefined || msgId === null) return;
    if (!tracked) {
      // Nothing to track: the tree is complete as it is emitted (Storm does the same).
      this.immediate.push(msgId);
      return;
    }
    if (sent === 0) {
      // No subscriber: complete at once too.
      this.immediate.push(this.trees.remove(this.trees.find(rootLo, rootHi)));
      return;
    }
    this.track.add(ackerTaskFor(rootLo, rootHi, this.ackers), TRACK_INIT, this.taskId, rootLo, rootHi, xorLo, xorHi);
  }

  /** The countdown to a traced tree ran out: trace this one? Sets the next countdown. */
  private traceNext(): boolean {
    if (this.traceFirst > 0) {
      this.traceFirst--;
      this.traceIn = this.traceFirst > 0 ? 1 : this.traceGap();
      this.traced++;
      return true;
    }
    this.traceIn = this.traceGap();
    if (!(this.traceSample > 0)) return false;
    this.traced++;
    return true;
  }

  /** Trees to the next sampled one: geometric with mean 1 / traceSample, from the host's random source. */
  private traceGap(): number {
    const p = this.traceSample;
    if (!(p > 0)) return NO_TRACE;
    if (p >= 1) return 1;
    const u = 1 - this.host.random.float(); // (0, 1]
    return Math.min(NO_TRACE, 1 + Math.floor(Math.log(u) / Math.log(1 - p)));
  }

  /** A tree timed out: trace the next TRACE_FIRST trees, if the forced ones are used up. */
  private traceAfterTimeout(): void {
    if (this.traceFirst > 0 || !this.tracking) return;
    this.traceFirst = TRACE_FIRST;
    this.traceIn = 1;
  }

  // --- actor loop ----------------------------------------------------------

  runSlice(budget: number): number {
    const spout = this.spout!;
    const mb = this.mailbox;
    let work = 0;
    // Outcomes first: they free pending slots and never wait behind nextTuple.
    while (mb.size > 0 && work < budget) {
      const m = mb.shift();
      if (m instanceof Signal) this.signal(spout, m);
      else this.outcomes(spout, m as TrackBatch);
      work++;
    }
    if (this.immediate.length > 0 || this.immediateFails.length > 0) work += this.flushImmediate(spout);
    let calls = 0;
    if (this.active && !this.paused) {
      while (calls < budget) {
        if (this.trees.size >= this.maxPending || !this.downstreamHasRoom()) break;
        if (this.idleUntil !== 0) {
          if (performance.now() < this.idleUntil) break;
          this.idleUntil = 0;
        }
        const before = this.emitted;
        try {
          spout.nextTuple();
        } catch (err) {
          this.reportError(err);
        }
        calls++;
        if (this.immediate.length > 0 || this.immediateFails.length > 0) this.flushImmediate(spout);
        if (this.emitted === before) {
          // Nothing to emit: back off 1, 2, 4 ... spoutIdleMaxMs ms so an idle spout sleeps.
          // The call that found nothing is not work: a host with only idle spouts is quiet.
          calls--;
          this.idleMs = this.idleMs === 0 ? 1 : Math.min(this.idleMs * 2, this.idleMaxMs);
          this.idleUntil = this.host.manual ? 0 : performance.now() + this.idleMs;
          break;
        }
        this.idleMs = 0;
      }
    }
    this.noteBackPressure(this.active && !this.paused && calls < budget && this.trees.size < this.maxPending && !this.downstreamHasRoom());
    if (this.wm !== null) this.tickWatermark(calls > 0);
    if (this.track.pending) work += this.track.flush();
    return work + calls;
  }

  /** Once a slice: send the watermark when its interval is up (one clock read). */
  private tickWatermark(emitted: boolean): void {
    const wm = this.wm!;
    const now = this.host.clock.now();
    if (emitted) wm.active(now);
    if (now < wm.nextAt) return;
    wm.nextAt = now + wm.intervalMs;
    const time = wm.current(now);
    this.forwardWatermark(Math.max(time, this.watermarkOut), wm.idle);
  }

  private flushImmediate(spout: Spout): number {
    // Callbacks here may emit and queue more: take only what is queued now.
    const acks = this.immediate.splice(0);
    const fails = this.immediateFails.splice(0);
    for (let i = 0; i < acks.length; i++) {
      this.acked++;
      this.callAck(spout, acks[i]);
    }
    for (let i = 0; i < fails.length; i++) {
      this.failed++;
      this.callFail(spout, fails[i]);
    }
    return acks.length + fails.length;
  }

  // in critical path: one pass over a batch of outcomes from an acker.
  private outcomes(spout: Spout, b: TrackBatch): void {
    const d = b.data;
    const end = b.count * TRACK_WORDS;
    const trees = this.trees;
    for (let o = 0; o < end; o += TRACK_WORDS) {
      const kind = d[o]! & TRACK_KIND_MASK;
      const slot = trees.find(d[o + 1]!, d[o + 2]!);
      if (slot < 0) continue; // already timed out here
      if (kind === TRACK_RESET) {
        trees.touch(slot);
        continue;
      }
      const start = trees.start(slot);
      const msgId = trees.remove(slot);
      this.idleUntil = 0;
      if (kind === TRACK_COMPLETED) {
        this.acked++;
        if (start >= 0) this.latency.recordMs(this.host.clock.now() - start);
        this.callAck(spout, msgId);
      } else {
        invariant(kind === TRACK_FAILED || kind === TRACK_TIMED_OUT, `spout task ${this.taskId} got tracking record kind ${kind}`);
        if (kind === TRACK_FAILED) this.failed++;
        else {
          this.timedOut++;
          this.traceAfterTimeout();
        }
        this.callFail(spout, msgId);
      }
    }
    this.host.trackPool.give(b);
  }

  private signal(spout: Spout, m: Signal): void {
    switch (m.kind) {
      case SIG_ROTATE:
        this.trees.rotate(this.expire);
        return;
      case SIG_ACTIVATE:
        if (this.active) return;
        this.active = true;
        this.idleUntil = 0;
        this.guard(() => spout.activate?.());
        return;
      case SIG_DEACTIVATE:
        if (!this.active) return;
        this.active = false;
        this.guard(() => spout.deactivate?.());
        return;
      default:
        invariant(false, `spout task ${this.taskId} got signal ${m.kind}`);
    }
  }

  private readonly expire = (msgId: unknown): void => {
    this.timedOut++;
    this.traceAfterTimeout();
    this.callFail(this.spout!, msgId);
  };

  private callAck(spout: Spout, msgId: unknown): void {
    if (spout.ack === undefined) return;
    try {
      spout.ack(msgId);
    } catch (err) {
      this.reportError(err);
    }
  }

  private callFail(spout: Spout, msgId: unknown): void {
    if (spout.fail === undefined) return;
    try {
      spout.fail(msgId);
    } catch (err) {
      this.reportError(err);
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.reportError(err);
    }
  }
}
