import { ackerTaskFor } from '../acker/index.ts';
import type { IdSource } from '../acker/index.ts';
import type { Anchors, BasicBolt, BasicOutputCollector, Bolt, OutputCollector } from '../bolt/index.ts';
import { FailedError, isBasicBolt } from '../bolt/index.ts';
import { SquallError } from '../errors/index.ts';
import { checkEmit, directTaskError, Executor, notDirectError, TRACE_BIT, tracedRootFirst, TRACK_FAIL, TRACK_RESET, undeclaredStream } from '../kernel/index.ts';
import type { HostLink, OutStream } from '../kernel/index.ts';
import type { CheckpointHooks, KeySelector, RestoredState, TimeDomain } from '../state/index.ts';
import type { TopologyContext } from '../topology/index.ts';
import { BARRIER_DESC, Tuple } from '../tuple/index.ts';

/** How a bolt task takes part in checkpoints: set by the host when the topology checkpoints. */
export interface BoltCheckpointing {
  /** Distinct upstream tasks: barrier n must come from each before the task snapshots. */
  readonly inputChannels: number;
  /** Hold the input of channels that passed the barrier (exactly-once), or not (at-least-once). */
  readonly align: boolean;
  /** Tuples held while aligning before the task declines the checkpoint. */
  readonly maxAligned: number;
}

const SETTLED_ACKED = 1;
const SETTLED_FAILED = 2;

/**
 * Runs one bolt task: takes tuples from its mailbox one at a time while its
 * downstream has room, and turns the bolt's emits, acks and fails into
 * tuples for other tasks and tracking messages for the ackers (Storm's XOR
 * scheme: an anchored emit gets a new edge id that is XORed into the
 * anchor's out value and into the new tuple's id for each of the anchor's
 * roots).
 */
export class BoltExecutor extends Executor<Tuple> implements OutputCollector {
  private bolt: Bolt | null = null;
  private readonly ackers: readonly number[];
  private defaultStream: OutStream | undefined;
  /** Key selectors of keyed inputs, by stream index (fields-grouped inputs only). */
  selectors: (KeySelector | null)[] = [];
  /** Set when the topology checkpoints. */
  checkpointing: BoltCheckpointing | null = null;
  /** Upstream tasks that carry event time (set by the host): the task's watermark waits for each. */
  eventTimeInputs: readonly number[] = [];
  private wmChannels: Map<number, { time: number; idle: boolean }> | null = null;
  private taskWatermark = -Infinity;
  /** The checkpoint being aligned (0: none), and the channels its barrier came on. */
  private aligningId = 0;
  private barriersIn = 0;
  private seen: Uint8Array | null = null;
  /** Holding input from channels that passed the barrier. */
  private aligning = false;
  /** Checkpoints at or below this one are over here (taken, declined or aborted): late barriers of them are dropped. */
  private doneUpTo = 0;
  private held: Tuple[] = [];
  /** Held input released after alignment, taken before the mailbox. */
  private replay: Tuple[] | null = null;
  private replayAt = 0;

  constructor(
    taskId: number,
    component: string,
    host: HostLink,
    private readonly factory: () => Bolt | BasicBolt,
    private readonly context: TopologyContext,
    private readonly streams: Map<string, OutStream>,
    capacity: number,
  ) {
    super(taskId, component, 'bolt', host, capacity);
    this.ackers = host.ackerTasks;
    this.defaultStream = streams.get('default');
  }

  async start(): Promise<void> {
    const restoredWatermark = this.restore?.watermark ?? -Infinity;
    const made = (): Bolt => {
      const b = this.factory();
      return isBasicBolt(b) ? new BasicBoltAdapter(b) : b;
    };
    this.bolt = await this.startInstance(made, 'prepare', async (b) => {
      await this.restoreInto(b, this.context.taskIndex);
      await b.prepare(this.context, this);
    });
    const keyed = this.keyed.backend;
    if (keyed !== null && this.bolt.onTimer !== undefined) {
      const bolt = this.bolt;
      keyed.onTimer = (time: number, domain: TimeDomain) => bolt.onTimer!(time, domain);
    }
    this.afterStart();
    // A restored task goes on from its checkpointed watermark before any input: what was late stays late.
    if (Number.isFinite(restoredWatermark)) {
      this.taskWatermark = restoredWatermark;
      keyed?.advanceWatermark(restoredWatermark);
      this.forwardWatermark(restoredWatermark, false);
    }
  }

  protected hooks(): CheckpointHooks | null {
    return this.bolt;
  }

  async stop(): Promise<void> {
    this.keyed.backend?.close();
    const b = this.bolt;
    if (b?.cleanup) await b.cleanup();
  }

  runSlice(budget: number): number {
    const bolt = this.bolt!;
    const mb = this.mailbox;
    let n = 0;
    const keyed = this.keyed.backend;
    if (keyed !== null && keyed.hasDueTimers()) n += this.fireTimers(keyed);
    while (n < budget && (mb.size > 0 || this.replay !== null) && !this.paused && this.downstreamHasRoom()) {
      const input = this.replay !== null ? this.nextReplayed() : mb.shift();
      n++;
      // System tuples have negative stream indexes: barriers and watermarks stop here, ticks go on.
      if (input.source.index < -1) {
        if (input.source === BARRIER_DESC) this.barrier(input);
        else if (this.aligning && this.seen![input.sourceTask] === 1) this.hold(input);
        else this.watermark(input);
        continue;
      }
      if (this.aligning && this.seen![input.sourceTask] === 1) {
        this.hold(input);
        continue;
      }
      if (keyed !== null) keyed.setInput(input, this.selectors[input.source.index] ?? null);
      // Execute latency is sampled, 1 in 16, as Storm samples its stats:
      // two clock reads per tuple would cost more than many executes.
      if ((++this.executed & 15) === 0) {
        const t0 = performance.now();
        this.execute(bolt, input);
        this.executeSample(performance.now() - t0);
      } else {
        this.execute(bolt, input);
      }
    }
    if (keyed !== null) keyed.setInput(null, null);
    this.noteBackPressure(mb.size > 0 && !this.paused && n < budget && !this.downstreamHasRoom());
    if (this.track.pending) n += this.track.flush();
    return n;
  }

  private execute(bolt: Bolt, input: Tuple): void {
    try {
      bolt.execute(input);
    } catch (err) {
      if (input.settled === 0) this.fail(input);
      if (!(err instanceof FailedError)) this.reportError(err);
    }
  }

  private fireTimers(keyed: NonNullable<typeof this.keyed.backend>): number {
    try {
      return keyed.fireProcessingTimers();
    } catch (err) {
      this.reportError(err);
      return 1;
    }
  }

  // --- event time ----------------------------------------------------------

  /**
   * A watermark from one input channel. The task's watermark is the least
   * over the channels that carry event time and are not idle; when every
   * one is idle, the greatest of them (idle channels move on with the
   * processing clock, and nothing is coming on any). It never goes back.
   * When it advances, event-time timers up to it fire, the bolt's
   * onWatermark runs, and it goes downstream.
   */
  private watermark(w: Tuple): void {
    const time = w.values[0] as number;
    const idle = w.values[1] === 1;
    const src = w.sourceTask;
    let chans = this.wmChannels;
    if (chans === null) {
      chans = this.wmChannels = new Map(this.eventTimeInputs.map((t) => [t, { time: -Infinity, idle: false }]));
    }
    let c = chans.get(src);
    if (c === undefined) chans.set(src, (c = { time: -Infinity, idle: false }));
    if (time > c.time) c.time = time;
    c.idle = idle;
    let least = Infinity;
    let most = -Infinity;
    let allIdle = true;
    for (const ch of chans.values()) {
      if (ch.time > most) most = ch.time;
      if (ch.idle) continue;
      allIdle = false;
      if (ch.time < least) least = ch.time;
    }
    // Every input idle: nothing is coming on any of them; follow the one furthest on (they move with the clock).
    const next = allIdle ? most : least;
    if (next > this.taskWatermark) {
      this.taskWatermark = next;
      const keyed = this.keyed.backend;
      try {
        if (keyed !== null) keyed.advanceWatermark(next);
        this.bolt!.onWatermark?.(next);
      } catch (err) {
        this.reportError(err);
      }
    }
    if (this.taskWatermark > -Infinity) this.forwardWatermark(this.taskWatermark, allIdle);
  }

  /** The task's event-time watermark (-Infinity until every event-time input sent one). */
  get currentWatermark(): number {
    return this.taskWatermark;
  }

  // --- checkpoints ---------------------------------------------------------

  private nextReplayed(): Tuple {
    const r = this.replay!;
    const t = r[this.replayAt++]!;
    if (this.replayAt === r.length) {
      this.replay = null;
      this.replayAt = 0;
    }
    return t;
  }

  /**
   * Barrier n from one input channel. The first barrier of n starts the
   * alignment; with every channel's barrier in, the task snapshots, forwards
   * the barrier and takes the held input back. A barrier of a newer
   * checkpoint ends an alignment that its abort notice has not reached yet.
   */
  private barrier(b: Tuple): void {
    const cp = this.checkpointing;
    const n = b.values[0] as number;
    if (cp === null || n <= this.doneUpTo) return;
    if (n > this.aligningId) {
      if (this.aligningId !== 0) this.release();
      this.aligningId = n;
      this.barriersIn = 0;
      this.seen ??= new Uint8Array(this.host.taskCount + 1);
      this.seen.fill(0);
      this.aligning = cp.align;
    }
    if (this.seen![b.sourceTask] === 1) return;
    this.seen![b.sourceTask] = 1;
    if (++this.barriersIn < cp.inputChannels) return;
    this.doneUpTo = n;
    this.aligningId = 0;
    this.aligning = false;
    this.snapshot(n, () => {
      this.forwardBarrier(n);
      this.release();
    });
  }

  private hold(t: Tuple): void {
    this.held.push(t);
    if (this.held.length <= this.checkpointing!.maxAligned) return;
    const n = this.aligningId;
    this.doneUpTo = n;
    this.decline(n, `held ${this.held.length} tuples while aligning barriers, above checkpointMaxAlignedTuples (${this.checkpointing!.maxAligned}); an input is much slower than the others`);
    this.release();
  }

  /** Stop aligning; the held input goes first, before the mailbox. */
  private release(): void {
    this.aligningId = 0;
    this.aligning = false;
    if (this.held.length === 0) return;
    const rest = this.replay !== null ? this.replay.slice(this.replayAt) : [];
    this.replay = rest.length > 0 ? this.held.concat(rest) : this.held;
    this.replayAt = 0;
    this.held = [];
  }

  override checkpointAborted(n: number): void {
    if (n > this.doneUpTo) this.doneUpTo = n;
    // Aligning n (or older), or holding input behind a snapshot of n that will never finish.
    if (this.aligningId === 0 ? this.held.length > 0 : this.aligningId <= n) this.release();
    super.checkpointAborted(n);
  }

  /** What the bolt reports about itself (Bolt.metrics), or null; a throw is reported, not fatal. */
  userMetrics(): Readonly<Record<string, number>> | null {
    const b = this.bolt;
    if (b === null || typeof b.metrics !== 'function') return null;
    try {
      return b.metrics();
    } catch (err) {
      this.reportError(err);
      return null;
    }
  }

  /** Input held back or waiting to be taken again (for queue depth). */
  get heldCount(): number {
    return this.held.length + (this.replay !== null ? this.replay.length - this.replayAt : 0);
  }

  // --- collector -----------------------------------------------------------

  emit(values: unknown[], anchors?: Anchors): void {
    const s = this.defaultStream;
    if (s === undefined) throw undeclaredStream(this.component, 'bolt', 'default', this.streams.keys());
    this.send(s, values, anchors, -1);
  }

  emitTo(stream: string, values: unknown[], anchors?: Anchors): void {
    const s = this.streams.get(stream);
    if (s === undefined) throw undeclaredStream(this.component, 'bolt', stream, this.streams.keys());
    this.send(s, values, anchors, -1);
  }

  emitDirect(taskId: number, stream: string, values: unknown[], anchors?: Anchors): void {
    const s = this.streams.get(stream);
    if (s === undefined) throw undeclaredStream(this.component, 'bolt', stream, this.streams.keys());
    if (!s.direct || s.directTargets[taskId] !== 1) throw directTaskError(this.component, s, taskId);
    this.send(s, values, anchors, taskId);
  }

  // in critical path: one merged record per root per slice, no objects.
  ack(input: Tuple): void {
    if (input.settled !== 0) return; // acked or failed already: once only
    input.settled = SETTLED_ACKED;
    this.acked++;
    if ((input.rootLo | input.rootHi) === 0) return;
    const outLo = input.outLo;
    const outHi = input.outHi;
    const lo = input.rootLo;
    const hi = input.rootHi;
    this.track.ack(ackerTaskFor(lo, hi, this.ackers), this.taskId, lo, hi, input.idLo ^ outLo, input.idHi ^ outHi);
    const more = input.more;
    if (more === null) return;
    for (let i = 0; i < more.length; i += 4) {
      const mlo = more[i]!;
      const mhi = more[i + 1]!;
      this.track.ack(ackerTaskFor(mlo, mhi, this.ackers), this.taskId, mlo, mhi, more[i + 2]! ^ outLo, more[i + 3]! ^ outHi);
    }
  }

  /** A fail is sent at once, not at the end of the slice: its spout should hear of it soon. */
  fail(input: Tuple): void {
    if (input.settled !== 0) return;
    input.settled = SETTLED_FAILED;
    this.failed++;
    // Checkpoint mode without ackers: only a rollback processes it again.
    if (this.checkpointing !== null && this.ackers.length === 0 && !input.isTick) {
      this.host.requestRollback(this.component, this.taskId, `failed by the bolt`);
      return;
    }
    if ((input.rootLo | input.rootHi) === 0) return;
    this.sendEach(input, TRACK_FAIL);
    this.track.flush();
  }

  resetTimeout(input: Tuple): void {
    if ((input.rootLo | input.rootHi) === 0 || input.settled !== 0) return;
    this.sendEach(input, TRACK_RESET);
  }

  /** One record of `kind` for each root of the input. */
  private sendEach(input: Tuple, kind: number): void {
    const lo = input.rootLo;
    const hi = input.rootHi;
    this.track.add(ackerTaskFor(lo, hi, this.ackers), kind, this.taskId, lo, hi, 0, 0);
    const more = input.more;
    if (more === null) return;
    for (let i = 0; i < more.length; i += 4) {
      this.track.add(ackerTaskFor(more[i]!, more[i + 1]!, this.ackers), kind, this.taskId, more[i]!, more[i + 1]!, 0, 0);
    }
  }

  reportError(error: unknown): void {
    this.host.reportError(this.component, this.taskId, error);
  }

  // in critical path: plain loops, no closures, no array writes for the
  // common single-anchor case (profiled: Array length writes cost 15%).
  private send(s: OutStream, values: unknown[], anchors: Anchors, directTask: number): void {
    checkEmit(this.component, s, values);
    if (directTask < 0 && s.direct) throw notDirectError(this.component, s);
    let single: Tuple | null = null;
    let many: readonly Tuple[] | null = null;
    let tracked = false;
    if (anchors === undefined || anchors === null) {
      // unanchored
    } else if (anchors instanceof Tuple) {
      single = anchors;
      this.checkAnchor(single, s);
      tracked = (single.rootLo | single.rootHi) !== 0;
    } else {
      many = anchors;
      for (let a = 0; a < many.length; a++) {
        this.checkAnchor(many[a]!, s);
        if ((many[a]!.rootLo | many[a]!.rootHi) !== 0) tracked = true;
      }
      if (tracked && many.length === 1) {
        single = many[0]!;
        many = null;
      }
    }
    const host = this.host;
    if (host.capture !== null) host.capture.record(this.component, s.id, this.taskId, values);
    const nRoutes = s.routeCount(directTask);
    for (let r = 0; r < nRoutes; r++) {
      const targets = s.route(r, values, directTask);
      for (let i = 0; i < targets.length; i++) {
        let t: Tuple;
        if (!tracked) t = new Tuple(values, s.desc, this.taskId);
        else if (single !== null && single.more === null) t = this.childOfOne(single, values, s);
        else t = this.childOfMany(single, many, values, s);
        host.deliver(targets[i]!, t);
        // Traced trees only (1 in traceSample): who holds the tuple now. Untracked tuples have rootLo 0.
        if ((t.rootLo & TRACE_BIT) !== 0) this.traceHold(targets[i]!, t);
        this.transferred++;
      }
    }
    this.emitted++;
  }

  /**
   * The common case, one anchor of one tree: a new edge id, XORed into the
   * anchor's out value, is the child's id for the anchor's root.
   */
  private childOfOne(anchor: Tuple, values: unknown[], s: OutStream): Tuple {
    const e = this.newEdge(anchor);
    return new Tuple(values, s.desc, this.taskId, anchor.rootLo, anchor.rootHi, e.lo, e.hi, null);
  }

  /** Draw a new edge id (left in the id source's lo and hi) and XOR it into the anchor's out value. */
  private newEdge(anchor: Tuple): IdSource {
    const ids = this.host.ids;
    ids.next();
    anchor.outLo ^= ids.lo;
    anchor.outHi ^= ids.hi;
    return ids;
  }

  /**
   * Several anchors, or an anchor of several trees. A new edge per anchor, as
   * in Storm: one edge shared by two anchors of the same root would cancel
   * out of the child's id, and the tree could complete before the child is
   * done. The child's ids per root collect in one flat list first.
   */
  private childOfMany(single: Tuple | null, many: readonly Tuple[] | null, values: unknown[], s: OutStream): Tuple {
    const ids: number[] = [];
    if (single !== null) this.link(single, ids);
    else for (let a = 0; a < many!.length; a++) this.link(many![a]!, ids);
    if (ids.length > 4) tracedRootFirst(ids);
    const more = ids.length > 4 ? ids.slice(4) : null;
    return new Tuple(values, s.desc, this.taskId, ids[0]!, ids[1]!, ids[2]!, ids[3]!, more);
  }

  private link(anchor: Tuple, ids: number[]): void {
    if ((anchor.rootLo | anchor.rootHi) === 0) return;
    const e = this.newEdge(anchor);
    addEdge(ids, anchor.rootLo, anchor.rootHi, e.lo, e.hi);
    const more = anchor.more;
    if (more !== null) for (let k = 0; k < more.length; k += 4) addEdge(ids, more[k]!, more[k + 1]!, e.lo, e.hi);
  }

  private checkAnchor(anchor: Tuple, s: OutStream): void {
    if (anchor.settled === 0) return;
    throw new SquallError({
      code: 'E_EMIT_BAD_ANCHOR',
      component: this.component,
      stream: s.id,
      message: `bolt '${this.component}' emitted on '${s.id}' anchored to a tuple it already ${anchor.settled === SETTLED_ACKED ? 'acked' : 'failed'}; emit anchored tuples before acking the input`,
    });
  }
}

/** XOR an edge id into the child's id for one root, adding the root if new. */
function addEdge(ids: number[], rootLo: number, rootHi: number, eLo: number, eHi: number): void {
  for (let i = 0; i < ids.length; i += 4) {
    if (ids[i] === rootLo && ids[i + 1] === rootHi) {
      ids[i + 2] = ids[i + 2]! ^ eLo;
      ids[i + 3] = ids[i + 3]! ^ eHi;
      return;
    }
  }
  ids.push(rootLo, rootHi, eLo, eHi);
}

/**
 * Runs a BasicBolt as a Bolt: emits anchored to the current input, ack after
 * execute returns; a throw propagates to the executor, which fails the input.
 */
class BasicBoltAdapter implements Bolt, BasicOutputCollector {
  private collector!: OutputCollector;
  private input: Tuple | null = null;

  constructor(private readonly inner: BasicBolt) {
    if (inner.snapshotState) this.snapshotState = (n) => inner.snapshotState!(n);
    if (inner.restoreState) this.restoreState = (s) => inner.restoreState!(s);
    if (inner.notifyCheckpointComplete) this.notifyCheckpointComplete = (n) => inner.notifyCheckpointComplete!(n);
    if (inner.notifyCheckpointAborted) this.notifyCheckpointAborted = (n) => inner.notifyCheckpointAborted!(n);
    if (inner.onTimer) this.onTimer = (time, domain) => inner.onTimer!(time, domain, this);
    if (inner.onWatermark) this.onWatermark = (wm) => inner.onWatermark!(wm, this);
    if (inner.metrics) this.metrics = () => inner.metrics!();
  }

  snapshotState?: (n: number) => unknown;
  restoreState?: (s: RestoredState) => void | Promise<void>;
  onWatermark?: (watermark: number) => void;
  metrics?: () => Readonly<Record<string, number>>;
  notifyCheckpointComplete?: (n: number) => void | Promise<void>;
  notifyCheckpointAborted?: (n: number) => void | Promise<void>;
  onTimer?: (time: number, domain: TimeDomain) => void;

  declareOutputFields(): void {}

  prepare(context: TopologyContext, collector: OutputCollector): void | Promise<void> {
    this.collector = collector;
    return this.inner.prepare?.(context);
  }

  execute(input: Tuple): void {
    this.input = input;
    try {
      this.inner.execute(input, this);
    } finally {
      this.input = null;
    }
    this.collector.ack(input);
  }

  cleanup(): void | Promise<void> {
    return this.inner.cleanup?.();
  }

  emit(values: unknown[]): void {
    this.collector.emit(values, this.input);
  }
  emitTo(stream: string, values: unknown[]): void {
    this.collector.emitTo(stream, values, this.input);
  }
  emitDirect(taskId: number, stream: string, values: unknown[]): void {
    this.collector.emitDirect(taskId, stream, values, this.input);
  }
  resetTimeout(): void {
    if (this.input) this.collector.resetTimeout(this.input);
  }
  reportError(error: unknown): void {
    this.collector.reportError(error);
  }
}
