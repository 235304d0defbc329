import { parseKillWait, parseRebalanceThreads, parseStrategyName } from './args.ts';
import { controlPath, sendRequest } from './control.ts';
import type { ControlRequest } from './control.ts';
import { write } from './output.ts';
import type { ControlStatus, LifecycleResult } from './run-control.ts';
import { firstLine, formatTotals } from './summary.ts';
import type { RunReport } from './summary.ts';
import { table } from './table.ts';

/**
 * `squall activate|deactivate|rebalance|kill|status <name>`: one request to
 * the control socket of a running `squall run`. The socket is found by the
 * topology name (<run dir>/<name>.sock), or given with --control, in which
 * case the name may be left out; when both are given the run checks that it
 * is that topology.
 */
export interface ControlOptions {
  control?: string;
  json?: boolean;
  stack?: boolean;
}

export interface RebalanceOptions extends ControlOptions {
  threads?: string;
  strategy?: string;
}

export interface KillOptions extends ControlOptions {
  wait?: string;
}

async function ask(name: string | undefined, options: ControlOptions, request: ControlRequest): Promise<unknown> {
  const path = controlPath(name, options.control);
  return sendRequest(path, name === undefined ? request : { ...request, topology: name }, name);
}

async function print(options: ControlOptions, result: unknown, text: string): Promise<number> {
  await write(process.stdout, options.json === true ? JSON.stringify(result) + '\n' : text);
  return 0;
}

export async function activateCommand(name: string | undefined, options: ControlOptions): Promise<number> {
  const r = (await ask(name, options, { op: 'activate' })) as LifecycleResult;
  return print(options, r, `topology '${r.topology}' is ${r.status}\n`);
}

export async function deactivateCommand(name: string | undefined, options: ControlOptions): Promise<number> {
  const r = (await ask(name, options, { op: 'deactivate' })) as LifecycleResult;
  return print(options, r, `topology '${r.topology}' is ${r.status}\n`);
}

/** Waits until the topology runs on its new plan (trees in flight are drained first, up to the topology's killWaitMs). */
export async function rebalanceCommand(name: string | undefined, options: RebalanceOptions): Promise<number> {
  const threads = parseRebalanceThreads(options.threads);
  const strategy = parseStrategyName(options.strategy);
  const request: ControlRequest = { op: 'rebalance', ...(threads === undefined ? {} : { threads }), ...(strategy === undefined ? {} : { strategy }) };
  const r = (await ask(name, options, request)) as LifecycleResult;
  return print(options, r, `topology '${r.topology}' rebalanced onto ${r.threads} thread${r.threads === 1 ? '' : 's'}, placed by ${r.strategy}; ${r.status}\n`);
}

/**
 * Waits until the run has finished its graceful kill (the trees in flight
 * drained, up to --wait or the topology's killWaitMs, and everything closed),
 * then prints one line (--json: the run's report, as `squall run --json`
 * prints it). The run itself prints its summary as on SIGTERM and exits 0.
 */
export async function killCommand(name: string | undefined, options: KillOptions): Promise<number> {
  const waitMs = parseKillWait(options.wait);
  const r = (await ask(name, options, { op: 'kill', ...(waitMs === undefined ? {} : { waitMs }) })) as RunReport;
  const seconds = r.durationMs / 1000;
  return print(options, r, `topology '${r.topology}' (run ${r.runId}) ${r.status} after ${seconds.toFixed(1)} s; ${formatTotals(r.totals, seconds)}\n`);
}

export async function statusCommand(name: string | undefined, options: ControlOptions): Promise<number> {
  const r = (await ask(name, options, { op: 'status' })) as ControlStatus;
  return print(options, r, formatControlStatus(r));
}

export function formatControlStatus(s: ControlStatus): string {
  const seconds = s.uptimeMs / 1000;
  const where = s.mode === 'threads' ? `on ${s.threads} thread${s.threads === 1 ? '' : 's'}, placed by ${s.strategy}` : 'in local mode (one thread)';
  let out = `topology '${s.topology}' (run ${s.runId}, pid ${s.pid}) ${s.status}, up ${seconds.toFixed(1)} s, ${where}\n`;
  out += `control socket ${s.control}\n\n`;
  out += table(
    ['host', 'state', 'restarts', 'tasks', 'emitted', 'executed', 'acked', 'queued', 'last error'],
    s.hosts.map((h) => [h.host, h.state, h.restarts, h.tasks, h.emitted, h.executed, h.acked, h.queued, h.lastError === null ? '-' : firstLine(h.lastError)]),
  );
  out += `\n${formatTotals(s.totals, seconds)}\n`;
  out += s.errors > 0 ? `errors reported: ${s.errors}\n` : 'no errors reported\n';
  return out;
}
