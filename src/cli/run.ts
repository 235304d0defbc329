import { submit } from '../runtime/run.ts';
import type { TopologyRun } from '../runtime/run.ts';
import { loadTopologyModule } from '../topology/module.ts';
import { parseDuration, parseSets } from './args.ts';
import { wantStack } from './fail.ts';
import { write } from './output.ts';
import { StopSignals } from './signals.ts';
import { StatusLine } from './status-line.ts';
import { buildReport, formatSummary } from './summary.ts';
import { waitForStop } from './wait.ts';

export interface RunOptions {
  duration?: string;
  json?: boolean;
  set?: string[];
  stack?: boolean;
}

/** Exit code of a run ended by a second signal, as a shell reports Ctrl-C. */
export const FORCED_EXIT_CODE = 130;

/**
 * `squall run <module>`: submit, run until the duration ends, a signal comes
 * or a finite topology finishes, kill gracefully, then print the summary (or
 * one JSON object with --json). Resolves to the exit code.
 */
export async function runCommand(modulePath: string, options: RunOptions): Promise<number> {
  const json = options.json === true;
  const durationS = parseDuration(options.duration);
  const config = parseSets(options.set ?? []);
  const signals = new StopSignals((signal) => {
    process.stderr.write(`\nsquall: ${signal} again: exiting without waiting for trees in flight\n`);
    process.exit(FORCED_EXIT_CODE);
  });
  try {
    const topology = await loadTopologyModule(modulePath);
    const run = await submit(topology, { config });
    const tasks = run.plan.tasks.length - 1;
    if (!json) {
      process.stderr.write(
        `running topology '${topology.name}' as run ${run.id} (${tasks} tasks on ${run.plan.hosts.length} host${run.plan.hosts.length === 1 ? '' : 's'})` +
          `${durationS !== undefined ? ` for ${durationS} s` : ''}; Ctrl-C to stop\n`,
      );
    }
    const line = !json && process.stderr.isTTY ? new StatusLine(process.stderr, topology.name, sampler(run)) : null;
    line?.start();

    const stoppedBy = await waitForStop(run, signals, durationS === undefined ? undefined : durationS * 1000);
    signals.stopping();
    line?.stop();
    const pending = run.pending();
    if (!json && pending > 0) {
      process.stderr.write(
        `stopping: waiting up to ${run.topology.config.killWaitMs / 1000} s for ${pending} tree${pending === 1 ? '' : 's'} in flight; Ctrl-C again to force\n`,
      );
    }
    const metrics = await run.kill();
    const report = buildReport({
      topology: topology.name,
      runId: run.id,
      status: run.status,
      stoppedBy,
      metrics,
      withStacks: wantStack(options.stack),
    });
    await write(process.stdout, json ? JSON.stringify(report) + '\n' : formatSummary(report));
    return 0;
  } finally {
    signals.dispose();
  }
}

function sampler(run: TopologyRun) {
  return () => ({ atMs: performance.now(), metrics: run.metrics(), status: run.status });
}
