/**
 * Regression tests for defects of the threaded runtime (issue 8, part 6),
 * each named after what broke:
 *
 * - A value that cannot be structured-cloned, emitted after the first emit
 *   of its stream (the one checkEmit tests) to a task on another thread,
 *   was found only when the transport posted the batch: at the end of the
 *   host's turn the throw killed the worker (and it crash-looped); at a
 *   batch boundary inside an emit the emitting bolt got E_COMPONENT_THREW
 *   and the rest of the batch was lost.
 * - A start that failed in open(), prepare() or a factory must name the
 *   component, in local and threaded mode alike.
 * - A host whose restart fails in prepare() must count as a crash for its
 *   supervisor: back off, try again, give up after maxHostRestarts, and say
 *   why.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ackerTaskFor } from '../../src/acker/index.ts';
import { planTopology, SquallError, submit } from '../../src/index.ts';
import type { SchedulingStrategy, TopologyRun } from '../../src/index.ts';
import { TRACK_FAIL, TRACK_INIT, TRACK_KIND_MASK, TRACK_TASK_SHIFT, TRACK_WORDS, TrackBatch, TrackPool } from '../../src/kernel/index.ts';
import type { Executor, Message } from '../../src/kernel/index.ts';
import { BATCH_RECORDS, CREDIT_TUPLES, Transport } from '../../src/runtime/transport.ts';
import type { LocalDelivery } from '../../src/runtime/transport.ts';
import { StreamDesc, Tuple } from '../../src/tuple/index.ts';
import { BAD_EVERY } from '../fixtures/topologies/defects.ts';
import { until } from '../helpers.ts';
import { MODES, loadFixture } from '../support/modes.ts';

const dirs: string[] = [];
let run: TopologyRun | undefined;
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
  run = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'squall-defects-'));
  dirs.push(d);
  return d;
}

/** Refresh until every spout is done, for at most maxMs. */
async function runToDone(r: TopologyRun, maxMs: number): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    await r.refresh();
    if (r.isDone()) return;
    if (performance.now() - t0 > maxMs) throw new Error(`not done after ${maxMs} ms: ${JSON.stringify(r.metrics().totals)} ${JSON.stringify(r.hosts())}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

// --- A, in one thread: two transports joined by a MessageChannel -------------

/**
 * Host 0 runs the relay (task 1) and acker 3; host 1 the sink (task 2) and
 * acker 4. Root (1, 0) belongs to acker 4 (remote from host 0), root (2, 0)
 * to acker 3 (local).
 */
const HOST_OF_TASK = [-1, 0, 1, 0, 1];
const ACKERS = [3, 4];
const RELAY = 1;
const SINK = 2;
const STREAMS = [new StreamDesc('relay', 'default', ['n', 'payload'], 0)];
const REMOTE_ROOT: [number, number] = [1, 0];
const LOCAL_ROOT: [number, number] = [2, 0];

interface Pair {
  sender: Transport;
  receiver: Transport;
  /** Tuples that reached host 1, by n, in order. */
  arrived: number[];
  /** Tracking records that reached host 1's acker 4: [kind, task, lo, hi]. */
  remoteTrack: number[][];
  /** Tracking records host 0 delivered to its own acker 3. */
  localTrack: number[][];
  errors: { component: string; task: number; error: unknown }[];
  close(): void;
}

/** A batch's records as [kind, task, rootLo, rootHi] (the first word packs task << TRACK_TASK_SHIFT | kind). */
function records(b: TrackBatch): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < b.count; i++) {
    const o = i * TRACK_WORDS;
    out.push([b.data[o]! & TRACK_KIND_MASK, b.data[o]! >>> TRACK_TASK_SHIFT, b.data[o + 1]!, b.data[o + 2]!]);
  }
  return out;
}

function transportPair(): Pair {
  const pair = { arrived: [], remoteTrack: [], localTrack: [], errors: [] } as unknown as Pair;
  const fakeExec = (task: number) => ({ taskId: task, mailbox: { hasRoom: () => true } }) as unknown as Executor<unknown>;
  const pool0 = new TrackPool();
  const local0: LocalDelivery = {
    trackPool: pool0,
    ackerTasks: ACKERS,
    deliverLocal: () => {
      throw new Error('host 0 receives nothing in these tests');
    },
    deliver(task: number, msg: Message) {
      if (HOST_OF_TASK[task] === 0) {
        pair.localTrack.push(...records(msg as TrackBatch));
        pool0.give(msg as TrackBatch);
      } else {
        pair.sender.send(task, msg);
      }
    },
    wakeUp() {},
    reportError: (component, task, error) => pair.errors.push({ component, task, error }),
  };
  const local1: LocalDelivery = {
    trackPool: new TrackPool(),
    ackerTasks: ACKERS,
    deliverLocal(task: number, msg: Message) {
      if (msg instanceof Tuple) pair.arrived.push(msg.values[0] as number);
      else pair.remoteTrack.push(...records(msg as TrackBatch));
      return fakeExec(task);
    },
    deliver: () => {
      throw new Error('host 1 sends nothing in these tests');
    },
    wakeUp() {},
    reportError: () => {
      throw new Error('host 1 reports nothing in these tests');
    },
  };
  pair.sender = new Transport(0, 2, HOST_OF_TASK, STREAMS, local0);
  pair.receiver = new Transport(1, 2, HOST_OF_TASK, STREAMS, local1);
  const { port1, port2 } = new MessageChannel();
  pair.sender.connect(1, port1);
  pair.receiver.connect(0, port2);
  pair.close = () => {
    pair.sender.close();
    pair.receiver.close();
  };
  return pair;
}

/** Tuple n from the relay to the sink: tracked under both roots, the bad ones with a function in the payload. */
function tupleOf(n: number, bad: boolean, tracked = true): Tuple {
  const payload = bad ? { n, callback: () => n } : { n };
  if (!tracked) return new Tuple([n, payload], STREAMS[0]!, RELAY);
  return new Tuple([n, payload], STREAMS[0]!, RELAY, REMOTE_ROOT[0], REMOTE_ROOT[1], 100 + n, 0, [LOCAL_ROOT[0], LOCAL_ROOT[1], 200 + n, 0]);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe('a value that cannot be cloned, emitted after the first emit of its stream to another thread', () => {
  it('sent at the end of a turn, it fails only its own tuple (it used to crash the host)', async () => {
    expect(ackerTaskFor(...REMOTE_ROOT, ACKERS)).toBe(4);
    expect(ackerTaskFor(...LOCAL_ROOT, ACKERS)).toBe(3);
    const p = transportPair();
    try {
      for (let n = 0; n < 10; n++) p.sender.send(SINK, tupleOf(n, n === 4));
      expect(() => p.sender.flush()).not.toThrow();
      // The fail for the remote acker waits in the next batch: the host has more to send.
      expect(p.sender.hasUnsent()).toBe(true);
      p.sender.flush();
      await until(() => p.arrived.length >= 9 && p.remoteTrack.length >= 1, 'the batch and the fail', 5_000);
      await new Promise((r) => setTimeout(r, 20));
      expect(p.arrived).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
      // A fail for each root of the dropped tuple, at the acker that owns the root, from the emitting task.
      expect(p.remoteTrack).toEqual([[TRACK_FAIL, RELAY, ...REMOTE_ROOT]]);
      expect(p.localTrack).toEqual([[TRACK_FAIL, RELAY, ...LOCAL_ROOT]]);
      // The dropped tuple's credit came back; the nine sent wait for the peer's credit.
      expect(p.sender.links[1]!.credits[SINK]).toBe(CREDIT_TUPLES - 9);
      expect(p.errors).toHaveLength(1);
      const { component, task, error } = p.errors[0]!;
      expect({ component, task }).toEqual({ component: 'relay', task: RELAY });
      expect(error).toBeInstanceOf(SquallError);
      expect(error).toMatchObject({ code: 'E_EMIT_NOT_CLONEABLE', component: 'relay', stream: 'default', details: { field: 'payload' } });
      expect((error as Error).message).toMatch(/field 'payload'.*could not be cloned/);
    } finally {
      p.close();
    }
  });

  it('at a batch boundary inside an emit, it fails only its own tuple (the emit used to throw E_COMPONENT_THREW and the batch was lost)', async () => {
    const p = transportPair();
    try {
      const total = BATCH_RECORDS + 50;
      // The 256th send fills the batch and posts it from inside send(): the emit's own call.
      for (let n = 0; n < total; n++) expect(() => p.sender.send(SINK, tupleOf(n, n === 100 || n === 101, n !== 101))).not.toThrow();
      p.sender.flush();
      p.sender.flush();
      await until(() => p.arrived.length >= total - 2 && p.remoteTrack.length >= 1, 'both batches and the fail', 5_000);
      await new Promise((r) => setTimeout(r, 20));
      expect(p.arrived).toEqual(range(0, total).filter((n) => n !== 100 && n !== 101));
      // 101 was untracked: dropped and reported, with no tree to fail.
      expect(p.remoteTrack).toEqual([[TRACK_FAIL, RELAY, ...REMOTE_ROOT]]);
      expect(p.localTrack).toEqual([[TRACK_FAIL, RELAY, ...LOCAL_ROOT]]);
      expect(p.sender.links[1]!.credits[SINK]).toBe(CREDIT_TUPLES - (total - 2));
      expect(p.errors.map((e) => (e.error as SquallError).code)).toEqual(['E_EMIT_NOT_CLONEABLE', 'E_EMIT_NOT_CLONEABLE']);
    } finally {
      p.close();
    }
  });

  it('keeps the order of tracking records and tuples around a dropped tuple', async () => {
    const p = transportPair();
    try {
      const init = new TrackBatch();
      init.push(TRACK_INIT, RELAY, 7, 0, 1, 0);
      p.sender.send(SINK, tupleOf(0, false));
      p.sender.send(4, init);
      p.sender.send(SINK, tupleOf(1, true));
      p.sender.send(SINK, tupleOf(2, false));
      p.sender.flush();
      p.sender.flush();
      await until(() => p.arrived.length >= 2 && p.remoteTrack.length >= 2, 'the batch and the fail', 5_000);
      expect(p.arrived).toEqual([0, 2]);
      // The init (in the refused batch) before the fail (sent after it).
      expect(p.remoteTrack).toEqual([
        [TRACK_INIT, RELAY, 7, 0],
        [TRACK_FAIL, RELAY, ...REMOTE_ROOT],
      ]);
    } finally {
      p.close();
    }
  });

  // --- A, in real worker threads --------------------------------------------

  it('in worker threads: only the tuples holding a function are dropped and replayed; no host crashes, every other tuple arrives once (it used to crash-loop the worker)', async () => {
    const dir = stateDir();
    const count = 20_000;
    const topology = await loadFixture('defects.ts', 'uncloneable');
    run = await submit(topology, { threads: 2, config: { count, stateDir: dir } });
    const plan = run.plan;
    const [spout] = plan.componentTasks.get('numbers')!;
    const [relay] = plan.componentTasks.get('relay')!;
    const [sink] = plan.componentTasks.get('sink')!;
    // Every relay → sink tuple crosses a thread.
    expect(plan.hostOfTask[relay!]).not.toBe(plan.hostOfTask[sink!]);

    await runToDone(run, 60_000);
    const hosts = run.hosts();
    const final = await run.kill();

    expect(hosts.map((h) => [h.state, h.restarts])).toEqual([
      ['running', 0],
      ['running', 0],
    ]);
    const badNs = range(0, count).filter((n) => n % BAD_EVERY === BAD_EVERY - 1);
    expect(badNs.length).toBe(count / BAD_EVERY);
    // One error, reported once per dropped tuple, naming component, stream and field; nothing else went wrong.
    expect(final.errors).toHaveLength(1);
    expect(final.errors[0]).toMatchObject({
      component: 'relay',
      task: relay,
      code: 'E_EMIT_NOT_CLONEABLE',
      stream: 'default',
      details: { field: 'payload' },
      count: badNs.length,
    });
    expect(final.totals).toMatchObject({ acked: count, failed: badNs.length, timedOut: 0, pending: 0 });

    // The spout heard a fail for exactly the bad ones, and an ack for every number.
    const heard = JSON.parse(readFileSync(join(dir, `spout-${spout}.json`), 'utf8')) as { acked: number; failed: number[] };
    expect(heard.acked).toBe(count);
    expect([...heard.failed].sort((a, b) => a - b)).toEqual(badNs);

    // The sink got every number exactly once: the bad ones on their replay (attempt 1), the rest the first time.
    const seen = JSON.parse(readFileSync(join(dir, `sink-${sink}.json`), 'utf8')) as [number, number][];
    expect(seen.length).toBe(count);
    const attempt = new Map<number, number>();
    for (const [n, a] of seen) {
      expect(attempt.has(n)).toBe(false);
      attempt.set(n, a);
    }
    for (let n = 0; n < count; n++) expect(attempt.get(n)).toBe(n % BAD_EVERY === BAD_EVERY - 1 ? 1 : 0);
  }, 90_000);

  it('with capture on, a captured tuple holding a function is left out and reported instead of killing its host when the counters are posted', async () => {
    const dir = stateDir();
    const count = 2_000;
    const bad = count / BAD_EVERY;
    const topology = await loadFixture('defects.ts', 'uncloneable');
    const captured: { component: string; values: readonly unknown[] }[] = [];
    run = await submit(topology, {
      threads: 2,
      config: { count, stateDir: dir },
      capture: { record: (component, _stream, _task, values) => captured.push({ component, values }) },
    });
    await runToDone(run, 30_000);
    const hosts = run.hosts();
    const final = await run.kill();
    expect(hosts.map((h) => h.restarts)).toEqual([0, 0]);
    expect(final.errors.filter((e) => e.component.startsWith('__host'))).toEqual([]);
    // Each bad tuple: dropped in transit (one error) and left out of the capture (another).
    const errors = final.errors.filter((e) => e.code === 'E_EMIT_NOT_CLONEABLE');
    expect(errors.map((e) => [e.component, e.stream, e.details?.['field'], e.count])).toEqual([
      ['relay', 'default', 'payload', bad],
      ['relay', 'default', 'payload', bad],
    ]);
    expect(errors.filter((e) => /left out of the capture/.test(e.message))).toHaveLength(1);
    // Every emit of the spout (count + the replays) and every good emit of the relay was captured.
    expect(captured.filter((c) => c.component === 'numbers')).toHaveLength(count + bad);
    const relayed = captured.filter((c) => c.component === 'relay');
    expect(relayed).toHaveLength(count);
    expect(new Set(relayed.map((c) => c.values[0])).size).toBe(count);
  }, 60_000);
});

// --- B ------------------------------------------------------------------------

/** Everything on host 0 but the ackers: a host that fails to start with a spout already open on it. */
const allButAckersOnHostZero: SchedulingStrategy = {
  name: 'all-but-ackers-on-0',
  assign: (tasks, hostCount) => tasks.map((t) => (t.component === '__acker' ? hostCount - 1 : 0)),
};

/** submit's rejection, or null (the run is kept for afterEach to kill). */
async function rejectionOf(started: Promise<TopologyRun>): Promise<unknown> {
  return started.then(
    (r) => {
      run = r;
      return null;
    },
    (e: unknown) => e,
  );
}

describe.each(MODES)('a start that fails names its component ($mode)', ({ threads }) => {
  it.each([
    ['E_COMPONENT_THREW', "a spout's open() throws", 'openThrows', 'source', /spout 'source' \(task \d+\) threw in open\(\): open refused: no broker/],
    ['E_COMPONENT_THREW', "a bolt's prepare() throws", 'prepareThrows', 'sink', /bolt 'sink' \(task \d+\) threw in prepare\(\): prepare refused/],
    ['E_BAD_FACTORY', "a bolt's factory throws at submit (not at build)", 'factoryThrows', 'sink', /factory of bolt 'sink' threw .*pool exhausted/],
  ] as const)('submit rejects with %s naming the component when %s', async (code, _what, exportName, component, message) => {
    const topology = await loadFixture('defects.ts', exportName);
    const error = await rejectionOf(submit(topology, threads > 0 ? { threads } : {}));
    expect(error).toBeInstanceOf(SquallError);
    expect(error).toMatchObject({ code, component });
    expect((error as Error).message).toMatch(message);
  }, 60_000);

  it('closes a spout that was open when a bolt on its host failed to prepare (a worker host used to leave it open, and its ports to the peers)', async () => {
    const dir = stateDir();
    const topology = await loadFixture('defects.ts', 'prepareThrowsAfterOpen');
    const options = threads > 0 ? { threads, strategy: allButAckersOnHostZero } : {};
    const error = await rejectionOf(submit(topology, { ...options, config: { stateDir: dir } }));
    expect(error).toMatchObject({ code: 'E_COMPONENT_THREW', component: 'sink' });
    const [spout] = planTopology(topology, { hosts: Math.max(1, threads), ...options }).componentTasks.get('numbers')!;
    expect(existsSync(join(dir, `opened-${spout}`))).toBe(true);
    await until(() => existsSync(join(dir, `closed-${spout}`)), 'the spout to be closed', 5_000);
  }, 60_000);
});

// --- C ------------------------------------------------------------------------

describe('a worker host whose restart fails in prepare()', () => {
  it('counts as a crash: the supervisor backs off, gives up after maxHostRestarts, and says why (the failure used to be lost behind the abort of its thread)', async () => {
    const dir = stateDir();
    const topology = await loadFixture('defects.ts', 'prepareOnce');
    run = await submit(topology, { threads: 2, maxHostRestarts: 2, config: { stateDir: dir } });
    expect(existsSync(join(dir, 'prepared'))).toBe(true);
    const h = run.plan.hostOfTask[run.plan.componentTasks.get('sink')![0]!]!;
    const other = 1 - h;

    const t0 = performance.now();
    run.crashHost(h);
    await until(() => run!.hosts()[h]!.state === 'failed', `host ${h} to be given up`, 20_000);
    const elapsed = performance.now() - t0;
    // Two restarts, after backoffs of 100 and 200 ms.
    expect(elapsed).toBeGreaterThanOrEqual(290);

    const status = run.hosts();
    expect(status[h]).toMatchObject({ state: 'failed', restarts: 2 });
    expect(status[h]!.lastError).toMatch(/^E_COMPONENT_THREW: bolt 'sink' \(task \d+\) threw in prepare\(\): prepare-once: refusing to prepare a second time$/);
    expect(status[other]).toMatchObject({ state: 'running', restarts: 0 });

    await run.refresh();
    const errors = run.metrics().errors.filter((e) => e.component === `__host${h}`);
    const gaveUp = errors.filter((e) => e.details?.['gaveUp'] === true);
    const crashes = errors.filter((e) => e.details?.['gaveUp'] !== true);
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]!.message).toMatch(/crashed more than 2 times.*prepare-once: refusing to prepare a second time/);
    // Three crashes: the one injected, then the two failed restarts, each counted once, with its cause.
    expect(crashes.reduce((a, e) => a + e.count, 0)).toBe(3);
    const failedStarts = crashes.filter((e) => /prepare-once: refusing/.test(e.message));
    expect(failedStarts.reduce((a, e) => a + e.count, 0)).toBe(2);
    expect(failedStarts.every((e) => e.code === 'E_HOST_CRASHED')).toBe(true);

    // The run does not hang on the host it gave up: it stops within bounds.
    const k0 = performance.now();
    await run.kill({ waitMs: 1_000 });
    expect(performance.now() - k0).toBeLessThan(15_000);
    expect(run.hosts()[h]!.state).toBe('failed');
  }, 60_000);
});
