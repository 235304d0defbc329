import type { TopologyRun } from '../runtime/index.ts';
import type { StopSignals } from './signals.ts';
import type { StopReason } from './summary.ts';

/** How often a finite topology is asked whether it has finished. */
const DONE_POLL_MS = 200;

/**
 * Resolves when the run should stop: the duration has passed, a signal came,
 * `other` resolved (the control socket: `squall kill`), or (for finite
 * topologies, whose every spout implements isDone()) every spout has
 * finished and no tree is in flight.
 */
export function waitForStop(
  run: TopologyRun,
  signals: StopSignals,
  durationMs: number | undefined,
  other?: Promise<StopReason>,
): Promise<StopReason> {
  if (signals.signal !== null) return Promise.resolve('signal');
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    let poll: NodeJS.Timeout | null = null;
    const finish = (reason: StopReason) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      timer = poll = null;
      resolve(reason);
    };
    if (durationMs !== undefined) timer = setTimeout(() => finish('duration'), durationMs);
    poll = setInterval(() => {
      let done = false;
      try {
        done = run.isDone();
      } catch {
        // A spout without isDone(): the run is open-ended, stop asking.
        if (poll) clearInterval(poll);
        poll = null;
        return;
      }
      if (done) finish('done');
    }, DONE_POLL_MS);
    void signals.first.then(() => finish('signal'));
    void other?.then(finish);
  });
}
