import { SquallError } from '../errors/index.ts';
import type { ComponentResources, Topology } from '../topology/index.ts';
import { ACKER_COMPONENT, DEFAULT_ACKER_RESOURCES, DEFAULT_RESOURCES } from '../topology/index.ts';
import { resolveResources } from '../topology/index.ts';

/**
 * What one task of `component` needs: its resources hints with the defaults
 * filled in. The ackers' come from config.ackerResources.
 */
export function resourcesOf(topology: Topology, component: string): ComponentResources {
  if (component === ACKER_COMPONENT) {
    return resolveResources('the ackers (config ackerResources)', ACKER_COMPONENT, topology.config.ackerResources, DEFAULT_ACKER_RESOURCES);
  }
  const def = topology.components.get(component);
  if (def === undefined) {
    throw new SquallError({
      code: 'E_UNKNOWN_COMPONENT',
      component,
      message: `topology '${topology.name}' has no component '${component}'; known components: ${[...topology.components.keys()].join(', ')}`,
    });
  }
  // A topology built by hand rather than by TopologyBuilder may carry no hints.
  return def.resources ?? DEFAULT_RESOURCES;
}
