import { createActor, setup } from 'xstate';

/**
 * The topology's lifecycle as a state machine, on the main thread and off the
 * tuple path: starting → active ⇄ inactive → killing → killed.
 */
export const topologyStatusMachine = setup({
  types: {
    events: {} as
      | { type: 'STARTED'; active: boolean }
      | { type: 'ACTIVATE' }
      | { type: 'DEACTIVATE' }
      | { type: 'KILL' }
      | { type: 'KILLED' }
      | { type: 'START_FAILED' }
      | { type: 'REBALANCE' }
      | { type: 'REBALANCED'; active: boolean }
      | { type: 'REBALANCE_FAILED' },
  },
}).createMachine({
  id: 'topology',
  initial: 'starting',
  states: {
    starting: {
      on: {
        STARTED: [{ guard: ({ event }) => event.active, target: 'active' }, { target: 'inactive' }],
        START_FAILED: 'killed',
      },
    },
    active: { on: { DEACTIVATE: 'inactive', KILL: 'killing', REBALANCE: 'rebalancing' } },
    inactive: { on: { ACTIVATE: 'active', KILL: 'killing', REBALANCE: 'rebalancing' } },
    rebalancing: {
      on: {
        REBALANCED: [{ guard: ({ event }) => event.active, target: 'active' }, { target: 'inactive' }],
        REBALANCE_FAILED: 'killed',
      },
    },
    killing: { on: { KILLED: 'killed' } },
    killed: { type: 'final' },
  },
});

export type TopologyStatus = 'starting' | 'active' | 'inactive' | 'rebalancing' | 'killing' | 'killed';

export function createStatusActor() {
  const actor = createActor(topologyStatusMachine);
  actor.start();
  return actor;
}
