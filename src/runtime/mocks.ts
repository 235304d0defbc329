import { SquallError } from '../errors/index.ts';
import { FixedTupleSpout } from '../spout/index.ts';
import type { FixedTuples } from '../spout/index.ts';
import type { ComponentDef, Topology } from '../topology/index.ts';

/** Spout id → the fixed tuples that replace it (the testing kit's mocked sources). */
export type MockedSources = Record<string, FixedTuples>;

/**
 * The topology with the named spouts replaced by fixed input. Plain data in,
 * so a worker thread can apply the same mocks to the module it loads.
 */
export function withMocks(topology: Topology, mocks: MockedSources): Topology {
  const ids = Object.keys(mocks);
  if (ids.length === 0) return topology;
  const components = new Map<string, ComponentDef>(topology.components);
  for (const id of ids) {
    const def = components.get(id);
    if (def === undefined || def.kind !== 'spout') {
      throw new SquallError({
        code: 'E_UNKNOWN_COMPONENT',
        component: id,
        message: `mockedSources names '${id}', which is not a spout of topology '${topology.name}'`,
      });
    }
    const streams: Record<string, readonly string[]> = {};
    for (const s of def.streams.values()) streams[s.id] = s.fields;
    const tuples = mocks[id]!;
    components.set(id, { ...def, factory: () => new FixedTupleSpout(tuples, streams) });
  }
  return Object.freeze({ ...topology, components });
}
