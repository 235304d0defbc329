import { SquallError } from '../errors/index.ts';
import { SeededRandom, SimulatedClock, submit } from '../runtime/index.ts';
import type { CaptureSink, Clock, MetricsSnapshot, RandomSource, ReportedError, SubmitOptions, TopologyRun } from '../runtime/index.ts';
import type { Topology, TopologyConfig } from '../topology/index.ts';
import { DEFAULT_STREAM } from '../tuple/index.ts';
import type { FixedTuples } from '../spout/index.ts';

export interface CompleteOptions {
  /** Replace spouts by fixed input: spout id → tuples (per stream, or the default stream's). */
  mockedSources?: Record<string, FixedTuples>;
  config?: Partial<TopologyConfig>;
  /**
   * Run on this many worker threads (default 0: this thread). Threads need a
   * topology loaded with loadTopologyModule and run on the real clock.
   */
  threads?: number;
  /**
   * Semantic time (default: a new SimulatedClock). On a SimulatedClock the
   * run is stepped by hand: settle every task, check for completion, move
   * the clock to the next timer, repeat, so it never waits on real time and
   * a seeded run is the same every time. Any other clock runs on real time.
   */
  clock?: Clock;
  random?: RandomSource;
  /** Seed of the default random source (default 1). */
  seed?: number;
  /** Real time allowed before failing with E_NOT_COMPLETED (default 60 s): a guard, never waited out on a simulated clock that can still move. */
  timeoutMs?: number;
}

export interface CompleteResult {
  /** Values emitted by a component on a stream, in the order they were emitted. */
  emitted(component: string, stream?: string): unknown[][];
  /** Every emitted tuple: component → stream → values. */
  readonly tuples: ReadonlyMap<string, ReadonlyMap<string, unknown[][]>>;
  readonly metrics: MetricsSnapshot;
  readonly errors: ReportedError[];
  /** How far simulated time was moved to reach completion (ms). */
  readonly advancedMs: number;
}

class Recorder implements CaptureSink {
  readonly tuples = new Map<string, Map<string, unknown[][]>>();
  record(component: string, stream: string, _task: number, values: readonly unknown[]): void {
    let byStream = this.tuples.get(component);
    if (!byStream) this.tuples.set(component, (byStream = new Map()));
    let list = byStream.get(stream);
    if (!list) byStream.set(stream, (list = []));
    list.push([...values]);
  }
}

/**
 * Run a topology on finite input until every spout is done and every tree is
 * settled, and return every tuple each component emitted (Storm's
 * completeTopology). Spouts are replaced by fixed input where mocked; the
 * rest must be finite (implement isDone()). On a SimulatedClock, time moves
 * only when the topology is idle and not done: to the next timer (a tick or
 * a timeout rotation), so replays and timeouts happen without sleeping.
 */
export async function completeTopology(topology: Topology, options: CompleteOptions = {}): Promise<CompleteResult> {
  const recorder = new Recorder();
  const threads = options.threads ?? 0;
  if (threads > 0) return completeThreaded(topology, options, recorder, threads);
  const clock = options.clock ?? new SimulatedClock();
  if (!(clock instanceof SimulatedClock)) return completeRealTime(topology, options, recorder, clock);
  const run = await submit(topology, { ...localOptions(options, recorder, clock), stepping: 'manual' });
  const start = clock.now();
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  try {
    for (;;) {
      // Settle, done?, else move the clock to the next timer and settle again.
      // A spout that works through promises gets a pass of the event loop
      // first: that is scheduling, not waiting, and simulated time stands still.
      run.settle();
      if (run.isDone()) break;
      await new Promise((r) => setImmediate(r));
      if (run.settle() > 0) continue;
      if (run.isDone()) break;
      const due = clock.nextDue();
      if (due === undefined) {
        throw new SquallError({
          code: 'E_NOT_COMPLETED',
          message: `topology '${topology.name}' cannot complete: nothing is left to run and no timer is set, but spouts are not done or ${run.pending()} trees are pending${describeErrors(run)}`,
        });
      }
      if (performance.now() > deadline) {
        throw new SquallError({
          code: 'E_NOT_COMPLETED',
          message: `topology '${topology.name}' did not complete within ${options.timeoutMs ?? 60_000} ms of real time (simulated time reached ${clock.now() - start} ms; pending trees: ${run.pending()})${describeErrors(run)}`,
        });
      }
      clock.advanceTo(due);
    }
  } catch (err) {
    await run.kill({ waitMs: 0 });
    throw err;
  }
  const metrics = await run.kill({ waitMs: 0 });
  return result(recorder, metrics, clock.now() - start);
}

/** A caller's own (real) clock: the host runs on the event loop, and this polls until done. */
async function completeRealTime(topology: Topology, options: CompleteOptions, recorder: Recorder, clock: Clock): Promise<CompleteResult> {
  const run = await submit(topology, localOptions(options, recorder, clock));
  const start = clock.now();
  await pollUntilDone(run, topology, options.timeoutMs ?? 60_000, 'on a real clock');
  const metrics = await run.kill({ waitMs: 0 });
  return result(recorder, metrics, clock.now() - start);
}

/** Submit options of a local run: the caller's random source, or a seed (default 1). */
function localOptions(options: CompleteOptions, recorder: Recorder, clock: Clock): SubmitOptions {
  return {
    config: options.config ?? {},
    clock,
    ...(options.random !== undefined ? { random: options.random } : { seed: options.seed ?? 1 }),
    capture: recorder,
    mocks: options.mockedSources ?? {},
  };
}

/** Poll a run on real time (threads, or a real clock) until it is done; E_NOT_COMPLETED after timeoutMs. */
async function pollUntilDone(run: TopologyRun, topology: Topology, timeoutMs: number, where: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  try {
    for (;;) {
      await run.refresh();
      if (run.isDone()) return;
      if (performance.now() > deadline) {
        throw new SquallError({
          code: 'E_NOT_COMPLETED',
          message: `topology '${topology.name}' did not complete within ${timeoutMs} ms ${where} (pending trees: ${run.pending()})${describeErrors(run)}`,
        });
      }
      await sleep(POLL_MS);
    }
  } catch (err) {
    await run.kill({ waitMs: 0 });
    throw err;
  }
}

function result(recorder: Recorder, metrics: MetricsSnapshot, advancedMs: number): CompleteResult {
  const tuples = recorder.tuples;
  return {
    emitted: (component, stream = DEFAULT_STREAM) => tuples.get(component)?.get(stream) ?? [],
    tuples,
    metrics,
    errors: metrics.errors,
    advancedMs,
  };
}

/** The same on worker threads: poll the hosts' reports until every spout is done. */
async function completeThreaded(topology: Topology, options: CompleteOptions, recorder: Recorder, threads: number): Promise<CompleteResult> {
  if (options.clock !== undefined) {
    throw new SquallError({ code: 'E_BAD_CONFIG', message: 'completeTopology with threads runs on the real clock; leave out clock, or run without threads' });
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const run = await submit(topology, {
    threads,
    config: options.config ?? {},
    seed: options.seed ?? 1,
    capture: recorder,
    mocks: options.mockedSources ?? {},
  });
  await pollUntilDone(run, topology, timeoutMs, `on ${threads} threads`);
  const metrics = await run.kill({ waitMs: 0 });
  return result(recorder, metrics, 0);
}

function describeErrors(run: TopologyRun): string {
  const errors = run.metrics().errors;
  if (errors.length === 0) return '';
  return `; errors reported: ${errors.map((e) => `${e.component}: ${e.code ?? 'error'}: ${e.message} (x${e.count})`).join('; ')}`;
}

/** How often a run on real time is asked whether it is done. */
const POLL_MS = 10;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
