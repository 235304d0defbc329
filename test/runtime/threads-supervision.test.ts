import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { submit } from '../../src/index.ts';
import type { TopologyRun } from '../../src/index.ts';
import { loadTopologyModule } from '../../src/topology/module.ts';
import { SENTENCES } from '../../topologies/word-count.ts';
import { readOffsets, readTallies } from '../../topologies/durable-word-count.ts';

const dirs: string[] = [];
let run: TopologyRun | undefined;
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
  run = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'squall-sup-'));
  dirs.push(d);
  return d;
}

function exactCounts(n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) for (const w of SENTENCES[i % SENTENCES.length]!.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** Refresh until every spout is done; `each` runs between polls (fault injection). */
async function runToDone(r: TopologyRun, maxMs: number, each?: (elapsedMs: number) => void | Promise<void>): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    await r.refresh();
    if (r.isDone()) return;
    const elapsed = performance.now() - t0;
    if (elapsed > maxMs) throw new Error(`not done after ${maxMs} ms: ${JSON.stringify(r.metrics().totals)} ${JSON.stringify(r.hosts())}`);
    await each?.(elapsed);
    await new Promise((res) => setTimeout(res, 25));
  }
}

/** Nothing lost: every sentence committed, every word tallied at least as often as it occurs. */
function expectNothingLost(dir: string, n: number): { duplicates: number } {
  expect(readOffsets(dir)).toEqual([n]);
  const tallies = readTallies(dir);
  let extra = 0;
  for (const [word, count] of exactCounts(n)) {
    expect(tallies.get(word) ?? 0).toBeGreaterThanOrEqual(count);
    extra += (tallies.get(word) ?? 0) - count;
  }
  return { duplicates: extra };
}

describe('worker thread supervision', () => {
  it('replays everything through threads killed three times mid-run, with random fails: nothing lost', async () => {
    const dir = stateDir();
    const n = 500_000;
    const topology = await loadTopologyModule('topologies/durable-word-count.ts');
    run = await submit(topology, { threads: 2, config: { sentences: n, stateDir: dir, failRate: 0.05, messageTimeoutMs: 1_000 } });
    // Kills by progress, not by the clock (a fast machine finishes in about
    // 3 s), from a timer of their own (a refresh waits while a host
    // restarts): at 5%, 15% and 25% of the sentences committed, at least
    // 300 ms apart, alternating threads.
    let kills = 0;
    let lastKill = Number.NEGATIVE_INFINITY;
    const chaos = setInterval(() => {
      const committed = readOffsets(dir)[0] ?? 0;
      const now = performance.now();
      if (kills < 3 && committed >= n * [0.05, 0.15, 0.25][kills]! && now - lastKill >= 300) {
        run!.crashHost(kills++ % 2);
        lastKill = now;
      }
    }, 10);
    try {
      await runToDone(run, 150_000);
    } finally {
      clearInterval(chaos);
    }
    const final = await run.kill();
    const restarts = run.hosts().reduce((a, h) => a + h.restarts, 0);
    expect(kills).toBe(3);
    expect(restarts).toBe(kills);
    expect(final.errors.filter((e) => e.component.startsWith('__host')).reduce((a, e) => a + e.count, 0)).toBe(kills);
    expectNothingLost(dir, n);
  }, 180_000);

  for (const [mode, cause] of [
    ['oom', /ERR_WORKER_OUT_OF_MEMORY|memory limit/],
    ['exit', /exited with code: 3/],
    ['throw', /thrown from a timer in a bolt/],
  ] as const) {
    it(`restarts a thread that died (${mode}) and the run still completes`, async () => {
      const dir = stateDir();
      const n = 20_000;
      const topology = await loadTopologyModule('test/fixtures/topologies/crash-once.ts');
      run = await submit(topology, {
        threads: 2,
        threadHeapMb: 64,
        config: { sentences: n, stateDir: dir, crash: mode, messageTimeoutMs: 1_000 },
      });
      await runToDone(run, 60_000);
      const final = await run.kill();
      expect(existsSync(join(dir, 'crashed'))).toBe(true);
      expect(run.hosts().reduce((a, h) => a + h.restarts, 0)).toBe(1);
      const crash = final.errors.find((e) => e.component.startsWith('__host'));
      expect(crash?.message).toMatch(cause);
      if (mode === 'throw') expect(crash?.stack).toContain('crash-once.ts');
      expectNothingLost(dir, n);
    }, 90_000);
  }

  it('rebalances from 1 to 2 threads and back during a run without losing anything', async () => {
    const dir = stateDir();
    // Rebalances are driven by progress, not wall time, so a fast machine cannot finish first.
    const n = 300_000;
    const topology = await loadTopologyModule('topologies/durable-word-count.ts');
    run = await submit(topology, { threads: 1, config: { sentences: n, stateDir: dir } });
    const plans: number[] = [];
    const ackedAt: number[] = [];
    await runToDone(run, 120_000, async () => {
      const acked = run!.metrics().totals.acked;
      if (plans.length === 0 && acked > 0) {
        ackedAt.push(acked);
        await run!.rebalance({ threads: 2 });
        plans.push(run!.plan.hosts.length);
      } else if (plans.length === 1) {
        ackedAt.push(acked);
        await run!.rebalance({ threads: 1 });
        plans.push(run!.plan.hosts.length);
      }
    });
    // Both rebalances happened mid-run, with sentences still to go.
    expect(ackedAt.every((a) => a < n)).toBe(true);
    expect(plans).toEqual([2, 1]);
    expect(run.status).toBe('active');
    await run.kill();
    expectNothingLost(dir, n);
  }, 150_000);
});
