import { isSquallError, SquallError } from '../../errors/index.ts';
import { loadTopologyModule } from '../../topology/index.ts';
import { realClock } from '../clock.ts';
import { Host } from '../host.ts';
import type { CaptureSink } from '../../kernel/index.ts';
import { ErrorLog, hostReport } from '../metrics.ts';
import { withMocks } from '../mocks.ts';
import { cryptoRandom, SeededRandom } from '../random.ts';
import type { CaptureRecord, FromHost, HostExit, HostInit, ToHost } from './protocol.ts';

/**
 * One host on a worker thread: load the topology module, build the executors
 * the plan gives this host, and run them until the main thread says stop.
 * The returned promise stays pending while the host runs: piscina keeps one
 * such task per thread. A fatal error (an uncaught exception in user code,
 * running out of heap) ends the thread, and the main thread's supervisor
 * starts the host again.
 */
export default async function hostTask(init: HostInit): Promise<HostExit | null> {
  const ctl = init.ctl;
  const post = (m: FromHost) => ctl.postMessage(m);
  const errors = new ErrorLog();
  let captured: CaptureRecord[] | null = init.capture ? [] : null;
  const capture: CaptureSink | null = init.capture
    ? { record: (component, stream, task, values) => captured!.push([component, stream, task, [...values]]) }
    : null;

  let host: Host;
  try {
    let topology = await loadTopologyModule(init.file, process.cwd(), init.exportName);
    topology = Object.freeze({ ...topology, config: Object.freeze({ ...topology.config, ...init.config }) });
    if (init.mocks) topology = withMocks(topology, init.mocks);
    host = new Host({
      hostId: init.hostId,
      topology,
      plan: init.plan,
      runId: init.runId,
      clock: realClock,
      random: init.seed === null ? cryptoRandom : new SeededRandom(init.seed * 1_000_003 + init.hostId * 7919 + init.generation),
      capture,
      onError: (component, task, error) => errors.report(component, task, error),
      peers: init.peers,
    });
    await host.start();
  } catch (err) {
    const e = isSquallError(err) ? err : new SquallError({ code: 'E_COMPONENT_THREW', message: String((err as Error)?.message ?? err) }, { cause: err });
    post({ t: 'start-failed', error: e.toData(), stack: (err as Error)?.stack });
    ctl.close();
    return null;
  }

  const report = () => hostReport(init.hostId, host.executors, errors, host.transport?.stats());
  const takeCaptured = () => {
    if (captured === null || captured.length === 0) return null;
    const out = captured;
    captured = [];
    return out;
  };
  if (init.active) host.setActive(true);
  post({ t: 'ready' });
  const timer = setInterval(() => post({ t: 'report', id: null, report: report(), captured: takeCaptured() }), init.reportEveryMs);

  return new Promise<HostExit>((resolve) => {
    ctl.on('message', (m: ToHost) => {
      switch (m.t) {
        case 'activate':
          host.setActive(true);
          return;
        case 'deactivate':
          host.setActive(false);
          return;
        case 'report?':
          post({ t: 'report', id: m.id, report: report(), captured: takeCaptured() });
          return;
        case 'peer':
          host.transport!.connect(m.hostId, m.port);
          return;
        case 'stop':
          clearInterval(timer);
          void host.stop().then(() => {
            const exit: HostExit = { report: report(), captured: takeCaptured() };
            ctl.close();
            resolve(exit);
          });
          return;
      }
    });
  });
}
