/**
 * Crash safety by crashing: `squall run` of a checkpointing word count is
 * killed with SIGKILL several times mid-stream and started again on the
 * same state directory; the last run finishes the corpus. The counts in the
 * store equal the true counts of the input exactly: every checkpoint that
 * completed before a kill was restored, every record after it replayed,
 * none counted twice.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeValue } from '../../src/state/index.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/index.ts';
import { spawnCli } from '../cli/cli.ts';
import { trueCounts } from '../fixtures/topologies/stateful-word-count.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('squall run with checkpoints, killed with SIGKILL', () => {
  it('restarts from the last checkpoint each time and ends with exact counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squall-cp-cli-'));
    dirs.push(dir);
    const total = 2_000_000;
    const args = ['run', 'test/fixtures/topologies/stateful-word-count.ts', '--state-dir', dir, '--set', `corpus.sentences=${total}`, '--set', 'checkpointIntervalMs=100'];
    for (const afterMs of [700, 900, 1_100]) {
      const p = spawnCli(args);
      await p.stderrContains('running topology');
      await new Promise((r) => setTimeout(r, afterMs));
      p.child.kill('SIGKILL');
      const r = await p.done;
      expect(r.signal).toBe('SIGKILL');
    }
    const last = spawnCli([...args, '--json']);
    const result = await last.done;
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { stoppedBy: string; checkpoints: { restoredFrom: number | null; lastCompletedId: number } };
    expect(report.stoppedBy).toBe('done');
    // The kills landed after checkpoints had completed: the last run restored one.
    expect(report.checkpoints.restoredFrom).not.toBeNull();
    const store = new EmbeddedStore({ dir });
    await store.open();
    const latest = await store.latest();
    expect(latest!.id).toBe(report.checkpoints.lastCompletedId);
    const counts = new Map<string, number>();
    for await (const b of store.readKeyed(latest!.id, 'count', 0, 127)) {
      for (let i = 0; i < b.keys.length; i++) counts.set(b.keys[i]!.split('\u001f')[1]!, decodeValue(b.values[i]!) as number);
    }
    await store.close();
    expect(counts).toEqual(trueCounts(total));
  }, 120_000);

  it('a corrupt newest checkpoint stops squall run with E_STATE_CORRUPT; --skip-corrupt-state restores the one before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'squall-cp-cli-corrupt-'));
    dirs.push(dir);
    const args = (n: number) => ['run', 'test/fixtures/topologies/stateful-word-count.ts', '--state-dir', dir, '--set', `corpus.sentences=${n}`, '--json'];
    for (const n of [2_000, 4_000]) {
      const r = await spawnCli(args(n)).done;
      expect(r.code, r.stderr).toBe(0);
    }
    const store = new EmbeddedStore({ dir });
    await store.open();
    const newest = (await store.latest())!.id;
    await store.close();
    // The newest checkpoint's own delta file (d-<id>-*.sqs): cut its tail off. Not merely the newest file: a
    // compaction's base file (b-*) can be newer, and it is shared by every checkpoint retained after it.
    const own = readdirSync(dir).filter((f) => f.startsWith(`d-${newest}-`) && f.endsWith('.sqs'));
    expect(own).toHaveLength(1);
    const file = join(dir, own[0]!);
    truncateSync(file, statSync(file).size - 5);
    const refused = await spawnCli(args(4_000)).done;
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('E_STATE_CORRUPT');
    const r = await spawnCli([...args(4_000), '--skip-corrupt-state']).done;
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { checkpoints: { restoredFrom: number } };
    expect(report.checkpoints.restoredFrom).toBeLessThan(newest);
  }, 120_000);
});
