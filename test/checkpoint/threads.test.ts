/**
 * Barrier checkpoints across worker threads: barriers cross the transport in
 * order with tuples, and a thread killed mid-run rolls every host back to
 * the last completed checkpoint. The counts in the store at the end equal
 * the true counts of the input exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeValue } from '../../src/state/index.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStore, submit } from '../../src/index.ts';
import type { StateStore, TopologyRun } from '../../src/index.ts';
import { loadTopologyModule } from '../../src/topology/index.ts';
import { trueCounts } from '../fixtures/topologies/stateful-word-count.ts';

const FIXTURE = 'test/fixtures/topologies/stateful-word-count.ts';
let run: TopologyRun | null = null;
const dirs: string[] = [];
afterEach(async () => {
  if (run !== null && run.status !== 'killed') await run.kill({ waitMs: 0 });
  run = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function storedCounts(store: StateStore, id: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const b of store.readKeyed(id, 'count', 0, 127)) {
    for (let i = 0; i < b.keys.length; i++) {
      const word = b.keys[i]!.split('\u001f')[1]!;
      expect(out.has(word)).toBe(false);
      out.set(word, decodeValue(b.values[i]!) as number);
    }
  }
  return out;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A fresh state directory, removed after the test. */
function stateDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `squall-cp-${label}-`));
  dirs.push(dir);
  return dir;
}

/** Submit the stateful word count on 2 threads over `total` sentences, checkpointing every `intervalMs`. */
async function startWordCount(dir: string, total: number, intervalMs: number): Promise<TopologyRun> {
  const topology = await loadTopologyModule(FIXTURE);
  run = await submit(topology, { threads: 2, config: { 'corpus.sentences': total, checkpointIntervalMs: intervalMs }, state: { dir } });
  return run;
}

/** Once the spouts are done: a last checkpoint, the run killed, and the counts in it. */
async function finish(r: TopologyRun, dir: string): Promise<Map<string, number>> {
  await until('the spouts to finish', async () => {
    await r.refresh();
    return r.isDone();
  });
  const last = await r.checkpoint();
  await r.refresh();
  const emitted = r.metrics().components.find((c) => c.id === 'sentences')!.emitted;
  await r.kill({ waitMs: 0 });
  const store = new EmbeddedStore({ dir });
  await store.open();
  const stored = await storedCounts(store, last);
  await store.close();
  finished.emitted = emitted;
  return stored;
}
const finished = { emitted: 0 };

describe('barrier checkpoints on worker threads', () => {
  it('a worker thread killed mid-run rolls the topology back to its last checkpoint: exact counts at the end', async () => {
    const dir = stateDir('threads');
    const total = 60_000;
    const r = await startWordCount(dir, total, 40);
    await until('two checkpoints', () => (r.checkpoints()?.completed ?? 0) >= 2);
    await r.refresh();
    const before = r.metrics().components.find((c) => c.id === 'sentences')!.emitted;
    // Mid-stream: the spouts have emitted some of the corpus, not all of it.
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(total);
    r.crashHost(1);
    await until('the rollback', () => (r.checkpoints()?.rollbacks ?? 0) >= 1 && r.hosts().every((h) => h.state === 'running'));
    expect(r.checkpoints()!.restoredFrom).toBeGreaterThanOrEqual(2);
    expect(await finish(r, dir)).toEqual(trueCounts(total));
  }, 120_000);

  it('under backpressure (a sink 100 times slower than the spout, on another thread) checkpoints keep completing, nothing deadlocks, memory stays flat', async () => {
    const dir = stateDir('bp');
    const topology = await loadTopologyModule('test/fixtures/topologies/firehose.ts');
    run = await submit(topology, { threads: 2, config: { checkpointIntervalMs: 100, checkpointTimeoutMs: 5_000 }, state: { dir } });
    const r = run;
    const rss: number[] = [];
    const executed: number[] = [];
    for (let i = 0; i < 40; i++) {
      await new Promise((res) => setTimeout(res, 100));
      await r.refresh();
      executed.push(r.metrics().components.find((c) => c.id === 'b-slow')!.executed);
      rss.push(process.memoryUsage().rss);
    }
    const cps = r.checkpoints()!;
    // A checkpoint every 100 ms is offered; barriers wait behind at most a mailbox and a credit window of slow tuples.
    expect(cps.completed).toBeGreaterThanOrEqual(5);
    // Every checkpoint started either completed or was aborted and reported.
    const reported = r.metrics().errors.filter((e) => e.code === 'E_CHECKPOINT_ABORTED').reduce((n, e) => n + e.count, 0);
    expect(reported).toBe(cps.aborted);
    // No deadlock: the sink kept executing through the last second.
    expect(executed[39]!).toBeGreaterThan(executed[29]!);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(rss.slice(30, 40)) - mean(rss.slice(10, 20))).toBeLessThan(40 * 1024 * 1024);
  }, 60_000);

  it('a rebalance from 2 threads to 1 and back carries the state over (a checkpoint, restored on the new plan): exact counts', async () => {
    const dir = stateDir('rebalance');
    const total = 60_000;
    const r = await startWordCount(dir, total, 1_000);
    await until('some input', async () => {
      await r.refresh();
      return r.metrics().components.find((c) => c.id === 'sentences')!.emitted > 5_000;
    });
    await r.rebalance({ threads: 1 });
    expect(r.checkpoints()!.restoredFrom).toBe(r.checkpoints()!.lastCompletedId);
    await r.rebalance({ threads: 2 });
    const stored = await finish(r, dir);
    // Each rebalance checkpointed after the spouts stopped, and the new plan resumed there: no sentence twice.
    expect(finished.emitted).toBe(total);
    expect(stored).toEqual(trueCounts(total));
  }, 120_000);
});
