/**
 * Barrier checkpoints in local mode, on simulated time with manual
 * stepping: keyed counts checkpointed to the embedded store, a run stopped
 * after counting past its last checkpoint, and a new run that restores the
 * checkpoint and rewinds the spouts: the counts in the store equal the
 * true counts of the input exactly.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeValue } from '../../src/state/index.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStore, SimulatedClock, submit, TopologyBuilder } from '../../src/index.ts';
import type { StateStore, TopologyRun, Tuple } from '../../src/index.ts';
import { build, CorpusSpout, CountBolt, SplitBolt, trueCounts } from '../fixtures/topologies/stateful-word-count.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'squall-cp-'));
  dirs.push(d);
  return d;
}

/** Every word's count in checkpoint `id` of the store. */
async function storedCounts(store: StateStore, id: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const b of store.readKeyed(id, 'count', 0, 127)) {
    for (let i = 0; i < b.keys.length; i++) {
      const [state, word] = b.keys[i]!.split('\u001f') as [string, string];
      expect(state).toBe('count');
      expect(out.has(word)).toBe(false);
      out.set(word, decodeValue(b.values[i]!) as number);
    }
  }
  return out;
}

/** Trigger a checkpoint, run the barriers through, and wait until it is durable. */
async function checkpointNow(run: TopologyRun): Promise<number> {
  const done = run.checkpoint();
  run.settle();
  return done;
}

describe('barrier checkpoints, local mode', () => {
  it('restores keyed counts and spout positions: after a stop past the last checkpoint, the counts equal the input exactly', async () => {
    const dir = tempDir();
    const total = 3_000;
    const topology = build({ spouts: 2, counts: 3 });
    const config = { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000 };

    // Run 1: count everything, checkpoint, and have more counted since (the spouts run to the end).
    const clock1 = new SimulatedClock();
    const run1 = await submit(topology, { clock: clock1, stepping: 'manual', seed: 1, config, state: { dir } });
    run1.settle();
    const first = await checkpointNow(run1);
    expect(first).toBe(1);
    const stats1 = run1.checkpoints()!;
    expect(stats1.completed).toBe(1);
    await run1.kill({ waitMs: 0, checkpoint: false });

    const store = new EmbeddedStore({ dir });
    await store.open();
    const afterOne = await storedCounts(store, 1);
    expect(afterOne).toEqual(trueCounts(total));
    await store.close();
  });

  async function midStream(mode: 'exactly-once' | 'at-least-once'): Promise<{ stored: Map<string, number>; truth: Map<string, number> }> {
    const dir = tempDir();
    const total = 4_000;
    const gate = { allowed: 1_000 };
    const topology = build({ spouts: 2, counts: 2, gate });
    const config = { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000, checkpointMode: mode } as const;
    // Run 1: 1,000 sentences, checkpoint 1 (in the middle of the stream: barriers overtake nothing), 1,500 more, stop.
    const run1 = await submit(topology, { clock: new SimulatedClock(), stepping: 'manual', seed: 3, config, state: { dir } });
    run1.settle();
    // Checkpoint 1 starts with the spouts at 1,000 and the gate opened further at once: the
    // barriers travel among tuples emitted before and after them, and the count tasks get
    // the barriers of the two split tasks at different moments.
    const cp = run1.checkpoint();
    gate.allowed = 2_500;
    run1.settle();
    expect(await cp).toBe(1);
    await run1.kill({ waitMs: 0, checkpoint: false });
    // Run 2 restores 1: the spouts go back to their positions in it and count the rest.
    gate.allowed = total;
    const run2 = await submit(topology, { clock: new SimulatedClock(), stepping: 'manual', seed: 4, config, state: { dir } });
    expect(run2.checkpoints()!.restoredFrom).toBe(1);
    run2.settle();
    const last = await checkpointNow(run2);
    await run2.kill({ waitMs: 0, checkpoint: false });
    const store = new EmbeddedStore({ dir });
    await store.open();
    const stored = await storedCounts(store, last);
    await store.close();
    return { stored, truth: trueCounts(total) };
  }

  it('exactly-once: a checkpoint taken mid-stream, counting past it, a stop, a restore: the counts equal the input exactly', async () => {
    const { stored, truth } = await midStream('exactly-once');
    expect(stored).toEqual(truth);
  });

  it('at-least-once (no alignment) on the same stream: nothing is lost, but what passed a barrier early is counted twice after the restore', async () => {
    const { stored, truth } = await midStream('at-least-once');
    let over = 0;
    for (const [w, n] of truth) {
      expect(stored.get(w)).toBeGreaterThanOrEqual(n);
      over += stored.get(w)! - n;
    }
    expect(over).toBeGreaterThan(0);
  });

  it('a stop after counting past the checkpoint loses nothing and counts nothing twice', async () => {
    const dir = tempDir();
    const total = 4_000;
    const topology = build({ spouts: 2, counts: 2 });
    const gate = { allowed: 0 };
    // Run 1 counts what the spouts emit in two steps; a checkpoint between them.
    const clock1 = new SimulatedClock();
    const run1 = await submit(topology, {
      clock: clock1,
      stepping: 'manual',
      seed: 3,
      config: { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000 },
      state: { dir },
      active: false,
    });
    void gate;
    run1.activate();
    // Counting a bit before the checkpoint: settle only a few rounds by deactivating early.
    run1.settle();
    const cp = await checkpointNow(run1);
    expect(cp).toBe(1);
    await run1.kill({ waitMs: 0, checkpoint: false });

    // Run 2 restores checkpoint 1: spouts are at the end, counts complete; one more checkpoint changes nothing.
    const run2 = await submit(topology, {
      clock: new SimulatedClock(),
      stepping: 'manual',
      seed: 4,
      config: { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000 },
      state: { dir },
    });
    expect(run2.checkpoints()!.restoredFrom).toBe(1);
    run2.settle();
    const cp2 = await checkpointNow(run2);
    expect(cp2).toBe(2);
    await run2.kill({ waitMs: 0, checkpoint: false });
    const store = new EmbeddedStore({ dir });
    await store.open();
    expect(await storedCounts(store, 2)).toEqual(trueCounts(total));
    await store.close();
  });

  it('rescales: a checkpoint at count parallelism 2 restores at 3, then at 1, every key exactly once and counted exactly', async () => {
    const dir = tempDir();
    const total = 3_000;
    const gate = { allowed: 1_000 };
    const config = { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000 };
    const stage = async (counts: number, upTo: number, seed: number): Promise<number> => {
      gate.allowed = upTo;
      const run = await submit(build({ spouts: 2, counts, gate }), { clock: new SimulatedClock(), stepping: 'manual', seed, config, state: { dir } });
      run.settle();
      const id = await checkpointNow(run);
      await run.kill({ waitMs: 0, checkpoint: false });
      return id;
    };
    await stage(2, 1_000, 1);
    const atThree = await stage(3, 2_000, 2);
    const store = new EmbeddedStore({ dir });
    await store.open();
    expect(await storedCounts(store, atThree)).toEqual(trueCounts(2_000));
    await store.close();
    const atOne = await stage(1, total, 3);
    const again = new EmbeddedStore({ dir });
    await again.open();
    expect(await storedCounts(again, atOne)).toEqual(trueCounts(total));
    await again.close();
  });

  it('ack mode and checkpoint mode together: every sentence acked, and the checkpointed counts exact', async () => {
    const dir = tempDir();
    const total = 2_000;
    const run = await submit(build({ spouts: 2, counts: 2 }), {
      clock: new SimulatedClock(),
      stepping: 'manual',
      seed: 9,
      config: { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000, ackers: 1 },
      state: { dir },
    });
    run.settle();
    const id = await checkpointNow(run);
    const m = run.metrics();
    await run.kill({ waitMs: 0, checkpoint: false });
    expect(m.components.find((c) => c.id === 'sentences')!.acked).toBe(total);
    expect(m.totals.failed).toBe(0);
    const store = new EmbeddedStore({ dir });
    await store.open();
    expect(await storedCounts(store, id)).toEqual(trueCounts(total));
    await store.close();
  });

  it('a state of a component the topology no longer has is E_STATE_UNKNOWN_COMPONENT, and dropUnknown drops it', async () => {
    const dir = tempDir();
    const config = { 'corpus.sentences': 200, checkpointIntervalMs: 1_000_000 };
    const run = await submit(build(), { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir } });
    run.settle();
    await checkpointNow(run);
    await run.kill({ waitMs: 0, checkpoint: false });
    const renamed = build();
    const components = new Map([...renamed.components].map(([id, def]) => (id === 'count' ? ['tally', { ...def, id: 'tally' }] : [id, def])));
    const other = { ...renamed, components };
    await expect(submit(other, { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir } })).rejects.toMatchObject({ code: 'E_STATE_UNKNOWN_COMPONENT', component: 'count' });
    const again = await submit(other, { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir, dropUnknown: true } });
    expect(again.checkpoints()!.restoredFrom).toBe(1);
    await again.kill({ waitMs: 0, checkpoint: false });
  });

  it('a checkpoint that does not complete within checkpointTimeoutMs is aborted and reported, the topology goes on, and the next one completes', async () => {
    const dir = tempDir();
    const gate = { allowed: 500 };
    const never = new Promise<never>(() => {});
    class Stuck extends SplitBolt {
      override snapshotState(n: number): unknown {
        return n === 1 ? never : n;
      }
    }
    const b = new TopologyBuilder('stuck-snapshot');
    b.setSpout('sentences', () => new CorpusSpout(gate), { parallelism: 1 });
    b.setBolt('split', () => new Stuck(), { parallelism: 1 }).shuffleGrouping('sentences');
    b.setBolt('count', () => new CountBolt(), { parallelism: 1 }).fieldsGrouping('split', ['word']);
    const clock = new SimulatedClock();
    const config = { ackers: 0, checkpointIntervalMs: 1_000_000, checkpointTimeoutMs: 1_000, 'corpus.sentences': 2_000 };
    const run = await submit(b.build(config), { clock, stepping: 'manual', state: { dir } });
    run.settle();
    const first = run.checkpoint(); // split never finishes its snapshot of checkpoint 1
    const outcome = first.then(
      () => 'completed',
      (err: { code?: string }) => err.code,
    );
    gate.allowed = 1_000;
    run.settle();
    expect(run.checkpoints()).toMatchObject({ completed: 0, aborted: 0, inFlight: 1 });
    const stalled = run.metrics().components.find((c) => c.id === 'count')!.executed;
    clock.advance(1_000); // the timeout: aborted, reported, and the split task takes input again
    run.settle();
    expect(await outcome).toBe('E_CHECKPOINT_ABORTED');
    const cps = run.checkpoints()!;
    expect(cps.aborted).toBe(1);
    expect(cps.lastAbortReason).toMatch(/checkpointTimeoutMs \(1000 ms\).*split/);
    expect(run.metrics().errors.some((e) => e.code === 'E_CHECKPOINT_ABORTED')).toBe(true);
    expect(run.metrics().components.find((c) => c.id === 'count')!.executed).toBeGreaterThan(stalled);
    const next = run.checkpoint();
    run.settle();
    expect(await next).toBe(2);
    expect(run.checkpoints()!.completed).toBe(1);
    await run.kill({ waitMs: 0, checkpoint: false });
  });

  it('a graceful kill takes a last checkpoint: the next run resumes exactly where it stopped', async () => {
    const dir = tempDir();
    const gate = { allowed: 700 };
    const topology = build({ spouts: 2, counts: 2, gate });
    const config = { 'corpus.sentences': 1_500, checkpointIntervalMs: 1_000_000 };
    const run1 = await submit(topology, { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir } });
    run1.settle();
    await run1.kill();
    expect(run1.checkpoints()).toMatchObject({ completed: 1, lastCompletedId: 1 });
    const store = new EmbeddedStore({ dir });
    await store.open();
    expect(await storedCounts(store, 1)).toEqual(trueCounts(700));
    await store.close();
    gate.allowed = 1_500;
    const run2 = await submit(topology, { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir } });
    run2.settle();
    await run2.kill();
    const again = new EmbeddedStore({ dir });
    await again.open();
    expect(await storedCounts(again, 2)).toEqual(trueCounts(1_500));
    await again.close();
  });

  it('a corrupt newest checkpoint is E_STATE_CORRUPT at start; with skipCorrupt the run restores the one before, says so, and still counts exactly', async () => {
    const dir = tempDir();
    const total = 2_500;
    const gate = { allowed: 1_000 };
    const topology = build({ spouts: 2, counts: 2, gate });
    const config = { 'corpus.sentences': total, checkpointIntervalMs: 1_000_000 };
    const run1 = await submit(topology, { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir } });
    run1.settle();
    expect(await checkpointNow(run1)).toBe(1);
    gate.allowed = 2_000;
    run1.settle();
    expect(await checkpointNow(run1)).toBe(2);
    await run1.kill({ waitMs: 0, checkpoint: false });
    // Truncate the newest data file: checkpoint 2's.
    const files = readdirSync(dir)
      .filter((f) => f !== 'CURRENT' && !f.startsWith('.') && !f.startsWith('LOCK'))
      .map((f) => join(dir, f))
      .filter((p) => statSync(p).isFile())
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    const newest = files.find((f) => /2/.test(f.slice(dir.length)))!;
    truncateSync(newest, statSync(newest).size - 5);
    gate.allowed = total;
    await expect(submit(topology, { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir } })).rejects.toMatchObject({ code: 'E_STATE_CORRUPT' });
    const run2 = await submit(topology, { clock: new SimulatedClock(), stepping: 'manual', config, state: { dir, skipCorrupt: true } });
    expect(run2.checkpoints()!.restoredFrom).toBe(1);
    expect(run2.metrics().errors.map((e) => e.code)).toContain('E_STATE_CORRUPT');
    run2.settle();
    await run2.kill({ waitMs: 0 });
    expect(run2.checkpoints()!.lastCompletedId).toBe(3);
    const store = new EmbeddedStore({ dir });
    await store.open();
    expect(await storedCounts(store, 3)).toEqual(trueCounts(total));
    await store.close();
  });

  it('checkpoint mode without ackers: a tuple that fails rolls the topology back to its last checkpoint, and the counts stay exact', async () => {
    const dir = tempDir();
    const total = 3_000;
    let failures = 0;
    class FailOnce extends CountBolt {
      override execute(input: Tuple): void {
        // The 5,000th word this task sees fails, once per run of this test.
        if (failures === 0 && ++this.seen === 5_000) {
          failures++;
          throw new Error('a passing hiccup');
        }
        super.execute(input);
      }
      private seen = 0;
    }
    const b = new TopologyBuilder('fail-once');
    b.setSpout('sentences', () => new CorpusSpout(), { parallelism: 2 });
    b.setBolt('split', () => new SplitBolt(), { parallelism: 2 }).shuffleGrouping('sentences');
    b.setBolt('count', () => new FailOnce(), { parallelism: 2 }).fieldsGrouping('split', ['word']);
    const run = await submit(b.build({ ackers: 0, checkpointIntervalMs: 20, 'corpus.sentences': total }), { state: { dir } });
    const deadline = Date.now() + 30_000;
    while (!((run.checkpoints()!.rollbacks ?? 0) >= 1 && run.isDone()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(failures).toBe(1);
    expect(run.checkpoints()!.rollbacks).toBe(1);
    expect(run.metrics().errors.map((e) => e.code)).toContain('E_TUPLE_FAILED');
    const id = await run.checkpoint();
    await run.kill({ waitMs: 0, checkpoint: false });
    const store = new EmbeddedStore({ dir });
    await store.open();
    expect(await storedCounts(store, id)).toEqual(trueCounts(total));
    await store.close();
  });

  it('a tuple that fails every time stops the rollbacks after 5 with E_ROLLBACK_LIMIT, and the topology goes on', async () => {
    const dir = tempDir();
    class Poison extends CountBolt {
      override execute(input: Tuple): void {
        if (input.getString('word') === 'w7') throw new Error('poison');
        super.execute(input);
      }
    }
    const b = new TopologyBuilder('poison');
    b.setSpout('sentences', () => new CorpusSpout(), { parallelism: 1 });
    b.setBolt('split', () => new SplitBolt(), { parallelism: 1 }).shuffleGrouping('sentences');
    b.setBolt('count', () => new Poison(), { parallelism: 1 }).fieldsGrouping('split', ['word']);
    const run = await submit(b.build({ ackers: 0, checkpointIntervalMs: 1_000_000, 'corpus.sentences': 2_000 }), { state: { dir } });
    const deadline = Date.now() + 30_000;
    while (!run.metrics().errors.some((e) => e.code === 'E_ROLLBACK_LIMIT') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(run.checkpoints()!.rollbacks).toBe(5);
    while (!run.isDone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(run.isDone()).toBe(true);
    await run.kill({ waitMs: 0, checkpoint: false });
  });
});
