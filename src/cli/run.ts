import { submit } from '../runtime/run.ts';
import type { TopologyRun } from '../runtime/run.ts';
import { loadTopologyModule } from '../topology/module.ts';
import { parseDuration, parseSets, parseThreads } from './args.ts';
import { wantStack } from './fail.ts';
import { write } from './output.ts';
import { StopSignals } from './signals.ts';
import { StatusLine } from './status-line.ts';
import { buildReport, formatSummary } from './summary.ts';
import { waitForStop } from './wait.ts';

export interface RunOptions {
  duration?: string;
  threads?: string;
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
  const threads = parseThreads(options.threads);
  const signals = new StopSignals((signal) => {
    process.stderr.write(`\nsquall: ${signal} again: exiting without waiting for trees in flight\n`);
    process.exit(FORCED_EXIT_CODE);
  });
  try {
    const topology = await loadTopologyModule(modulePath);
    const run = await submit(topology, { config, threads });
    try {
      return await runUntilStopped(run, signals, durationS, json, wantStack(options.stack));
    } catch (err) {
      // Do not leave a running topology behind a failure of our own.
      if (run.status === 'active' || run.status === 'inactive') await run.kill({ waitMs: 0 }).catch(() => {});
      throw err;
    }
  } finally {
    signals.dispose();
  }
}

async function runUntilStopped(
  run: TopologyRun,
  signals: StopSignals,
  durationS: number | undefined,
  json: boolean,
  withStacks: boolean,
): Promise<number> {
  const name = run.topology.name;
  if (!json) {
    const tasks = run.plan.tasks.length - 1;
    const hosts = run.plan.hosts.length;
    const forHow = durationS !== undefined ? ` for ${durationS} s` : '';
    process.stderr.write(`running topology '${name}' as run ${run.id} (${tasks} tasks on ${hosts} host${hosts === 1 ? '' : 's'})${forHow}; Ctrl-C to stop\n`);
  }
  const line = !json && process.stderr.isTTY ? new StatusLine(process.stderr, name, sampler(run)) : null;
  line?.start();

  const stoppedBy = await waitForStop(run, signals, durationS === undefined ? undefined : durationS * 1000);
  signals.stopping();
  line?.stop();
  const pending = run.pending();
  if (!json && pending > 0) {
    const waitS = run.topology.config.killWaitMs / 1000;
    process.stderr.write(`stopping: waiting up to ${waitS} s for ${pending} tree${pending === 1 ? '' : 's'} in flight; Ctrl-C again to force\n`);
  }
  const metrics = await run.kill();
  const report = buildReport({ topology: name, runId: run.id, status: run.status, stoppedBy, metrics, withStacks });
  await write(process.stdout, json ? JSON.stringify(report) + '\n' : formatSummary(report));
  return 0;
}

function sampler(run: TopologyRun) {
  return () => ({ atMs: performance.now(), metrics: run.metrics(), status: run.status });
}
