/**
 * `submit` as the package exports it: the run controller's submit, plus the
 * web view and Prometheus endpoint a user may ask for with it
 * (`submit(t, { ui: true })`, `{ metrics: { port: 0 } }`). They close when
 * the run is killed. The CLI's `--ui` and `--metrics` serve the same.
 */
import { submit as submitRun } from './runtime/index.ts';
import type { SubmitOptions as RunSubmitOptions, TopologyRun, KillOptions, MetricsSnapshot } from './runtime/index.ts';
import type { Topology } from './topology/index.ts';
import { serveUi } from './ui/index.ts';
import type { ServeUiOptions, UiServer } from './ui/index.ts';
import { serveMetrics } from './metrics/index.ts';
import type { MetricsServer, ServeMetricsOptions } from './metrics/index.ts';

export interface SubmitOptions extends RunSubmitOptions {
  /** Serve the web view while the run goes: true for the defaults (127.0.0.1:9470), or its options ({ port: 0 } for any free port). */
  ui?: boolean | ServeUiOptions;
  /** Serve Prometheus /metrics while the run goes: true for the defaults (127.0.0.1:9464), or its options. */
  metrics?: boolean | ServeMetricsOptions;
}

/** A run, with the servers it was submitted with (closed when it is killed). */
export interface SubmittedRun extends TopologyRun {
  /** The web view, when submitted with `ui`. */
  readonly ui: UiServer | null;
  /** The /metrics endpoint, when submitted with `metrics`. */
  readonly metricsServer: MetricsServer | null;
}

/**
 * Run a topology in this process: on this thread, or spread over worker
 * threads with `threads: N`; with `ui` and `metrics`, serve the web view and
 * Prometheus while it runs. Resolves once every task is open and prepared
 * and the servers listen.
 */
export async function submit(topology: Topology, options: SubmitOptions = {}): Promise<SubmittedRun> {
  const { ui, metrics, ...rest } = options;
  const run = await submitRun(topology, rest);
  let uiServer: UiServer | null = null;
  let metricsServer: MetricsServer | null = null;
  try {
    if (ui !== undefined && ui !== false) uiServer = await serveUi(run, ui === true ? {} : ui);
    if (metrics !== undefined && metrics !== false) metricsServer = await serveMetrics(run, metrics === true ? {} : metrics);
  } catch (err) {
    await uiServer?.close();
    await run.kill({ waitMs: 0 });
    throw err;
  }
  const kill = run.kill.bind(run);
  return Object.assign(run, {
    ui: uiServer,
    metricsServer,
    async kill(o?: KillOptions): Promise<MetricsSnapshot> {
      try {
        return await kill(o);
      } finally {
        await uiServer?.close();
        await metricsServer?.close();
      }
    },
  });
}
