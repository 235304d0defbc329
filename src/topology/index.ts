export { TopologyBuilder, InputDeclarer } from './builder.ts';
export type { BoltOptions, ComponentOptions } from './builder.ts';
export type { OutputDeclarer, TopologyContext } from './context.ts';
export { ACKER_COMPONENT, DEFAULT_CONFIG, RESERVED_PREFIX } from './types.ts';
export type { BoltFactory, ComponentDef, InputDef, SpoutFactory, StreamDef, Topology, TopologyConfig, TopologySource } from './types.ts';
export { validateConfig, validateTopology } from './validate.ts';
export { loadTopologyModule, isTopology } from './module.ts';
