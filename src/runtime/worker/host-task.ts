import { isSquallError, SquallError } from '../../errors/index.ts';
import { loadTopologyModule } from '../../topology/index.ts';
import { realClock } from '../clock.ts';
import { Host } from '../host.ts';
import type { CaptureSink } from '../../kernel/index.ts';
import type { StreamDesc } from '../../tuple/index.ts';
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

  let host: Host | undefined;
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
      onCheckpoint: (event) => post({ t: 'checkpoint-event', event }),
      onRollback: (component, task, reason) => post({ t: 'rollback', component, task, reason }),
      peers: init.peers,
    });
    host.setRestore(init.restore === null ? null : new Map(init.restore));
    await host.start();
  } catch (err) {
    const e = isSquallError(err) ? err : new SquallError({ code: 'E_COMPONENT_THREW', message: String((err as Error)?.message ?? err) }, { cause: err });
    post({ t: 'start-failed', error: e.toData(), stack: (err as Error)?.stack });
    // As a local host does: close what did open, and the ports to the peers,
    // so they stop sending to a host that will never run (a thread whose
    // task has ended stays in the pool, and with it any port left open).
    if (host !== undefined) await host.stop().catch(() => {});
    else for (const p of init.peers) p.port.close();
    ctl.close();
    return null;
  }
  const running = host;

  const report = () => hostReport(init.hostId, running.executors, errors, running.transport?.stats(), running.traces);
  const takeCaptured = () => {
    if (captured === null || captured.length === 0) return null;
    const out = captured;
    captured = [];
    return out;
  };
  /** Counters and captured tuples to the main thread; a captured value that cannot cross is left out and reported, not fatal. */
  const postReport = (id: number | null) => {
    const records = takeCaptured();
    try {
      post({ t: 'report', id, report: report(), captured: records });
    } catch (err) {
      if (records === null) throw err;
      const kept = cloneableRecords(records, errors, running.streams);
      post({ t: 'report', id, report: report(), captured: kept.length > 0 ? kept : null });
    }
  };
  /** What the task resolves with: piscina clones it, so it must clone. */
  const exitOf = (): HostExit => {
    let records = takeCaptured();
    if (records !== null) {
      try {
        structuredClone(records);
      } catch {
        records = cloneableRecords(records, errors, running.streams);
      }
    }
    return { report: report(), captured: records };
  };
  if (init.active) running.setActive(true);
  post({ t: 'ready' });
  const timer = setInterval(() => postReport(null), init.reportEveryMs);

  return new Promise<HostExit>((resolve) => {
    ctl.on('message', (m: ToHost) => {
      switch (m.t) {
        case 'activate':
          running.setActive(true);
          return;
        case 'deactivate':
          running.setActive(false);
          return;
        case 'report?':
          postReport(m.id);
          return;
        case 'peer':
          running.transport!.connect(m.hostId, m.port);
          return;
        case 'checkpoint':
          running.triggerCheckpoint(m.id);
          return;
        case 'checkpoint-done':
          if (m.complete) running.checkpointComplete(m.id);
          else running.checkpointAborted(m.id);
          return;
        case 'stop':
          clearInterval(timer);
          void running.stop().then(() => {
            const exit = exitOf();
            ctl.close();
            resolve(exit);
          });
          return;
      }
    });
  });
}

/**
 * The captured records the main thread can receive. Tuples pass by reference
 * inside a host, so a value that structured clone refuses (a function, a
 * handle) can be emitted to a task on the same thread and captured; posting
 * it would kill the thread. Such a record is left out of the capture and
 * reported as E_EMIT_NOT_CLONEABLE instead. Only after a post was refused.
 */
function cloneableRecords(records: CaptureRecord[], errors: ErrorLog, streams: readonly StreamDesc[]): CaptureRecord[] {
  return records.filter(([component, stream, task, values]) => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol')) continue;
      try {
        structuredClone(v);
      } catch (err) {
        const field = streams.find((d) => d.component === component && d.stream === stream)?.fields[i] ?? String(i);
        errors.report(
          component,
          task,
          new SquallError(
            {
              code: 'E_EMIT_NOT_CLONEABLE',
              component,
              stream,
              details: { field },
              message: `'${component}' emitted a value that cannot be cloned on stream '${stream}' (field '${field}'), so the captured tuple could not reach the main thread and is left out of the capture; tuples must be plain values: keep connections, handles and functions in the component`,
            },
            { cause: err },
          ),
        );
        return false;
      }
    }
    return true;
  });
}
