/**
 * The two ways squall runs a topology, for tests whose results must not
 * depend on it: local (every task on this thread, on a SimulatedClock) and
 * threads (two worker threads, on the real clock). Worker threads build
 * their own components from the topology's module, so tests load topologies
 * from modules: test/fixtures/topologies/ or topologies/.
 *
 * @example
 * describe.each(MODES)('word count ($mode)', (mode) => {
 *   it('counts', async () => {
 *     const topology = await loadTopology('topologies/word-count.ts');
 *     const result = await completeTopology(topology, { threads: mode.threads });
 *   });
 * });
 */
import { fileURLToPath } from 'node:url';
import { planTopology } from '../../src/index.ts';
import type { Plan, Topology } from '../../src/index.ts';
import { loadTopologyModule } from '../../src/topology/index.ts';

export interface Mode {
  readonly mode: 'local' | 'threads';
  /** completeTopology's `threads`: 0 runs every task on this thread. */
  readonly threads: number;
}

export const MODES: readonly Mode[] = [
  { mode: 'local', threads: 0 },
  { mode: 'threads', threads: 2 },
];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The topology exported as `exportName` by the module at `path`, relative to the repository root. */
export function loadTopology(path: string, exportName = 'default'): Promise<Topology> {
  return loadTopologyModule(path, ROOT, exportName);
}

/** A topology exported by a module of test/fixtures/topologies/. */
export function loadFixture(file: string, exportName: string): Promise<Topology> {
  return loadTopology(`test/fixtures/topologies/${file}`, exportName);
}

/** The plan a run in `mode` follows: task ids are the same in every mode; hosts differ. */
export function planFor(topology: Topology, mode: Mode): Plan {
  return planTopology(topology, { hosts: Math.max(mode.threads, 1) });
}
