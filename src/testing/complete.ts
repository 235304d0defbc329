import { SquallError } from '../errors/index.ts';
import { SeededRandom, SimulatedClock, submit } from '../runtime/index.ts';
import type { CaptureSink, Clock, MetricsSnapshot, RandomSource, ReportedError, TopologyRun } from '../runtime/index.ts';
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
  /** Semantic time (default: a new SimulatedClock, advanced only when nothing else can move). */
  clock?: Clock;
  random?: RandomSource;
  /** Seed of the default random source (default 1). */
  seed?: number;
  /** Real time to wait for completion before failing (default 60 s). */
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
  const run = await submit(topology, {
    config: options.config ?? {},
    clock,
    random: options.random ?? new SeededRandom(options.seed ?? 1),
    capture: recorder,
    mocks: options.mockedSources ?? {},
  });
  const start = clock.now();
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  const idleMs = Number(run.topology.config.spoutIdleMaxMs) + 2;
  try {
    for (;;) {
      if (run.isDone()) break;
      if (performance.now() > deadline) {
        throw new SquallError({
          code: 'E_BAD_STATE',
          message: `topology '${topology.name}' did not complete within ${options.timeoutMs ?? 60_000} ms (pending trees: ${run.pending()})${describeErrors(run)}`,
        });
      }
      if (run.isQuiet() && clock instanceof SimulatedClock) {
        // Quiet twice across an idle-poll interval means only time can move it now.
        const before = progress(run);
        await sleep(idleMs);
        if (run.isQuiet() && progress(run) === before && !run.isDone()) {
          const due = clock.nextDue();
          if (due !== undefined) clock.advanceTo(due);
        }
        continue;
      }
      await sleep(1);
    }
  } catch (err) {
    await run.kill({ waitMs: 0 });
    throw err;
  }
  const metrics = await run.kill({ waitMs: 0 });
  return result(recorder, metrics, clock.now() - start);
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
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: 'completeTopology with threads runs on the real clock; leave out clock, or run without threads' });
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const run = await submit(topology, {
    threads,
    config: options.config ?? {},
    seed: options.seed ?? 1,
    capture: recorder,
    mocks: options.mockedSources ?? {},
  });
  const deadline = performance.now() + timeoutMs;
  try {
    for (;;) {
      await run.refresh();
      if (run.isDone()) break;
      if (performance.now() > deadline) {
        throw new SquallError({
          code: 'E_BAD_STATE',
          message: `topology '${topology.name}' did not complete within ${timeoutMs} ms on ${threads} threads (pending trees: ${run.pending()})${describeErrors(run)}`,
        });
      }
      await sleep(10);
    }
  } catch (err) {
    await run.kill({ waitMs: 0 });
    throw err;
  }
  const metrics = await run.kill({ waitMs: 0 });
  return result(recorder, metrics, 0);
}

function describeErrors(run: TopologyRun): string {
  const errors = run.metrics().errors;
  if (errors.length === 0) return '';
  return `; errors reported: ${errors.map((e) => `${e.component}: ${e.code ?? 'error'}: ${e.message} (x${e.count})`).join('; ')}`;
}

function progress(run: TopologyRun): number {
  let n = 0;
  for (const c of run.metrics().components) n += c.emitted + c.executed + c.acked + c.failed + (c.timedOut ?? 0);
  return n;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
