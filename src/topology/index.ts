export { TopologyBuilder, InputDeclarer } from './builder.ts';
export type { BoltOptions, ComponentOptions, SpoutOptions } from './builder.ts';
export type { OutputDeclarer, TopologyContext } from './context.ts';
export { ACKER_COMPONENT, DEFAULT_ACKER_RESOURCES, DEFAULT_CONFIG, DEFAULT_RESOURCES, RESERVED_PREFIX } from './types.ts';
export type { BoltFactory, ComponentDef, ComponentResources, InputDef, SpoutFactory, StreamDef, Topology, TopologyConfig, TopologySource, WatermarkOptions } from './types.ts';
export { resolveResources, validateConfig, validateTopology } from './validate.ts';
export { loadTopologyModule, isTopology } from './module.ts';
