/**
 * topologies/stateful-word-count.ts (counts in keyed state) on the
 * realistic corpus, unbounded, with `ackers: 0`: in checkpoint mode (a
 * barrier checkpoint every second to the embedded store in a fresh
 * temporary directory) and the same topology without checkpoints (keyed
 * state in memory only). Sentences split per second of the window; the
 * checkpoint run also reports its checkpoints' durations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import topology from '../../topologies/stateful-word-count.ts';
import type { BenchOptions, BenchResult } from '../result.ts';
import { measureTopology, rate } from '../measure.ts';

export async function wordcountCheckpoint(checkpoint: boolean, options: BenchOptions): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'squall-bench-cp-'));
  try {
    const config = { sentences: 0, corpus: 'realistic', acking: false, ackers: 0, checkpointIntervalMs: checkpoint ? 1000 : 0 };
    const w = await measureTopology(topology, config, options, checkpoint ? { state: { dir } } : {});
    const cp = w.end.checkpoints;
    if (checkpoint) {
      const done = (cp?.completed ?? 0) - (w.start.checkpoints?.completed ?? 0);
      if (done < 1) throw new Error(`no checkpoint completed in the window (${cp?.aborted ?? 0} aborted: ${cp?.lastAbortReason ?? '-'})`);
      const d = [...(cp?.durationsMs ?? [])].sort((a, b) => a - b);
      process.stderr.write(`  checkpoints in the run: ${cp!.completed} completed, ${cp!.aborted} aborted; duration p50 ${d[Math.floor(d.length / 2)]!.toFixed(1)} ms, max ${d[d.length - 1]!.toFixed(1)} ms\n`);
    }
    return {
      bench: checkpoint ? 'wordcount-checkpoint' : 'wordcount-stateful',
      mode: 'local',
      threads: 1,
      acking: false,
      tuplesPerSec: rate(w, 'split', 'executed'),
      rssMb: w.rssMb,
      cpu: w.cpu,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
