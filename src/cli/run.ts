import { SquallError } from '../errors/index.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetricsPort, serveMetrics } from '../metrics/index.ts';
import type { MetricsServer } from '../metrics/index.ts';
import { submit } from '../runtime/index.ts';
import type { HostStatus, TopologyRun } from '../runtime/index.ts';
import { loadTopologyModule } from '../topology/index.ts';
import { isLoopback, parseUiPort, serveUi } from '../ui/index.ts';
import type { UiControl, UiServer } from '../ui/index.ts';
import { parseDuration, parseSets, parseStrategy, parseThreadHeapMb, parseThreads, parseTraceSample } from './args.ts';
import { ControlServer, controlPath } from './control.ts';
import { setKeyWarnings } from './did-you-mean.ts';
import { wantStack } from './fail.ts';
import { write } from './output.ts';
import { StopSignals } from './signals.ts';
import { RunControl } from './run-control.ts';
import { StatusLine } from './status-line.ts';
import { typecheckModule, typeErrors, warnOnTypeErrors } from './typecheck.ts';
import type { StatusSample } from './status-line.ts';
import { buildReport, formatSummary } from './summary.ts';
import { waitForStop } from './wait.ts';

export interface RunOptions {
  duration?: string;
  threads?: string;
  strategy?: string;
  threadHeapMb?: string;
  json?: boolean;
  set?: string[];
  stack?: boolean;
  /** The control socket's path (default: <run dir>/<topology>.sock, see control.ts). */
  control?: string;
  /** Type-check the module first; type errors are E_TYPE_ERRORS. */
  typecheck?: boolean;
  /** Serve Prometheus /metrics: true (no value) on the default port, or a port (0: any free port). */
  metrics?: string | boolean;
  /** Serve the web view: true (no value) on the default port, or a port (0: any free port). */
  ui?: string | boolean;
  /** The address the web view binds (default 127.0.0.1); with --ui only. */
  uiHost?: string;
  /** The web view without controls; with --ui only. */
  uiReadOnly?: boolean;
  /** Checkpointing topologies: the embedded store's directory (default .squall/state/<topology>). */
  stateDir?: string;
  /** Drop the checkpointed state of components the topology no longer has. */
  dropUnknownState?: boolean;
  /** Restore past a corrupt newest checkpoint. */
  skipCorruptState?: boolean;
  /** false (--no-restore): start from empty state instead of the newest checkpoint. */
  restore?: boolean;
  /** The fraction of tuple trees traced, 0 to 1 (config traceSample; docs/metrics.md). */
  traceSample?: string;
}

/** The state options of a run: only for a topology that checkpoints (else E_BAD_CONFIG says so). */
function stateOptions(options: RunOptions, checkpoints: boolean): { state?: { dir?: string; dropUnknown?: boolean; skipCorrupt?: boolean; restore?: boolean } } {
  const given = options.stateDir !== undefined || options.dropUnknownState === true || options.skipCorruptState === true || options.restore === false;
  if (!given) return {};
  if (!checkpoints) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: '--state-dir, --no-restore, --drop-unknown-state and --skip-corrupt-state apply to a topology that checkpoints; set checkpointIntervalMs (e.g. --set checkpointIntervalMs=1000)',
    });
  }
  return {
    state: {
      ...(options.stateDir !== undefined ? { dir: options.stateDir } : {}),
      ...(options.dropUnknownState === true ? { dropUnknown: true } : {}),
      ...(options.skipCorruptState === true ? { skipCorrupt: true } : {}),
      ...(options.restore === false ? { restore: false } : {}),
    },
  };
}

/** Exit code of a run ended by a second signal, as a shell reports Ctrl-C. */
export const FORCED_EXIT_CODE = 130;

/**
 * `squall run <module>`: submit, run until the duration ends, a signal comes,
 * `squall kill` asks, or a finite topology finishes, kill gracefully, then
 * print the summary (or one JSON object with --json). Resolves to the exit
 * code. While it runs, a control socket serves `squall status`, `activate`,
 * `deactivate`, `rebalance` and `kill`; it is removed when the run ends.
 */
export async function runCommand(modulePath: string, options: RunOptions): Promise<number> {
  const json = options.json === true;
  const durationS = parseDuration(options.duration);
  const config = parseSets(options.set ?? []);
  const traceSample = parseTraceSample(options.traceSample);
  if (traceSample !== undefined) config['traceSample'] = traceSample;
  for (const warning of setKeyWarnings(options.set ?? [])) process.stderr.write(warning);
  const threads = parseThreads(options.threads);
  const threadHeapMb = parseThreadHeapMb(options.threadHeapMb);
  // Checked in local mode too, so a typo fails the same way; only threads place tasks by it.
  const strategy = parseStrategy(options.strategy, threadHeapMb);
  const metricsPort = options.metrics === undefined || options.metrics === false ? null : parseMetricsPort(options.metrics);
  const uiPort = options.ui === undefined || options.ui === false ? null : parseUiPort(options.ui);
  if (uiPort === null && (options.uiHost !== undefined || options.uiReadOnly === true)) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `${options.uiHost !== undefined ? '--ui-host' : '--ui-read-only'} applies to the web view: add --ui [port]` });
  }
  const uiHost = options.uiHost ?? '127.0.0.1';
  if (uiHost.trim() === '') throw new SquallError({ code: 'E_BAD_ARGUMENT', message: '--ui-host needs an address to listen on, such as 127.0.0.1 or 0.0.0.0' });
  const signals = new StopSignals((signal) => {
    process.stderr.write(`\nsquall: ${signal} again: exiting without waiting for trees in flight\n`);
    process.exit(FORCED_EXIT_CODE);
  });
  let server: ControlServer | null = null;
  let control: RunControl | null = null;
  let metricsServer: MetricsServer | null = null;
  let uiServer: UiServer | null = null;
  let cancelTypecheck: (() => void) | null = null;
  try {
    // A path that is not a file is left to loadTopologyModule's E_MODULE_NOT_FOUND.
    const file = modulePath.startsWith('file:') ? fileURLToPath(modulePath) : resolve(modulePath);
    if (options.typecheck === true && existsSync(file)) {
      const result = await typecheckModule(file);
      if (result.errors.length > 0) throw typeErrors(file, result);
      if (!json) process.stderr.write(`type-checked ${modulePath} with TypeScript ${result.version}: no errors\n`);
    } else if (process.stderr.isTTY === true && !json && existsSync(file) && /\.[cm]?tsx?$/.test(file)) {
      // On a terminal, a module with type errors still runs, with a warning.
      cancelTypecheck = warnOnTypeErrors(modulePath, (text) => process.stderr.write(text));
    }
    const topology = await loadTopologyModule(modulePath);
    // Claim the control socket before submitting: a topology already running under this name fails fast.
    const path = controlPath(topology.name, options.control);
    control = new RunControl(topology.name, path, threadHeapMb);
    server = await ControlServer.open(path, topology.name, options.control !== undefined, control.handle);
    const state = stateOptions(options, topology.config.checkpointIntervalMs > 0 || Number(config['checkpointIntervalMs'] ?? 0) > 0);
    const run = await submit(topology, threads > 0 ? { config, threads, strategy, threadHeapMb, ...state } : { config, ...state });
    control.attach(run);
    try {
      if (metricsPort !== null) {
        metricsServer = await serveMetrics(run, { port: metricsPort });
        process.stderr.write(`serving Prometheus metrics at ${metricsServer.url}\n`);
      }
      if (uiPort !== null) {
        const readOnly = options.uiReadOnly === true;
        uiServer = await serveUi(run, { port: uiPort, host: uiHost, readOnly, control: uiControl(control, run) });
        if (!isLoopback(uiHost)) {
          process.stderr.write(
            `squall: warning: --ui-host ${uiHost}: the web view can be reached from other machines; whoever reaches it sees the topology's figures and error messages${readOnly ? '' : ', and its page carries the token of the controls (activate, deactivate, rebalance, kill): add --ui-read-only to turn them off'}\n`,
          );
        }
        process.stderr.write(`serving the web view at ${uiServer.url} (${readOnly ? 'read-only' : 'with controls'}; Prometheus metrics at ${uiServer.url}metrics)\n`);
      }
      return await runUntilStopped(run, signals, durationS, json, wantStack(options.stack), control);
    } catch (err) {
      // Do not leave a running topology behind a failure of our own.
      if (run.status === 'active' || run.status === 'inactive') await run.kill({ waitMs: 0 }).catch(() => {});
      throw err;
    }
  } catch (err) {
    // A `squall kill` waiting for the end gets the error instead of the report.
    control?.fail(err);
    throw err;
  } finally {
    cancelTypecheck?.();
    await uiServer?.close();
    await metricsServer?.close();
    await server?.close();
    signals.dispose();
  }
}

/**
 * The page's controls go through the control socket's handler, so they act
 * as `squall activate`, ... do (a kill ends the run the same way, summary
 * and all). A kill is answered once asked; the page sees the drain and the end.
 */
function uiControl(control: RunControl, run: TopologyRun): UiControl {
  return async (request) => {
    const reply = control.handle({ v: 1, ...request });
    if (request.op !== 'kill') return reply;
    reply.catch(() => {});
    return { requested: 'kill', status: run.status };
  };
}

async function runUntilStopped(
  run: TopologyRun,
  signals: StopSignals,
  durationS: number | undefined,
  json: boolean,
  withStacks: boolean,
  control: RunControl,
): Promise<number> {
  const name = run.topology.name;
  if (!json) {
    const tasks = run.plan.tasks.length - 1;
    const hosts = run.plan.hosts.length;
    const forHow = durationS !== undefined ? ` for ${durationS} s` : '';
    const placed = run.mode === 'threads' ? `, placed by ${run.plan.strategy}` : '';
    process.stderr.write(
      `running topology '${name}' as run ${run.id} (${tasks} tasks on ${hosts} host${hosts === 1 ? '' : 's'}${placed})${forHow}; control socket ${control.path}; Ctrl-C to stop\n`,
    );
  }
  // Output on stdout or stderr (a bolt's console.log) clears the line and brings it back after.
  const shared = process.stdout.isTTY ? [process.stderr, process.stdout] : [process.stderr];
  const line = !json && process.stderr.isTTY ? new StatusLine(process.stderr, name, sampler(run), { shared }) : null;
  line?.start();

  const stoppedBy = await waitForStop(run, signals, durationS === undefined ? undefined : durationS * 1000, control.stopRequested);
  signals.stopping();
  control.stopping();
  await line?.stop();
  // A rebalance asked over the control socket finishes before the kill.
  await control.idle();
  let metrics;
  if (run.status === 'active' || run.status === 'inactive') {
    // Threads: pending() is as fresh as the hosts' last report; ask them now.
    await run.refresh();
    const pending = run.pending();
    const waitMs = control.killWaitMs ?? run.topology.config.killWaitMs;
    if (!json && pending > 0) {
      process.stderr.write(`stopping: waiting up to ${waitMs / 1000} s for ${pending} tree${pending === 1 ? '' : 's'} in flight; Ctrl-C again to force\n`);
    }
    // The kill drains, stops every host and collects its last report: these figures are final, no refresh needed.
    metrics = await run.kill({ waitMs });
  } else {
    // A failed rebalance stopped everything already.
    metrics = run.metrics();
  }
  const report = buildReport({
    topology: name,
    runId: run.id,
    status: run.status,
    stoppedBy,
    threads: run.mode === 'threads' ? run.plan.hosts.length : 0,
    hosts: hostsOf(run),
    metrics,
    withStacks,
  });
  await write(process.stdout, json ? JSON.stringify(report) + '\n' : formatSummary(report));
  control.finish(report);
  if (control.failure !== undefined) throw control.failure;
  return 0;
}

/** A status-line sample: with threads, fresh counters are asked of every host first. */
function sampler(run: TopologyRun): () => Promise<StatusSample> {
  return async () => {
    await run.refresh();
    return { atMs: performance.now(), metrics: run.metrics(), status: run.status, hosts: run.hosts() };
  };
}

/**
 * The hosts for the report. Local mode's one host is this thread, which the
 * runtime always lists as running; once the run is killed it has stopped.
 */
function hostsOf(run: TopologyRun): HostStatus[] {
  const hosts = run.hosts();
  if (run.mode === 'threads' || run.status !== 'killed') return hosts;
  return hosts.map((h) => (h.state === 'running' ? { ...h, state: 'stopped' } : h));
}
