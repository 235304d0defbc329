/**
 * Topologies for scheduler tests: one spout and bolts that do nothing, shaped
 * by a list of components with their parallelism and resources hints.
 */
import { BasicBolt, TopologyBuilder } from '../../src/index.ts';
import type { OutputDeclarer, Spout, Topology, TopologyConfig } from '../../src/index.ts';
import type { ResourceHints } from '../../src/topology/types.ts';

class IdleSpout implements Spout {
  declareOutputFields(d: OutputDeclarer): void {
    d.declare(['n']);
  }
  open(): void {}
  nextTuple(): void {}
}

class IdleBolt extends BasicBolt {
  declareOutputFields(): void {}
  execute(): void {}
}

export interface ComponentShape {
  id: string;
  parallelism?: number;
  resources?: ResourceHints;
}

/** The first component is the spout; every other one is a bolt fed by it. */
export function topologyOf(components: readonly ComponentShape[], config: Partial<TopologyConfig> = {}, name = 'shape'): Topology {
  const b = new TopologyBuilder(name);
  const [spout, ...bolts] = components;
  const options = (c: ComponentShape) => ({
    ...(c.parallelism !== undefined ? { parallelism: c.parallelism } : {}),
    ...(c.resources !== undefined ? { resources: c.resources } : {}),
  });
  b.setSpout(spout!.id, () => new IdleSpout(), options(spout!));
  for (const c of bolts) b.setBolt(c.id, () => new IdleBolt(), options(c)).shuffleGrouping(spout!.id);
  return b.build(config);
}
