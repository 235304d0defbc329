import { assign, createActor, setup } from 'xstate';

export type HostState = 'starting' | 'running' | 'crashed' | 'restarting' | 'failed' | 'stopped';

export interface SupervisorOptions {
  /** Give up on a host that crashed this many times without a stable run in between. */
  maxRestarts: number;
  /** A host up this long is stable: its crash count starts again from zero. */
  stableAfterMs: number;
  /** Backoff before restart n (1-based): min(initial * 2^(n-1), max). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Called on entering `starting` after a crash (not for the first start). */
  restart(): void;
  /** Called once when the host is given up on. */
  giveUp(): void;
}

/**
 * One host's lifecycle, on the main thread and off the tuple path:
 * starting → running, and on a crash: crashed → restarting (backoff) →
 * starting again, or failed after too many crashes in a row.
 */
export function createSupervisor(options: SupervisorOptions) {
  const machine = setup({
    types: {
      context: {} as { crashes: number; lastError: string | null },
      events: {} as { type: 'READY' } | { type: 'CRASH'; error: string } | { type: 'STOP' },
    },
    actions: {
      restart: () => options.restart(),
      giveUp: () => options.giveUp(),
    },
    guards: {
      tooMany: ({ context }) => context.crashes > options.maxRestarts,
    },
    delays: {
      backoff: ({ context }) => Math.min(options.backoffInitialMs * 2 ** Math.max(0, context.crashes - 1), options.backoffMaxMs),
      stable: options.stableAfterMs,
    },
  }).createMachine({
    id: 'host',
    initial: 'starting',
    context: { crashes: 0, lastError: null },
    states: {
      starting: { on: { READY: 'running', CRASH: 'crashed', STOP: 'stopped' } },
      running: {
        after: { stable: { actions: assign({ crashes: 0 }) } },
        on: { CRASH: 'crashed', STOP: 'stopped' },
      },
      crashed: {
        entry: assign({ crashes: ({ context }) => context.crashes + 1, lastError: ({ event }) => (event.type === 'CRASH' ? event.error : null) }),
        always: [{ guard: 'tooMany', target: 'failed' }, { target: 'restarting' }],
      },
      restarting: {
        after: { backoff: { target: 'starting', actions: 'restart' } },
        on: { STOP: 'stopped' },
      },
      failed: { type: 'final', entry: 'giveUp' },
      stopped: { type: 'final' },
    },
  });
  const actor = createActor(machine);
  actor.start();
  return actor;
}

export type Supervisor = ReturnType<typeof createSupervisor>;
